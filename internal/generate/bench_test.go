package generate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/generate"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// BenchmarkGenerate measures auditlog generate's write rate on every engine
// the run reaches, for several batch sizes, against the engine's raw bulk
// insert of the same events in transactions of the same size (no idempotency
// lookup, tree, checkpoint or counts: InsertRawForBenchmark). Each iteration
// writes 20,000 events into one new account; events/s is the figure, and
// the ratio of "append" to "raw" in the same run is what to compare across
// machines.
func BenchmarkGenerate(b *testing.B) {
	const n = 20_000
	for _, e := range sqltest.Engines(b) {
		for _, batch := range []int{1000, 5000, 20000} {
			for _, mode := range []string{"append", "raw"} {
				b.Run(fmt.Sprintf("%s/batch=%d/%s", e.Name, batch, mode), func(b *testing.B) {
					db := e.Open(b)
					ctx := b.Context()
					seed := uint64(0)
					var elapsed time.Duration
					for b.Loop() {
						seed++
						a := &audit.Account{Name: "Bench", Domain: fmt.Sprintf("bench-%d.example.com", seed)}
						if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
							b.Fatal(err)
						}
						o := generate.Options{Events: n, AccountID: a.ID, Seed: seed, Batch: batch}
						start := time.Now()
						if mode == "append" {
							if _, err := generate.Run(ctx, db, sqltest.Signer(b), o); err != nil {
								b.Fatal(err)
							}
						} else {
							evs, err := generate.Events(o, a.ID, a.Domain, nil, n)
							if err != nil {
								b.Fatal(err)
							}
							for i, e := range evs {
								e.Seq, e.Salt = int64(i+1), make([]byte, 32)
							}
							for i := 0; i < n; i += batch {
								if err := db.InsertRawForBenchmark(ctx, evs[i:min(i+batch, n)]); err != nil {
									b.Fatal(err)
								}
							}
						}
						elapsed += time.Since(start)
					}
					b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "events/s")
				})
			}
		}
	}
}
