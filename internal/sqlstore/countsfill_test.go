package sqlstore_test

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestCountsFill checks, on every engine, that FillCountsForBenchmark
// leaves the analytics counts exactly as the write path leaves them for
// the same events: BenchmarkAnalytics's stream of events appended through
// Tx.AppendEvents to one account and filled as counts only into another
// must give the same rows, row for row. It appends 20,000 events (5,000
// with -short); AUDITLOG_COUNTS_FILL_EVENTS=100000 runs it at the size
// docs/performance.md reports (six minutes for the three engines on a
// loaded machine, too long for every CI run).
func TestCountsFill(t *testing.T) {
	n := 20_000
	if testing.Short() {
		n = 5_000
	}
	if v := os.Getenv("AUDITLOG_COUNTS_FILL_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("AUDITLOG_COUNTS_FILL_EVENTS: %v", err)
		}
	}
	now := time.Date(2026, 11, 30, 17, 25, 0, 0, time.UTC)
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := e.Open(t)
			ctx := t.Context()
			var accts [2]*audit.Account
			for i := range accts {
				accts[i] = &audit.Account{Name: "Counts", Domain: []string{"written.example.com", "filled.example.com"}[i]}
				if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, accts[i]) }); err != nil {
					t.Fatal(err)
				}
			}
			signer := sqltest.Signer(t)
			for evs := range analyticsStream(accts[0].ID, n, now, false) {
				if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, signer, evs...); return err }); err != nil {
					t.Fatal(err)
				}
			}
			if err := sqlstore.FillCountsForBenchmark(ctx, db, analyticsStream(accts[1].ID, n, now, false)); err != nil {
				t.Fatal(err)
			}
			written, err := sqlstore.CountRowsForTest(ctx, db, accts[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			filled, err := sqlstore.CountRowsForTest(ctx, db, accts[1].ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(written) < 1000 {
				t.Fatalf("the write path left %d count rows for %d events; want thousands", len(written), n)
			}
			if !slices.Equal(written, filled) {
				for i := range min(len(written), len(filled)) {
					if written[i] != filled[i] {
						t.Fatalf("row %d: written %q, filled %q (%d rows written, %d filled)", i, written[i], filled[i], len(written), len(filled))
					}
				}
				t.Fatalf("%d rows written, %d filled", len(written), len(filled))
			}
			t.Logf("%d events: %d count rows, equal", n, len(written))
		})
	}
}
