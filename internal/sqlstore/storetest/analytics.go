package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// analyticsLog appends events to two accounts at times that cross hour,
// day and month boundaries, with replays that must not count twice, and
// returns account a and every event stored in it.
func analyticsLog(t *testing.T, db *sqlstore.DB) (a *audit.Account, stored []*audit.Event) {
	a = newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	times := []time.Time{
		time.Date(2024, 1, 31, 22, 30, 0, 0, time.UTC),
		time.Date(2024, 1, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 1, 5, 10, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC),
		time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC),
	}
	actions := []string{"order.refunded", "login_failed", "product.updated"}
	types := []string{"order", "user", "product", ""}
	outcomes := []string{audit.OutcomeSuccess, audit.OutcomeFailure, ""}
	n := 0
	for i, at := range times {
		fixedClock(db, at)
		var batch []*audit.Event
		for j := 0; j < 5+i; j++ {
			n++
			e := &audit.Event{
				AccountID: a.ID, Action: actions[n%len(actions)], ResourceType: types[n%len(types)], Outcome: outcomes[n%len(outcomes)],
				ActorType: "customer", EventID: fmt.Sprintf("ev-%d", n),
			}
			switch n % 4 {
			case 0:
				e.ActorEmail = fmt.Sprintf("user%d@a.example.com", n%3)
			case 1:
				e.ActorID = fmt.Sprintf("cust-%d", n%2)
			}
			if n%3 != 0 {
				e.IPAddress = fmt.Sprintf("192.0.2.%d", n%5)
			}
			batch = append(batch, e)
		}
		// A replay of the batch's first event and another account's
		// events, in the same transaction.
		replay := *batch[0]
		batch = append(batch, &replay, &audit.Event{AccountID: b.ID, Action: "order.refunded", ResourceType: "order", Outcome: audit.OutcomeFailure, ActorEmail: "x@b.example.com", IPAddress: "192.0.2.1"})
		for k, r := range appendResults(t, db, batch...) {
			if !r.Replayed && r.Event.AccountID == a.ID {
				stored = append(stored, r.Event)
			} else if r.Replayed != (k == len(batch)-2) {
				t.Fatalf("append %d: Replayed = %t", k, r.Replayed)
			}
		}
	}
	// A later replay in a transaction of its own counts nothing.
	fixedClock(db, times[len(times)-1].Add(time.Hour))
	again := *stored[0]
	again.ID, again.Seq = 0, 0
	if r := appendResults(t, db, &again); !r[0].Replayed {
		t.Fatalf("replay of %s not reported", again.EventID)
	}
	return a, stored
}

func testAnalytics(t *testing.T, db *sqlstore.DB) {
	a, stored := analyticsLog(t, db)
	checkAnalytics(t, db, a.ID, stored)
}

// testAnalyticsBackfill drops the counts and applies migrations 0006 and
// 0017 again: they must count the events already stored exactly as the
// write path did (0017 the week and month actor counts, from 0006's per-day
// ones; TestActorCounts compares its rows with the write path's, row for
// row).
func testAnalyticsBackfill(t *testing.T, db *sqlstore.DB) {
	a, stored := analyticsLog(t, db)
	sqltest.Exec(t, db, `DROP TABLE event_actor_counts`)
	sqltest.Exec(t, db, `DROP TABLE event_counts`)
	sqltest.Exec(t, db, `DROP TABLE event_party_counts`)
	sqltest.Exec(t, db, `DELETE FROM schema_migrations WHERE version IN (6, 17)`)
	applied, err := db.Migrate(t.Context())
	if err != nil || len(applied) != 2 {
		t.Fatalf("Migrate again = %v, %v; want 0006 and 0017 applied", applied, err)
	}
	checkAnalytics(t, db, a.ID, stored)
}

// checkAnalytics compares the store's counts over many ranges and filters
// with counts of the stored events.
func checkAnalytics(t *testing.T, db *sqlstore.DB, accountID int64, stored []*audit.Event) {
	ctx := t.Context()
	hour := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02T15", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	ranges := [][2]time.Time{
		{hour("2024-01-01T00"), hour("2024-04-01T00")}, // whole months
		{hour("2023-12-31T23"), hour("2024-03-15T13")}, // ragged ends
		{hour("2024-01-31T23"), hour("2024-02-01T01")}, // across a day and a month
		{hour("2024-02-01T05"), hour("2024-02-01T06")}, // one hour
		{hour("2024-02-01T06"), hour("2024-02-29T23")}, // nothing
		{hour("2024-01-31T22"), hour("2024-03-01T00")},
	}
	filters := []sqlstore.CountFilter{
		{},
		{Action: "login_failed"},
		{Outcome: audit.OutcomeFailure},
		{ResourceType: "order", Outcome: audit.OutcomeSuccess},
		{ResourceType: ""},
		{Action: "no.such.action"},
	}
	matches := func(f sqlstore.CountFilter, e *audit.Event, from, to time.Time) bool {
		return !e.CreatedAt.Before(from) && e.CreatedAt.Before(to) &&
			(f.Action == "" || e.Action == f.Action) && (f.ResourceType == "" || e.ResourceType == f.ResourceType) &&
			(f.Outcome == "" || e.Outcome == f.Outcome)
	}
	for _, r := range ranges {
		for _, f := range filters {
			for _, g := range []sqlstore.Grain{sqlstore.GrainHour, sqlstore.GrainDay, sqlstore.GrainMonth} {
				f.Start, f.End, f.MaxGrain = r[0], r[1], g
				what := fmt.Sprintf("%s..%s %+v", f.Start.Format(time.RFC3339), f.End.Format(time.RFC3339), f)
				series, err := db.CountSeries(ctx, accountID, f)
				if err != nil {
					t.Fatalf("CountSeries(%s): %v", what, err)
				}
				for _, b := range series {
					if b.Grain > g {
						t.Errorf("CountSeries(%s): a bucket of grain %s", what, b.Grain)
					}
					var want, fails int64
					for _, e := range stored {
						if matches(f, e, b.Start, b.Grain.Next(b.Start)) {
							want++
							if e.Outcome == audit.OutcomeFailure {
								fails++
							}
						}
					}
					if b.Count != want || b.Failures != fails || want == 0 {
						t.Errorf("CountSeries(%s): bucket %s %s = %d (%d failures); want %d (%d)", what, b.Grain, b.Start, b.Count, b.Failures, want, fails)
					}
				}
				var sum, want int64
				for _, b := range series {
					sum += b.Count
				}
				counts := map[string]int64{}
				for _, e := range stored {
					if matches(f, e, f.Start, f.End) {
						want++
						counts[e.Action]++
					}
				}
				if sum != want {
					t.Errorf("CountSeries(%s) sums to %d; want %d", what, sum, want)
				}
				top, total, err := db.CountTop(ctx, accountID, f, sqlstore.DimAction, 2)
				if err != nil {
					t.Fatalf("CountTop(%s): %v", what, err)
				}
				if total != want {
					t.Errorf("CountTop(%s) total = %d; want %d", what, total, want)
				}
				if w := topOf(counts, 2); !slices.Equal(top, w) {
					t.Errorf("CountTop(%s, action) = %v; want %v", what, top, w)
				}
			}
		}
	}
	// The party dimensions count whole days.
	for _, r := range ranges {
		from, to := sqlstore.GrainDay.Floor(r[0]), sqlstore.GrainDay.Ceil(r[1])
		for _, dim := range []string{sqlstore.DimActor, sqlstore.DimIP, sqlstore.DimOutcome, sqlstore.DimResourceType} {
			counts := map[string]int64{}
			var want int64
			for _, e := range stored {
				if sqlstore.IsPartyDimension(dim) && (e.CreatedAt.Before(from) || !e.CreatedAt.Before(to)) ||
					!sqlstore.IsPartyDimension(dim) && (e.CreatedAt.Before(r[0]) || !e.CreatedAt.Before(r[1])) {
					continue
				}
				v := map[string]string{sqlstore.DimActor: sqlstore.ActorKey(e), sqlstore.DimIP: e.IPAddress, sqlstore.DimOutcome: e.Outcome, sqlstore.DimResourceType: e.ResourceType}[dim]
				if v != "" || !sqlstore.IsPartyDimension(dim) {
					counts[v]++
					want++
				}
			}
			top, total, err := db.CountTop(ctx, accountID, sqlstore.CountFilter{Start: r[0], End: r[1], MaxGrain: sqlstore.GrainMonth}, dim, 3)
			if err != nil {
				t.Fatalf("CountTop(%s): %v", dim, err)
			}
			if w := topOf(counts, 3); total != want || !slices.Equal(top, w) {
				t.Errorf("CountTop(%s..%s, %s) = %v, %d; want %v, %d", r[0], r[1], dim, top, total, w, want)
			}
		}
	}
	if _, _, err := db.CountTop(ctx, accountID, sqlstore.CountFilter{Start: ranges[0][0], End: ranges[0][1], Action: "x"}, sqlstore.DimActor, 3); err == nil {
		t.Errorf("CountTop(actor) with an action filter: no error")
	}
}

// topOf returns the limit keys with the highest counts, most first, ties
// by key.
func topOf(counts map[string]int64, limit int) []sqlstore.KeyCount {
	out := []sqlstore.KeyCount{}
	for k, n := range counts {
		out = append(out, sqlstore.KeyCount{Key: k, Count: n})
	}
	slices.SortFunc(out, func(a, b sqlstore.KeyCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key))
	})
	return out[:min(limit, len(out))]
}
