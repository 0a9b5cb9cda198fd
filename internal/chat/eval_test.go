package chat

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/query"
)

// evalSet is testdata/eval.json: questions with the plan each must
// produce, asked at one time by one user of one account.
type evalSet struct {
	Now     time.Time `json:"now"`
	Asker   string    `json:"asker"`
	Actions []string  `json:"actions"`
	People  []struct {
		Email     string `json:"email"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	} `json:"people"`
	Cases []evalCase `json:"cases"`
}

type evalCase struct {
	Question    string   `json:"question"`
	Timezone    string   `json:"timezone"`
	Previous    []string `json:"previous"`
	Query       string   `json:"query"`
	Aggregation string   `json:"aggregation"`
	Kind        string   `json:"kind"`
}

// minAccuracy is the share of the evaluation set the built-in engine
// must get exactly right.
const minAccuracy = 0.95

// TestEvaluationSet runs every question of testdata/eval.json through
// Interpret and reports the accuracy: a question counts as right when
// both its query and its aggregation are exactly those expected. Every
// query produced must also parse in the query language.
func TestEvaluationSet(t *testing.T) {
	raw, err := os.ReadFile("testdata/eval.json")
	if err != nil {
		t.Fatal(err)
	}
	var set evalSet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Cases) < 100 {
		t.Errorf("the evaluation set has %d questions; want at least 100", len(set.Cases))
	}
	base := Context{Now: set.Now, Actions: set.Actions, Asker: set.Asker}
	for _, p := range set.People {
		base.People = append(base.People, Person{Email: p.Email, FirstName: p.FirstName, LastName: p.LastName})
	}
	right := 0
	perKind := map[string][2]int{}
	for _, c := range set.Cases {
		ctx := base
		if c.Timezone != "" {
			loc, err := time.LoadLocation(c.Timezone)
			if err != nil {
				t.Fatalf("%q: %v", c.Question, err)
			}
			ctx.Location = loc
		}
		for _, q := range c.Previous {
			ctx.Previous = Interpret(q, ctx)
		}
		p := Interpret(c.Question, ctx)
		got, agg := p.Search(), p.Aggregation()
		if _, err := query.Parse(got, set.Now); err != nil {
			t.Errorf("%q: query %q does not parse: %v", c.Question, got, err)
		}
		k := perKind[c.Kind]
		k[1]++
		if got == c.Query && agg == c.Aggregation {
			right++
			k[0]++
		} else {
			t.Logf("MISS %q (%s)\n  got  %q %s\n  want %q %s", c.Question, c.Kind, got, agg, c.Query, c.Aggregation)
		}
		perKind[c.Kind] = k
	}
	acc := float64(right) / float64(len(set.Cases))
	kinds := make([]string, 0, len(perKind))
	for k := range perKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var b strings.Builder
	for _, k := range kinds {
		b.WriteString("  " + k + ": " + strconv.Itoa(perKind[k][0]) + "/" + strconv.Itoa(perKind[k][1]) + "\n")
	}
	t.Logf("accuracy %d/%d = %.1f%%\n%s", right, len(set.Cases), 100*acc, b.String())
	if acc < minAccuracy {
		t.Errorf("accuracy %.1f%%; want at least %.0f%%", 100*acc, 100*minAccuracy)
	}
}
