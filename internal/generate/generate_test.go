package generate_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/generate"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// cheap hashes passwords quickly: the tests check the generated data, not
// the hashing.
var cheap = password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})

var end = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

func TestCounts(t *testing.T) {
	for _, tt := range []struct {
		events   int64
		accounts int
		share    float64
		first    int64
	}{
		{10, 1, 0.5, 10},
		{100, 5, 0.5, 50},
		{5, 5, 0.5, 1},
		{1_000_000, 1001, 0.9, 900_000},
		{7, 3, 1, 5}, // the others keep one each
	} {
		c := generate.Counts(tt.events, tt.accounts, tt.share)
		var sum int64
		for i, n := range c {
			sum += n
			if n < 1 {
				t.Errorf("Counts(%d, %d, %v)[%d] = %d, want at least 1", tt.events, tt.accounts, tt.share, i, n)
			}
			if i > 1 && n > c[i-1] {
				t.Errorf("Counts(%d, %d, %v): account %d gets %d, more than the one before (%d)", tt.events, tt.accounts, tt.share, i, n, c[i-1])
			}
		}
		if sum != tt.events || len(c) != tt.accounts || c[0] != tt.first {
			t.Errorf("Counts(%d, %d, %v) = %d accounts, first %d, sum %d; want %d, %d, %d", tt.events, tt.accounts, tt.share, len(c), c[0], sum, tt.accounts, tt.first, tt.events)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	ok := generate.Options{Events: 10, Accounts: 2, Password: "a-long-password-1", Hasher: cheap}
	for _, tt := range []struct {
		option string
		change func(o *generate.Options)
	}{
		{"events", func(o *generate.Options) { o.Events = 0 }},
		{"accounts", func(o *generate.Options) { o.Accounts = 0 }},
		{"accounts", func(o *generate.Options) { o.Accounts = 11 }},
		{"accounts", func(o *generate.Options) { o.AccountID = 1 }},
		{"account", func(o *generate.Options) { o.Accounts, o.AccountID = 0, 999 }},
		{"account", func(o *generate.Options) { o.Accounts, o.AccountID = 0, -1 }},
		{"largest-share", func(o *generate.Options) { o.LargestShare = 1.5 }},
		{"largest-share", func(o *generate.Options) { o.LargestShare = -0.1 }},
		{"span", func(o *generate.Options) { o.Span = time.Millisecond }},
		{"span", func(o *generate.Options) { o.Span = 80 * 365 * 24 * time.Hour }},
		{"batch", func(o *generate.Options) { o.Batch = generate.MaxBatch + 1 }},
		{"writers", func(o *generate.Options) { o.Writers = -1 }},
		{"writers", func(o *generate.Options) { o.Writers = generate.MaxWriters + 1 }},
		{"password-file", func(o *generate.Options) { o.Password = "" }},
		{"password-file", func(o *generate.Options) { o.Password = "short" }},
	} {
		o := ok
		tt.change(&o)
		_, err := generate.Run(t.Context(), db, sqltest.Signer(t), o)
		var oe *generate.OptionError
		if !errors.As(err, &oe) || oe.Option != tt.option {
			t.Errorf("%+v: got %v, want an error about %s", o, err, tt.option)
		}
	}
	if n, err := db.LogSize(t.Context(), 1); err == nil && n != 0 {
		t.Errorf("refused options wrote %d events", n)
	}
}

// TestRun generates accounts on every engine and checks what they hold:
// the counts asked for, a verifiable log, events of the catalogue in time
// order within the span, owners who exist, the same events for the same
// seed, and a clear refusal to run a seed twice.
func TestRun(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			o := generate.Options{Events: 2400, Accounts: 4, Seed: 7, Batch: 700, End: end, Span: 30 * 24 * time.Hour, Password: "a-long-password-1", Hasher: cheap}
			db := e.Open(t)
			res := runChecked(t, db, o)
			counts := generate.Counts(o.Events, o.Accounts, generate.DefaultLargestShare)
			actions := generate.Actions()
			first := map[int64][]*audit.Event{}
			for i, a := range res.Accounts {
				if a.Events != counts[i] {
					t.Errorf("account %d got %d events, want %d", a.ID, a.Events, counts[i])
				}
				rep, err := db.VerifyLog(ctx, a.ID, sqltest.Signer(t).VerifierKey())
				if err != nil || rep.Failure != nil || rep.TreeSize != counts[i] {
					t.Fatalf("verify account %d: %+v, %v", a.ID, rep, err)
				}
				owner, err := db.UserByEmail(ctx, a.Owner)
				if err != nil || owner.AccountID != a.ID || owner.Role != audit.RoleOwner {
					t.Errorf("owner %s of account %d: %+v, %v", a.Owner, a.ID, owner, err)
				}
				page, err := db.Events(ctx, a.ID, audit.EventFilter{}, audit.PageRequest{Page: 1, PerPage: 5000})
				if err != nil {
					t.Fatal(err)
				}
				evs := page.Events
				first[a.ID] = evs
				for j, ev := range evs {
					if !slices.Contains(actions, ev.Action) {
						t.Errorf("event %d has action %q, not of the catalogue", ev.Seq, ev.Action)
					}
					if ev.CreatedAt.Before(end.Add(-o.Span)) || ev.CreatedAt.After(end) {
						t.Errorf("event %d at %s, outside the span", ev.Seq, ev.CreatedAt)
					}
					if j > 0 && ev.Seq > evs[j-1].Seq {
						t.Errorf("event %d (%s) lists before %d (%s): the log is not in time order", evs[j-1].Seq, evs[j-1].CreatedAt, ev.Seq, ev.CreatedAt)
					}
					if ev.ActorType == "" || ev.IPAddress == "" || ev.Details == "" {
						t.Errorf("event %d lacks an actor, address or details: %+v", ev.Seq, ev)
					}
				}
			}
			largest := first[res.Accounts[0].ID]
			seen := map[string]bool{}
			for _, ev := range largest {
				seen[ev.Action] = true
			}
			if len(seen) < 15 {
				t.Errorf("the largest account's %d events hold only %d actions", len(largest), len(seen))
			}

			// The same seed again: refused, nothing written.
			if _, err := generate.Run(ctx, db, sqltest.Signer(t), o); !errors.Is(err, generate.ErrSeedUsed) {
				t.Errorf("the same seed again: %v, want ErrSeedUsed", err)
			}
			if n, _ := db.LogSize(ctx, res.Accounts[0].ID); n != counts[0] {
				t.Errorf("after the refused run the largest log holds %d events, want %d", n, counts[0])
			}

			// The same seed on a fresh database: the same events.
			db2 := e.Open(t)
			o.Progress = nil
			res2, err := generate.Run(ctx, db2, sqltest.Signer(t), o)
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range res2.Accounts {
				page, err := db2.Events(ctx, a.ID, audit.EventFilter{}, audit.PageRequest{Page: 1, PerPage: 5000})
				if err != nil {
					t.Fatal(err)
				}
				want := first[res.Accounts[i].ID]
				if len(page.Events) != len(want) {
					t.Fatalf("account %d: %d events, the first run %d", i, len(page.Events), len(want))
				}
				for j, got := range page.Events {
					if d := differs(got, want[j]); d != "" {
						t.Fatalf("account %d, event %d differs from the first run's: %s", i, got.Seq, d)
					}
				}
			}
			// Another seed: other events.
			o.Seed = 8
			res3, err := generate.Run(ctx, db2, sqltest.Signer(t), o)
			if err != nil {
				t.Fatal(err)
			}
			page, err := db2.Events(ctx, res3.Accounts[0].ID, audit.EventFilter{}, audit.PageRequest{Page: 1, PerPage: 50})
			if err != nil {
				t.Fatal(err)
			}
			same := 0
			for j, ev := range page.Events {
				if differs(ev, largest[j]) == "" {
					same++
				}
			}
			if same > 5 {
				t.Errorf("seed 8 made %d of 50 events identical to seed 7's", same)
			}
		})
	}
}

// runChecked runs o (new accounts) on db and checks what every run must
// give: every event written, none replayed, every account made, and the
// progress Run reported (checkProgress).
func runChecked(t *testing.T, db *sqlstore.DB, o generate.Options) *generate.Result {
	t.Helper()
	var progress []int64
	o.Progress = func(done int64) { progress = append(progress, done) }
	res, err := generate.Run(t.Context(), db, sqltest.Signer(t), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != o.Events || res.Replayed != 0 || len(res.Accounts) != o.Accounts {
		t.Fatalf("wrote %d (%d replayed) to %d accounts, want %d to %d", res.Written, res.Replayed, len(res.Accounts), o.Events, o.Accounts)
	}
	checkProgress(t, progress, o.Events, int64(o.Batch))
	return res
}

// checkProgress checks the numbers Run reported: rising by at most a batch
// at a time, up to every event.
func checkProgress(t *testing.T, progress []int64, events, batch int64) {
	t.Helper()
	last := int64(0)
	for _, p := range progress {
		if p <= last || p-last > batch {
			t.Fatalf("progress %v: %d after %d, want a rise of 1 to %d", progress, p, last, batch)
		}
		last = p
	}
	if last != events {
		t.Errorf("progress %v ends at %d, want %d", progress, last, events)
	}
}

// TestWriters generates accounts with several writers on every engine
// (concurrent transactions on PostgreSQL and MariaDB, one after another on
// SQLite's one write connection) and checks that every account got its
// events, in time order, in a log that verifies, and that the progress,
// reported from the writers' goroutines, only rises.
func TestWriters(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			for _, tt := range []struct {
				name              string
				accounts, writers int
				batch             int
			}{
				{"more accounts than writers", 7, 3, 150},
				{"more writers than accounts", 2, 5, 400},
			} {
				t.Run(tt.name, func(t *testing.T) {
					o := generate.Options{Events: 2100, Accounts: tt.accounts, Writers: tt.writers, Seed: 11, Batch: tt.batch, End: end,
						Span: 7 * 24 * time.Hour, Password: "a-long-password-1", Hasher: cheap}
					db := e.Open(t)
					res := runChecked(t, db, o)
					for i, want := range generate.Counts(o.Events, tt.accounts, generate.DefaultLargestShare) {
						a := res.Accounts[i]
						if a.Events != want {
							t.Errorf("account %d: Result says %d events, want %d", a.ID, a.Events, want)
						}
						rep, err := db.VerifyLog(ctx, a.ID, sqltest.Signer(t).VerifierKey())
						if err != nil || rep.Failure != nil || rep.TreeSize != want {
							t.Fatalf("verify account %d: %+v, %v; want %d events", a.ID, rep, err, want)
						}
						page, err := db.Events(ctx, a.ID, audit.EventFilter{}, audit.PageRequest{Page: 1, PerPage: 5000})
						if err != nil {
							t.Fatal(err)
						}
						if int64(len(page.Events)) != want {
							t.Fatalf("account %d lists %d events, want %d", a.ID, len(page.Events), want)
						}
						for j := 1; j < len(page.Events); j++ { // newest first
							if newer, older := page.Events[j-1], page.Events[j]; newer.Seq != older.Seq+1 || newer.CreatedAt.Before(older.CreatedAt) {
								t.Fatalf("account %d: event %d (%s) follows %d (%s)", a.ID, newer.Seq, newer.CreatedAt, older.Seq, older.CreatedAt)
							}
						}
					}
				})
			}
		})
	}
}

// differs names a field in which two events differ, "" when they agree on
// every field the seed decides.
func differs(a, b *audit.Event) string {
	switch {
	case a.Seq != b.Seq, !a.CreatedAt.Equal(b.CreatedAt):
		return "position or time"
	case a.Action != b.Action, a.ResourceType != b.ResourceType, a.ResourceID != b.ResourceID, a.Details != b.Details:
		return "action, resource or details"
	case a.ActorType != b.ActorType, a.ActorID != b.ActorID, a.ActorEmail != b.ActorEmail, a.ActorName != b.ActorName, a.UserID != b.UserID:
		return "actor"
	case a.IPAddress != b.IPAddress, a.UserAgent != b.UserAgent, a.EventID != b.EventID, a.Outcome != b.Outcome:
		return "address, agent, event ID or outcome"
	case string(a.Metadata) != string(b.Metadata), string(a.Changes) != string(b.Changes):
		return "metadata or changes"
	}
	return ""
}

// TestExistingAccount adds events to an account that exists, with its
// users acting; running the same seed again replays the platform's events
// (those with event IDs) rather than storing them twice.
func TestExistingAccount(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db := e.Open(t)
			a := &audit.Account{Name: "Existing", Domain: "existing.example.com"}
			users := []*audit.User{
				{Email: "owner@existing.example.com", FirstName: "Olga", LastName: "Owner", Role: audit.RoleOwner, IsActive: true, PasswordHash: "x"},
				{Email: "ana@existing.example.com", FirstName: "Ana", LastName: "Lyst", Role: audit.RoleAnalyst, IsActive: true, PasswordHash: "x"},
			}
			err := db.Update(ctx, func(tx *sqlstore.Tx) error {
				if err := tx.CreateAccount(ctx, a); err != nil {
					return err
				}
				for _, u := range users {
					u.AccountID = a.ID
					if err := tx.CreateUser(ctx, u); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			o := generate.Options{Events: 600, AccountID: a.ID, Seed: 3, Batch: 250, End: end}
			res, err := generate.Run(ctx, db, sqltest.Signer(t), o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Written != 600 || len(res.Accounts) != 1 || res.Accounts[0].ID != a.ID {
				t.Fatalf("result %+v", res)
			}
			page, err := db.Events(ctx, a.ID, audit.EventFilter{}, audit.PageRequest{Page: 1, PerPage: 1000})
			if err != nil {
				t.Fatal(err)
			}
			byUser, withID := 0, 0
			for _, ev := range page.Events {
				if ev.UserID != 0 {
					byUser++
					if ev.UserID != users[0].ID && ev.UserID != users[1].ID || ev.ActorEmail == "" {
						t.Errorf("event %d acted by user %d (%s), not a user of the account", ev.Seq, ev.UserID, ev.ActorEmail)
					}
				}
				if ev.EventID != "" {
					withID++
				}
			}
			if byUser == 0 || withID == 0 {
				t.Errorf("of 600 events %d were by the account's users and %d had event IDs; want some of each", byUser, withID)
			}
			again, err := generate.Run(ctx, db, sqltest.Signer(t), o)
			if err != nil {
				t.Fatal(err)
			}
			if again.Replayed != int64(withID) || again.Written != int64(600-withID) {
				t.Errorf("the same seed again wrote %d and replayed %d, want %d and %d", again.Written, again.Replayed, 600-withID, withID)
			}
			if rep, err := db.VerifyLog(ctx, a.ID, sqltest.Signer(t).VerifierKey()); err != nil || rep.Failure != nil || rep.TreeSize != 1200-int64(withID) {
				t.Errorf("verify: %+v, %v", rep, err)
			}
		})
	}
}
