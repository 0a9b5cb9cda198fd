package chat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/chat"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestCountedAnswers: with more matching events than chat.MaxScan, top
// lists and series the analytics can count are exact, in UTC and in a
// zone hours ahead of it; a question they cannot count (free words) says
// it counted the newest MaxScan only. On every engine.
func TestCountedAnswers(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		signer := sqltest.Signer(t)
		a := app.New(app.Deps{Store: db, Signer: signer, Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
			Config: config.Default(), SecretKey: []byte("k")})
		t.Cleanup(func() { a.Close(ctx) })
		acct := &audit.Account{Name: "shop", Domain: "shop.example.com"}
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, acct) }); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		day0 := now.Truncate(24*time.Hour).AddDate(0, 0, -2)
		// 1,200 events over three UTC days: ana 700, bob 400, cy 100; day
		// i of the three holds 300, 400 and 500.
		actors := []struct {
			email string
			n     int
		}{{"ana@example.com", 700}, {"bob@example.com", 400}, {"cy@example.com", 100}}
		var events []*audit.Event
		for _, ac := range actors {
			for range ac.n {
				events = append(events, &audit.Event{AccountID: acct.ID, Action: "order.refunded", ActorType: "customer", ActorEmail: ac.email, Details: "refund"})
			}
		}
		perDay := []int{300, 400, 500}
		i := 0
		for d, n := range perDay {
			for k := range n {
				at := day0.AddDate(0, 0, d).Add(time.Duration(k) * time.Minute / 2)
				if at.After(now) {
					at = now.Add(-time.Duration(n-k) * time.Millisecond)
				}
				events[i].CreatedAt = at
				i++
			}
		}
		for len(events) > 0 {
			n := min(len(events), 200)
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, signer, events[:n]...); return err }); err != nil {
				t.Fatal(err)
			}
			events = events[n:]
		}
		p := app.OperatorPrincipal(acct.ID, "test")
		span := &chat.Span{Since: day0, Label: "in the last three days"}
		tokyo, err := time.LoadLocation("Asia/Tokyo")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			plan *chat.Plan
			loc  *time.Location
			want []string
		}{
			{"top actors", &chat.Plan{Kind: chat.KindTop, Dimension: "actor", Limit: 3, Time: span}, time.UTC,
				[]string{"of 1200 matching events", "1. ana@example.com: 700 events", "2. bob@example.com: 400 events", "3. cy@example.com: 100 events"}},
			{"top actors of all time", &chat.Plan{Kind: chat.KindTop, Dimension: "actor", Limit: 3}, time.UTC,
				[]string{"of 1200 matching events", "1. ana@example.com: 700 events", "3. cy@example.com: 100 events"}},
			{"top actions", &chat.Plan{Kind: chat.KindTop, Dimension: "action", Limit: 5, Time: span}, time.UTC,
				[]string{"1. order.refunded: 1200 events"}},
			{"per day, UTC", &chat.Plan{Kind: chat.KindTimeseries, Interval: "day", Time: span}, time.UTC,
				[]string{"(1200 events)", fmt.Sprintf("- %s: 300", day0.Format("Mon 2 Jan 2006")), fmt.Sprintf("- %s: 500", day0.AddDate(0, 0, 2).Format("Mon 2 Jan 2006"))}},
			{"per day, Tokyo", &chat.Plan{Kind: chat.KindTimeseries, Interval: "day", Time: span}, tokyo,
				[]string{"(1200 events)"}},
			{"free words", &chat.Plan{Kind: chat.KindTop, Dimension: "actor", Limit: 3, Words: []string{"refund"}, Time: span}, time.UTC,
				[]string{fmt.Sprintf("newest %d matching events only", chat.MaxScan)}},
		} {
			t.Run(c.name, func(t *testing.T) {
				ans, err := chat.Run(ctx, a, p, c.plan, now, c.loc)
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range c.want {
					if !strings.Contains(ans.Text, w) {
						t.Errorf("the answer lacks %q:\n%s", w, ans.Text)
					}
				}
				if c.plan.Words == nil && strings.Contains(ans.Text, "newest") {
					t.Errorf("a counted answer says it counted the newest only:\n%s", ans.Text)
				}
				if len(ans.Events) == 0 {
					t.Error("the answer cites no event")
				}
			})
		}
	})
}
