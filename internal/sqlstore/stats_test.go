package sqlstore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestStatisticsWithoutAutovacuum checks, on PostgreSQL (which runs here
// with autovacuum off), that the store refreshes the planner's statistics
// as the log grows, so that the idempotency lookup and the first page use
// their indexes instead of reading the whole account. Before, a table the
// planner had no statistics for looked empty: the lookup of a batch's
// event IDs scanned every event of the account.
func TestStatisticsWithoutAutovacuum(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		if e.Name != "postgres" {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			db := e.Open(t)
			analyzed := sqlstore.NotifyAnalyzedForTest(db)
			ctx := t.Context()
			a := &audit.Account{Name: "Stats", Domain: "stats.example.com"}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
				t.Fatal(err)
			}
			for b := range 10 {
				evs := benchEvents(a.ID, 200)
				for i, e := range evs {
					e.EventID = fmt.Sprintf("evt_%d_%d", b, i)
				}
				err := db.Update(ctx, func(tx *sqlstore.Tx) error {
					_, err := tx.AppendEvents(ctx, sqltest.Signer(t), evs...)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-analyzed:
			case <-time.After(time.Minute):
				t.Fatal("the store did not refresh the statistics within a minute of 2,000 appends")
			}
			for _, q := range []struct {
				query, wantIndex string
				args             []any
			}{
				{`SELECT id FROM events e WHERE e.account_id = ? AND e.event_id IN (?, ?)`, "events_account_event_id_key", []any{a.ID, "evt_1_1", "evt_2_2"}},
				{`SELECT id FROM events e WHERE e.account_id = ? ORDER BY e.created_at DESC, e.seq DESC LIMIT 51`, "events_account_time_idx", []any{a.ID}},
			} {
				plan, err := sqlstore.ExplainForTest(ctx, db, q.query, q.args...)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(plan, q.wantIndex) {
					t.Errorf("plan of %s uses no %s:\n%s", q.query, q.wantIndex, plan)
				}
			}
		})
	}
}
