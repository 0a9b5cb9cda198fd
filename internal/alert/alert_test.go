package alert_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/alert"
	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// t0 is the tests' clock at start: one minute into a 10-minute window.
var t0 = time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)

// proc is one process of the service: a store, an app and an evaluator.
type proc struct {
	db   *sqlstore.DB
	app  *app.App
	eval *alert.Evaluator
}

// clock is the time every process of a test reads.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func newProc(t *testing.T, db *sqlstore.DB, c *clock) *proc {
	t.Helper()
	db.Now = c.Now
	a := app.New(app.Deps{Store: db, Signer: sqltest.Signer(t), Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
		Config: config.Default(), SecretKey: []byte("alert-test"), Now: c.Now})
	// A sweep that never comes: the tests call Evaluate themselves.
	ev := alert.New(db, a.RaiseAlert, alert.Options{Sweep: time.Hour})
	t.Cleanup(func() {
		ev.Close()
		a.Close(context.Background())
	})
	return &proc{db: db, app: a, eval: ev}
}

func newAccount(t *testing.T, db *sqlstore.DB, domain string) int64 {
	t.Helper()
	ctx := t.Context()
	a := &audit.Account{Name: domain, Domain: domain}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// record commits one event per actor, each of action, to the account.
func (p *proc) record(t *testing.T, account int64, action string, actors ...string) {
	t.Helper()
	ctx := t.Context()
	evs := make([]*audit.Event, len(actors))
	for i, actor := range actors {
		evs[i] = &audit.Event{AccountID: account, Action: action, ActorType: "customer", ActorID: actor, IPAddress: "203.0.113.9"}
	}
	if err := p.db.Update(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.AppendEvents(ctx, sqltest.Signer(t), evs...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// rule creates an enabled rule in the account.
func (p *proc) rule(t *testing.T, account int64, r app.NewAlertRule) *audit.AlertRule {
	t.Helper()
	rule, err := p.app.CreateAlertRule(t.Context(), app.OperatorPrincipal(account, "alert test"), app.Client{}, r)
	if err != nil {
		t.Fatal(err)
	}
	return rule
}

func (p *proc) evaluate(t *testing.T) {
	t.Helper()
	if err := p.eval.Evaluate(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
}

// alerts returns the metadata of the account's alert.triggered events, in
// log order.
func alerts(t *testing.T, db *sqlstore.DB, account int64) []app.AlertData {
	t.Helper()
	q, err := query.Parse("action:"+audit.ActionAlertTriggered, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	size, err := db.LogSize(t.Context(), account)
	if err != nil {
		t.Fatal(err)
	}
	events, err := db.EventsAfter(t.Context(), account, q, 0, size, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]app.AlertData, len(events))
	for i, e := range events {
		if e.ActorType != audit.ActorSystem || e.ResourceType != audit.ResourceAlertRule {
			t.Errorf("alert event by %s on %s, want the system on alert_rule", e.ActorType, e.ResourceType)
		}
		if err := json.Unmarshal(e.Metadata, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestThreshold checks a threshold rule ("more than 5 login_failed for one
// actor in 10 minutes"), on every engine: exactly at the threshold is no
// alert, above it is one, once per window and group; the window ends at
// each event, so a burst that straddles the windows' boundary alerts and
// events that slid out of it do not count; another group and another window
// alert again.
func TestThreshold(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{now: t0}
		p := newProc(t, db, c)
		acct := newAccount(t, db, "shop.example.com")
		p.rule(t, acct, app.NewAlertRule{Name: "failed", Action: "login_failed", Threshold: 5, WindowSeconds: 600, GroupBy: audit.GroupActor})
		check := func(step string, want ...string) {
			t.Helper()
			p.evaluate(t)
			got := alerts(t, db, acct)
			var keys []string
			for _, a := range got {
				keys = append(keys, a.GroupKey)
			}
			if len(keys) != len(want) {
				t.Fatalf("%s: alerts for %v, want %v", step, keys, want)
			}
			for i := range want {
				if keys[i] != want[i] {
					t.Fatalf("%s: alerts for %v, want %v", step, keys, want)
				}
			}
		}

		p.record(t, acct, "login_failed", repeat("ann", 5)...)
		p.record(t, acct, "user_login", "ann")
		p.record(t, acct, "login_failed", "bob")
		check("exactly 5")

		p.record(t, acct, "login_failed", "ann")
		check("6 for ann", "customer:ann")
		if a := alerts(t, db, acct)[0]; a.Count != 6 || a.Threshold != 5 || a.WindowStart != "2026-01-01T00:00:00Z" || a.TriggerAction != "login_failed" {
			t.Errorf("alert %+v, want a count of 6 over 5 in the window from 00:00", a)
		}

		p.record(t, acct, "login_failed", repeat("ann", 3)...)
		check("once per window", "customer:ann")

		// cat: 3 at 00:08 and 3 at 00:12; the window (00:02, 00:12] holds
		// all six although the aligned windows split them 3 and 3.
		c.set(t0.Add(7 * time.Minute))
		p.record(t, acct, "login_failed", repeat("cat", 3)...)
		c.set(t0.Add(11 * time.Minute))
		p.record(t, acct, "login_failed", repeat("cat", 3)...)
		check("straddling", "customer:ann", "customer:cat")

		// dan: 3 at 00:12, 3 at 00:22: the first three slid out.
		p.record(t, acct, "login_failed", repeat("dan", 3)...)
		c.set(t0.Add(21 * time.Minute))
		p.record(t, acct, "login_failed", repeat("dan", 3)...)
		check("slid out", "customer:ann", "customer:cat")

		// ann again in the next window.
		p.record(t, acct, "login_failed", repeat("ann", 6)...)
		check("next window", "customer:ann", "customer:cat", "customer:ann")
	})
}

// TestEveryMatch checks a rule without a threshold: one alert per
// selected event, never for others; evaluating the same events again
// raises nothing new; and the alert.triggered events themselves never
// match, even a rule on every action.
func TestEveryMatch(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{now: t0}
		p := newProc(t, db, c)
		acct := newAccount(t, db, "shop.example.com")
		p.rule(t, acct, app.NewAlertRule{Name: "keys", Action: "api_key_created"})
		p.rule(t, acct, app.NewAlertRule{Name: "alerts", Action: "alert.*,api_key_created", Query: "-actor:nobody"})
		p.record(t, acct, "api_key_created", "a", "b")
		p.record(t, acct, "api_key_revoked", "a")
		p.evaluate(t)
		if got := alerts(t, db, acct); len(got) != 4 || got[0].TriggerAction != "api_key_created" || got[0].RuleName != "keys" || got[3].RuleName != "alerts" {
			t.Fatalf("alerts %+v, want two per rule for the keys created", got)
		}
		p.evaluate(t) // the alerts' own events are selected by neither rule
		if got := alerts(t, db, acct); len(got) != 4 {
			t.Fatalf("after evaluating the alerts: %d alerts, want the same 4", len(got))
		}
		// A process that died before moving the positions on.
		sqltest.Exec(t, db, `UPDATE alert_rules SET position = 0`)
		p.evaluate(t)
		if got := alerts(t, db, acct); len(got) != 4 {
			t.Fatalf("after evaluating again: %d alerts, want the same 4", len(got))
		}
	})
}

// TestTenantIsolation checks that a rule of one account never fires on
// another's events, and that disabled rules do not fire.
func TestTenantIsolation(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{now: t0}
		p := newProc(t, db, c)
		a, b := newAccount(t, db, "a.example.com"), newAccount(t, db, "b.example.com")
		p.rule(t, a, app.NewAlertRule{Name: "refunds", Action: "order_refunded"})
		p.rule(t, a, app.NewAlertRule{Name: "spike", Action: "order_refunded", Threshold: 1, WindowSeconds: 60})
		p.rule(t, b, app.NewAlertRule{Name: "off", Action: "order_refunded", Enabled: new(false)})
		p.record(t, b, "order_refunded", "x", "y", "z")
		p.evaluate(t)
		if got := alerts(t, db, a); len(got) != 0 {
			t.Errorf("account A's rules fired on B's events: %+v", got)
		}
		if got := alerts(t, db, b); len(got) != 0 {
			t.Errorf("B's disabled rule fired: %+v", got)
		}
	})
}

// TestProcesses checks, on every engine, two processes on one database
// evaluating at the same time: a threshold counts the events both wrote,
// and each alert is raised once, not once per process.
func TestProcesses(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{now: t0}
		p1 := newProc(t, db, c)
		p2 := newProc(t, sqltest.Reopen(t, db), c)
		acct := newAccount(t, db, "shop.example.com")
		p1.rule(t, acct, app.NewAlertRule{Name: "spike", Action: "order_refunded", Threshold: 3, WindowSeconds: 3600})
		p1.rule(t, acct, app.NewAlertRule{Name: "each", Action: "order_refunded"})
		for range 3 {
			p1.record(t, acct, "order_refunded", "x")
			p2.record(t, acct, "order_refunded", "y")
		}
		for round := range 3 {
			var wg sync.WaitGroup
			for _, p := range []*proc{p1, p2, p1, p2} {
				wg.Go(func() {
					if err := p.eval.Evaluate(context.Background(), nil); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			got := alerts(t, db, acct)
			spikes, each := 0, 0
			for _, a := range got {
				if a.RuleName == "spike" {
					spikes++
					if a.Count != 4 {
						t.Errorf("spike alert counted %d, want 4 (2 of each process's)", a.Count)
					}
				} else {
					each++
				}
			}
			if spikes != 1 || each != 6 {
				t.Fatalf("round %d: %d spike alerts and %d match alerts, want 1 and 6", round, spikes, each)
			}
			sqltest.Exec(t, db, `UPDATE alert_rules SET position = 0`)
		}
	})
}

// TestDefaults checks that every default rule is valid, and that the role
// escalation default selects a role raised to admin and not one lowered.
func TestDefaults(t *testing.T) {
	for _, d := range alert.Defaults {
		r := d.Rule
		if _, err := alert.Validate(&r); err != nil {
			t.Errorf("default %s: %v", d.Key, err)
		}
	}
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{now: t0}
		p := newProc(t, db, c)
		acct := newAccount(t, db, "shop.example.com")
		for _, d := range alert.Defaults {
			p.rule(t, acct, app.NewAlertRule{Default: d.Key})
		}
		ctx := t.Context()
		role := func(to string) *audit.Event {
			return &audit.Event{AccountID: acct, Action: audit.ActionUserRoleChanged, ActorType: "customer", ActorID: "o",
				Metadata: []byte(`{"previous_role":"analyst","role":"` + to + `"}`)}
		}
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.AppendEvents(ctx, sqltest.Signer(t), role("admin"), role("content_creator"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		p.record(t, acct, "order.refunded", repeat("svc", 11)...)
		p.record(t, acct, "payout.destination_changed", "owner")
		p.evaluate(t)
		var names []string
		for _, a := range alerts(t, db, acct) {
			names = append(names, a.RuleName)
		}
		want := []string{"Role raised to owner or admin", "Payout bank details changed", "Refund spike"} // by rule
		if len(names) != len(want) {
			t.Fatalf("alerts %q, want %q", names, want)
		}
		for i := range want {
			if names[i] != want[i] {
				t.Fatalf("alerts %q, want %q", names, want)
			}
		}
	})
}
