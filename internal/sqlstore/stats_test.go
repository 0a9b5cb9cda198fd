package sqlstore_test

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

var longStats = flag.Bool("long-stats", false, "TestPlansWithoutStatistics: grow the log to 200,000 events and check that batch latency stays flat")

// appendBatches appends batches of size events with event IDs (so each
// batch looks its IDs up first, as a client's retry-safe batch does) to
// account a, and returns each batch's time.
func appendBatches(t *testing.T, db *sqlstore.DB, a int64, from, batches, size int) []time.Duration {
	t.Helper()
	ctx := t.Context()
	took := make([]time.Duration, batches)
	for b := range batches {
		evs := benchEvents(a, size)
		for i, e := range evs {
			e.EventID = fmt.Sprintf("evt_%d_%d", from+b, i)
		}
		start := time.Now()
		err := db.Update(ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.AppendEvents(ctx, sqltest.Signer(t), evs...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		took[b] = time.Since(start)
	}
	return took
}

func newAccount(t *testing.T, db *sqlstore.DB, domain string) int64 {
	t.Helper()
	ctx := t.Context()
	a := &audit.Account{Name: "Stats", Domain: domain}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// TestStatisticsRefresh checks, on every engine, that the store refreshes
// the planner's statistics by itself once an account's log has grown, and
// that the engine's statements for it run.
func TestStatisticsRefresh(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			db := e.Open(t)
			analyzed := sqlstore.NotifyAnalyzedForTest(db)
			a := newAccount(t, db, "refresh.example.com")
			appendBatches(t, db, a, 0, 4, 300)
			select {
			case err := <-analyzed:
				if err != nil {
					t.Fatalf("the refresh failed: %v", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("no refresh within a minute of 1,200 appends")
			}
		})
	}
}

// TestPlansWithoutStatistics checks, on PostgreSQL (which runs here with
// autovacuum off, as issue 12 found it), that the lookup of a batch's
// event IDs and the first page use their indexes without anyone running
// ANALYZE: the store refreshes the statistics itself as the log grows.
// Without the refresh, at 5,000 events both read the whole account through
// another index (a bitmap scan of events_account_resource_type_idx), and a
// batch of 50 took 10 ms at the start and 110 ms by 50,000 events. With
// -long-stats it grows the log to 200,000 events in batches of 50 and
// checks that the batches at the end take about as long as at the start.
func TestPlansWithoutStatistics(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		if e.Name != "postgres" {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			db := e.Open(t)
			analyzed := sqlstore.NotifyAnalyzedForTest(db)
			a := newAccount(t, db, "plans.example.com")
			appendBatches(t, db, a, 0, 10, 500)
			select {
			case err := <-analyzed:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(time.Minute):
				t.Fatal("no refresh within a minute of 5,000 appends")
			}
			for _, q := range []struct{ query, index string }{
				{`SELECT id FROM events e WHERE e.account_id = ? AND e.event_id IN ('evt_1_1', 'evt_2_2')`, "Index Scan using events_account_event_id_key"},
				{`SELECT id FROM events e WHERE e.account_id = ? ORDER BY e.created_at DESC, e.seq DESC LIMIT 51`, "Index Scan Backward using events_account_time_idx"},
			} {
				plan, err := sqlstore.ExplainForTest(t.Context(), db, q.query, a)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, q.index) {
					t.Errorf("the plan of %s has no %s:\n%s", q.query, q.index, plan)
				}
			}
			if !*longStats {
				return
			}
			const size, total = 50, 200_000
			took := appendBatches(t, db, a, 10, (total-5000)/size, size)
			p50 := func(d []time.Duration) time.Duration {
				d = slices.Clone(d)
				slices.Sort(d)
				return d[len(d)/2]
			}
			first, last := p50(took[:200]), p50(took[len(took)-200:])
			// The median of each 20,000 events' batches, to show the
			// curve and not only its ends.
			const window = 20_000 / size
			for i := 0; i < len(took); i += window {
				end := min(i+window, len(took))
				t.Logf("events %d–%d: batch p50 %s", 5000+i*size, 5000+end*size, p50(took[i:end]))
			}
			t.Logf("batches of %d: p50 %s at 5,000 events, %s at %d", size, first, last, total)
			if last > 3*first+5*time.Millisecond {
				t.Errorf("batches slowed from %s to %s as the log grew to %d events", first, last, total)
			}
		})
	}
}
