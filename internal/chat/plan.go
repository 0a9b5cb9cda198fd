package chat

import (
	"strconv"
	"strings"
)

// Kinds of plan: what the answer does with the events the search selects.
const (
	KindList       = "list"       // show the matching events, newest first
	KindWho        = "who"        // who did it: the actors of the matching events
	KindLast       = "last"       // when it last happened: the newest match
	KindCount      = "count"      // how many events match
	KindTop        = "top"        // the actors or actions with the most matches
	KindTimeseries = "timeseries" // matches per hour, day, week or month
	KindUnusual    = "unusual"    // actions far above the account's usual rate
	KindUnknown    = "unknown"    // not understood: nothing is run
)

// Plan is what a question means: a search in the query language (package
// query) built from its parts, what to do with the matches (Kind, with
// the top list's Dimension and Limit or the series' Interval) and the
// time it covers. It is shown with every answer, so the asker can run
// the same search in the explorer.
type Plan struct {
	Kind string `json:"kind"`
	// Actions are alternative actions (action:a,b).
	Actions []string `json:"actions,omitempty"`
	// Actor is an email, ID or name (actor:); UserID the acting user.
	Actor  string `json:"actor,omitempty"`
	UserID int64  `json:"user_id,omitempty"`
	// ResourceType and ResourceID name what was acted on (resource:).
	ResourceType string `json:"resource_type,omitempty"`
	ResourceID   string `json:"resource_id,omitempty"`
	// IP is an address or CIDR range (ip:).
	IP string `json:"ip,omitempty"`
	// Outcome is success or failure.
	Outcome string `json:"outcome,omitempty"`
	// Words are free words and phrases for full-text search.
	Words []string `json:"words,omitempty"`
	// Time is the span asked about; nil for all time (or, for unusual,
	// the last 24 hours).
	Time *Span `json:"time,omitempty"`
	// Dimension (actor or action) and Limit of a top list.
	Dimension string `json:"dimension,omitempty"`
	Limit     int    `json:"limit,omitempty"`
	// Interval of a series: hour, day, week or month.
	Interval string `json:"interval,omitempty"`
	// Timezone is the IANA zone the times were resolved in.
	Timezone string `json:"timezone"`
	// Q and Calls are set for a model's answer (KindModel): the last
	// search it ran, and each tool call it made (name and arguments).
	Q     string   `json:"q,omitempty"`
	Calls []string `json:"calls,omitempty"`
}

// Search returns the plan's search in the query language: the qualifiers
// in a fixed order, then the words, then the time.
func (p *Plan) Search() string {
	if p.Kind == KindModel {
		return p.Q
	}
	var t []string
	if len(p.Actions) > 0 {
		vs := make([]string, len(p.Actions))
		for i, a := range p.Actions {
			vs[i] = quoteValue(a)
		}
		t = append(t, "action:"+strings.Join(vs, ","))
	}
	if p.Actor != "" {
		t = append(t, "actor:"+quoteValue(p.Actor))
	}
	if p.UserID != 0 {
		t = append(t, "user_id:"+strconv.FormatInt(p.UserID, 10))
	}
	switch {
	case p.ResourceType != "" && p.ResourceID != "":
		t = append(t, "resource:"+quoteValue(p.ResourceType+":"+p.ResourceID))
	case p.ResourceType != "":
		t = append(t, "resource_type:"+quoteValue(p.ResourceType))
	case p.ResourceID != "":
		t = append(t, "resource_id:"+quoteValue(p.ResourceID))
	}
	if p.IP != "" {
		t = append(t, "ip:"+p.IP)
	}
	if p.Outcome != "" {
		t = append(t, "outcome:"+p.Outcome)
	}
	for _, w := range p.Words {
		if strings.ContainsAny(w, " \"") {
			w = quoteValue(w)
		}
		t = append(t, w)
	}
	t = append(t, p.Time.terms()...)
	return strings.Join(t, " ")
}

// Aggregation returns what the plan does with its matches in a short
// form: "list", "who", "last", "count", "top:actor:5",
// "timeseries:day", "unusual", "unknown", or "model" for a language
// model's answer.
func (p *Plan) Aggregation() string {
	switch p.Kind {
	case KindTop:
		return "top:" + p.Dimension + ":" + strconv.Itoa(p.Limit)
	case KindTimeseries:
		return "timeseries:" + p.Interval
	}
	return p.Kind
}

// quoteValue quotes a value of the query language when it needs it.
func quoteValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " ,\"\\*<>") {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}
