package sqlstore_test

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestActorCounts checks, on every engine, that top actors, which reads
// whole months and weeks from event_actor_counts and the days at the ends
// from event_party_counts, equals a count of the events for ranges of
// every width and alignment (one day to 90, starting on every weekday,
// across month ends and February 29th, mid-day ends widened to whole
// days; ranges that end after now, which read the week or month holding
// their end less the days after it), as the write path leaves the counts and as migration 0017 fills
// them from the per-day rows; after RecountActorCounts repairs the weeks
// and months after an append that added to the days only (a process of
// the release before 0017); after an erasure of an
// email and of an external actor ID; and, through a prune in batches that
// end mid-day, equals after each batch what the per-day rows alone say
// (the behaviour before the week and month rows) and, from the first day
// the prune left whole, the count of the kept events. After every step each
// week and month row must be the sum of its days' rows, with no row left
// at zero. Buckets are UTC: the analytics API takes no time zone.
func TestActorCounts(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		defer func() { db.Now = time.Now }()
		var accounts [2]*audit.Account
		for i := range accounts {
			accounts[i] = &audit.Account{Name: "Actors", Domain: fmt.Sprintf("actors%d.example.com", i)}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, accounts[i]) }); err != nil {
				t.Fatal(err)
			}
		}
		a, other := accounts[0], accounts[1]
		first := time.Date(2024, 1, 20, 0, 0, 0, 0, time.UTC) // a Saturday
		const days = 78                                       // to 2024-04-06: three month ends and February 29th
		var stored []*audit.Event
		n := 0
		for d := range days {
			for b := range 1 + d%2 {
				at := first.AddDate(0, 0, d).Add(time.Duration((d*5+b*11)%24)*time.Hour + 17*time.Minute)
				db.Now = func() time.Time { return at }
				for _, acct := range accounts {
					evs := make([]*audit.Event, 1+(d+b)%4)
					for i := range evs {
						n++
						e := &audit.Event{AccountID: acct.ID, Action: "order.updated", ResourceType: "order", ResourceID: strconv.Itoa(n),
							ActorType: "customer", EventID: fmt.Sprintf("ev-%d", n)}
						switch n % 5 {
						case 0, 1:
							e.ActorEmail = fmt.Sprintf("e%d@actors.example.com", n%4)
						case 2:
							e.ActorEmail, e.ActorID = fmt.Sprintf("e%d@actors.example.com", n%3), fmt.Sprintf("cust-%d", n%3)
						case 3:
							e.ActorID = fmt.Sprintf("cust-%d", n%3)
						}
						evs[i] = e
					}
					if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, sqltest.Signer(t), evs...); return err }); err != nil {
						t.Fatal(err)
					}
					if acct == a {
						for _, e := range evs {
							e.CreatedAt = at.Truncate(time.Microsecond)
						}
						stored = append(stored, evs...)
					}
				}
			}
		}
		db.Now = time.Now
		otherRows, err := sqlstore.CountRowsForTest(ctx, db, other.ID)
		if err != nil {
			t.Fatal(err)
		}

		type window struct{ start, end time.Time }
		var windows []window
		for s := first.AddDate(0, 0, -2); s.Before(first.AddDate(0, 0, days+2)); s = s.AddDate(0, 0, 2) {
			for _, w := range []int{1, 2, 6, 7, 8, 13, 14, 15, 29, 30, 31, 45, 60, 90} {
				start, end := s, s.AddDate(0, 0, w)
				if s.Day()%3 == 0 { // ends within days: counted as whole days
					start, end = start.Add(5*time.Hour), end.Add(-11*time.Hour)
				}
				windows = append(windows, window{start, end})
			}
		}
		// want counts the events of kept whose actor is set, in the
		// whole days around w.
		want := func(kept []*audit.Event, w window) ([]sqlstore.KeyCount, int64) {
			from, to := sqlstore.GrainDay.Floor(w.start), sqlstore.GrainDay.Ceil(w.end)
			counts := map[string]int64{}
			var total int64
			for _, e := range kept {
				if k := sqlstore.ActorKey(e); k != "" && !e.CreatedAt.Before(from) && e.CreatedAt.Before(to) {
					counts[k]++
					total++
				}
			}
			out := []sqlstore.KeyCount{}
			for k, c := range counts {
				out = append(out, sqlstore.KeyCount{Key: k, Count: c})
			}
			slices.SortFunc(out, func(a, b sqlstore.KeyCount) int {
				return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key))
			})
			return out, total
		}
		top := func(w window) ([]sqlstore.KeyCount, int64) {
			t.Helper()
			got, total, err := db.CountTop(ctx, a.ID, sqlstore.CountFilter{Start: w.start, End: w.end, MaxGrain: sqlstore.GrainMonth}, sqlstore.DimActor, 50)
			if err != nil {
				t.Fatalf("CountTop(%s..%s, actor): %v", w.start, w.end, err)
			}
			return got, total
		}
		check := func(when string, kept []*audit.Event, windows []window) {
			t.Helper()
			for _, w := range windows {
				got, total := top(w)
				if wt, wn := want(kept, w); total != wn || !slices.Equal(got, wt) {
					t.Errorf("%s: top actors %s..%s = %v, %d; want %v, %d", when, w.start.Format(time.DateTime), w.end.Format(time.DateTime), got, total, wt, wn)
				}
			}
			checkActorRollups(t, db, a.ID, when)
			if rows, err := sqlstore.CountRowsForTest(ctx, db, other.ID); err != nil || !slices.Equal(rows, otherRows) {
				t.Errorf("%s: the other account's count rows changed (%v)", when, err)
			}
		}
		check("appended", stored, windows)
		// A range that ends after now reads the week or month holding its
		// end whole, less the days after the end: with "now" inside the
		// log, those days hold counts, which must be taken away.
		for _, now := range []time.Time{first.AddDate(0, 0, 30), first.AddDate(0, 0, 47).Add(13 * time.Hour)} {
			db.Now = func() time.Time { return now }
			check("appended, now "+now.Format(time.DateTime), stored, windows)
		}
		db.Now = time.Now
		// Migration 0017 fills the table from the per-day rows as the write
		// path left it, row for row.
		written, err := sqlstore.CountRowsForTest(ctx, db, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		sqltest.Exec(t, db, `DROP TABLE event_actor_counts`)
		sqltest.Exec(t, db, `DELETE FROM schema_migrations WHERE version = 17`)
		if applied, err := db.Migrate(ctx); err != nil || len(applied) != 1 {
			t.Fatalf("Migrate again = %v, %v; want 0017 applied", applied, err)
		}
		if migrated, err := sqlstore.CountRowsForTest(ctx, db, a.ID); err != nil || !slices.Equal(migrated, written) {
			t.Fatalf("migration 0017 left other rows than the write path (%v):\n%s\nwant\n%s", err, strings.Join(migrated, "\n"), strings.Join(written, "\n"))
		}
		if n := sqltest.Count(t, db, `SELECT COUNT(*) FROM event_actor_counts WHERE account_id = ? AND grain = 'month'`, a.ID); n < 10 {
			t.Fatalf("%d month rows of actor counts; want one per actor and month", n)
		}

		// A process of the release before 0017 (the rollups off) adds its
		// appends to the per-day rows only; RecountActorCounts rebuilds the
		// weeks and months from them.
		sqlstore.ActorRollupsForBenchmark(db, false)
		at := first.AddDate(0, 0, 40).Add(3 * time.Hour)
		db.Now = func() time.Time { return at }
		old := []*audit.Event{
			{AccountID: a.ID, Action: "order.updated", ResourceType: "order", ActorType: "customer", ActorEmail: "e0@actors.example.com", EventID: "old-1"},
			{AccountID: a.ID, Action: "order.updated", ResourceType: "order", ActorType: "customer", ActorID: "cust-1", EventID: "old-2"},
		}
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, sqltest.Signer(t), old...); return err }); err != nil {
			t.Fatal(err)
		}
		sqlstore.ActorRollupsForBenchmark(db, true)
		db.Now = time.Now
		for _, e := range old {
			e.CreatedAt = at
		}
		stored = append(stored, old...)
		var recounted int64
		if err := db.Update(ctx, func(tx *sqlstore.Tx) (err error) { recounted, err = tx.RecountActorCounts(ctx, a.ID); return err }); err != nil {
			t.Fatal(err)
		}
		if want := sqltest.Count(t, db, `SELECT COUNT(*) FROM event_actor_counts WHERE account_id = ?`, a.ID); recounted != want {
			t.Errorf("RecountActorCounts wrote %d rows; the table holds %d", recounted, want)
		}
		check("recounted", stored, windows)

		// Erasure: an email, and an external actor ID whose events name
		// emails too (they leave those emails' counts).
		for _, s := range []sqlstore.ErasureSubject{{Emails: []string{"e1@actors.example.com"}}, {ActorID: "cust-2"}} {
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.ErasePersonalData(ctx, a.ID, s); return err }); err != nil {
				t.Fatal(err)
			}
		}
		var kept []*audit.Event
		for _, e := range stored {
			if e.ActorEmail != "e1@actors.example.com" && e.ActorID != "cust-2" {
				kept = append(kept, e)
			}
		}
		check("erased", kept, windows)

		// Retention: batches of 9 events, so that they end mid-day, up to
		// a cut-off after a month end.
		cutoff := time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)
		var some []window
		for i := 0; i < len(windows); i += 7 {
			some = append(some, windows[i])
		}
		for {
			step, err := db.PruneBatch(ctx, a.ID, cutoff, 9)
			if err != nil {
				t.Fatal(err)
			}
			if step.Removed() == 0 {
				break
			}
			when := fmt.Sprintf("pruned seq 1 to %d", step.To)
			checkActorRollups(t, db, a.ID, when)
			for _, w := range some {
				got, total := top(w)
				sqlstore.ActorRollupsForBenchmark(db, false)
				days, dayTotal := top(w)
				sqlstore.ActorRollupsForBenchmark(db, true)
				if total != dayTotal || !slices.Equal(got, days) {
					t.Errorf("%s: top actors %s..%s = %v, %d; the per-day rows say %v, %d", when, w.start.Format(time.DateTime), w.end.Format(time.DateTime), got, total, days, dayTotal)
				}
			}
			if step.Done {
				break
			}
		}
		var left []*audit.Event
		whole := sqlstore.GrainDay.Ceil(cutoff) // the prune removed events up to cutoff: the days after it are whole
		for _, e := range kept {
			if !e.CreatedAt.Before(cutoff) {
				left = append(left, e)
			}
		}
		var after []window
		for _, w := range windows {
			if !w.start.Before(whole) {
				after = append(after, w)
			}
		}
		if len(after) == 0 {
			t.Fatal("no window after the prune")
		}
		check("pruned", left, after)
	})
}

// checkActorRollups checks that every row of the account's
// event_actor_counts is the sum of its week's or month's per-day actor
// rows, that every such sum has its row, and that no row is at zero.
func checkActorRollups(t *testing.T, db *sqlstore.DB, accountID int64, when string) {
	t.Helper()
	rows, err := sqlstore.CountRowsForTest(t.Context(), db, accountID)
	if err != nil {
		t.Fatal(err)
	}
	want, got := map[string]int64{}, map[string]int64{}
	for _, r := range rows {
		f := strings.Split(r, "|") // table|grain or dimension|bucket|value|||n
		bucket, _ := strconv.ParseInt(f[2], 10, 64)
		n, _ := strconv.ParseInt(f[6], 10, 64)
		switch {
		case f[0] == "event_party_counts" && f[1] == "actor":
			day := time.Unix(bucket, 0).UTC()
			for _, g := range []sqlstore.Grain{sqlstore.GrainWeek, sqlstore.GrainMonth} {
				want[fmt.Sprintf("%s|%d|%s", g, g.Floor(day).Unix(), f[3])] += n
			}
		case f[0] == "event_actor_counts":
			if n <= 0 {
				t.Errorf("%s: actor count row %s", when, r)
			}
			got[fmt.Sprintf("%s|%d|%s", f[1], bucket, f[3])] = n
		}
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: event_actor_counts %s = %d; its days sum to %d", when, k, got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: event_actor_counts %s = %d; it has no day", when, k, n)
		}
	}
}
