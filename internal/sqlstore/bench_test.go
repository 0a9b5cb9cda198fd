package sqlstore_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/tlog"
)

// benchEvents returns n events of a realistic size for one account.
func benchEvents(accountID int64, n int) []*audit.Event {
	evs := make([]*audit.Event, n)
	for i := range evs {
		evs[i] = &audit.Event{
			AccountID: accountID, UserID: 1, ActorEmail: "admin@sample-store.com", ActorName: "Adam Admin",
			Action: "order_refunded", ResourceType: "order", ResourceID: strconv.Itoa(100000 + i),
			Details: "Refunded $42.00 on order #100000", IPAddress: "203.0.113.10",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
		}
	}
	return evs
}

// BenchmarkAppend measures the one write path, which locks the log head,
// extends the Merkle log and signs a checkpoint, against the same rows
// written by the same bulk path without any of that (InsertRawForBenchmark),
// for batches of 1, 100 and 1000 events per transaction, on every engine this
// run reaches. events/s is the figure to compare; ns/op is per batch.
func BenchmarkAppend(b *testing.B) {
	signer := sqltest.Signer(b)
	for _, e := range sqltest.Engines(b) {
		for _, batch := range []int{1, 100, 1000} {
			for _, mode := range []string{"tree", "plain"} {
				b.Run(fmt.Sprintf("%s/batch=%d/%s", e.Name, batch, mode), func(b *testing.B) {
					db := e.Open(b)
					ctx := b.Context()
					a := &audit.Account{Name: "Bench", Domain: "bench.example.com"}
					if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
						b.Fatal(err)
					}
					var seq int64
					b.ResetTimer()
					for b.Loop() {
						evs := benchEvents(a.ID, batch)
						var err error
						if mode == "tree" {
							err = db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, signer, evs...); return err })
						} else {
							for _, e := range evs {
								seq++
								e.Seq, e.Salt = seq, make([]byte, 32)
							}
							err = db.InsertRawForBenchmark(ctx, evs)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "events/s")
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(batch*b.N), "ns/event")
				})
			}
		}
	}
}

// BenchmarkProofsAtScale builds one account's log of AUDITLOG_BENCH_EVENTS
// events (default 1,000,000) on SQLite, then measures inclusion and
// consistency proofs against it: time per proof and proof size. Building the
// log takes about a minute; it is skipped unless -bench selects it.
func BenchmarkProofsAtScale(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("AUDITLOG_BENCH_EVENTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	db := sqltest.OpenSQLite(b)
	signer := sqltest.Signer(b)
	ctx := b.Context()
	a := &audit.Account{Name: "Scale", Domain: "scale.example.com"}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for done := 0; done < n; done += 1000 {
		evs := benchEvents(a.ID, min(1000, n-done))
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, signer, evs...); return err }); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built a log of %d events in %s (%.0f events/s)", n, time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
	page, err := db.Events(ctx, a.ID, audit.EventFilter{}, audit.PageRequest{Page: 1, PerPage: 1})
	if err != nil {
		b.Fatal(err)
	}
	newest := page.Events[0]
	oldestID := newest.ID - int64(n) + 1
	size := int64(n)

	b.Run("inclusion", func(b *testing.B) {
		var bytes int
		i := int64(0)
		for b.Loop() {
			id := oldestID + (i*7919)%size
			i++
			p, err := db.ProveEvent(ctx, a.ID, id, 0)
			if err != nil {
				b.Fatal(err)
			}
			bytes = len(p.Proof) * 32
			if err := tlog.VerifyInclusion(p.Proof, p.Checkpoint.Size, p.Checkpoint.Root, p.Event.Seq-1, p.Event.LeafHash); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(bytes), "proof-bytes")
	})
	b.Run("consistency", func(b *testing.B) {
		var bytes int
		i := int64(0)
		for b.Loop() {
			from := 1000 * (1 + (i*7919)%(size/1000-1))
			i++
			p, err := db.ProveConsistency(ctx, a.ID, from, 0)
			if err != nil {
				b.Fatal(err)
			}
			bytes = len(p.Proof) * 32
		}
		b.ReportMetric(float64(bytes), "proof-bytes")
	})
	// A page of 50 deep in the log: by OFFSET (the seed's page numbers)
	// and by keyset cursor (the position of the page's predecessor).
	deep := audit.PageRequest{Page: int(size/50) - 100, PerPage: 50}
	prev, err := db.Events(ctx, a.ID, audit.EventFilter{}, audit.PageRequest{Page: deep.Page - 1, PerPage: 50})
	if err != nil {
		b.Fatal(err)
	}
	last := prev.Events[len(prev.Events)-1]
	b.Run("list-page-offset-deep", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Events(ctx, a.ID, audit.EventFilter{}, deep); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("list-page-cursor-deep", func(b *testing.B) {
		after := audit.PageRequest{PerPage: 50, After: &audit.Position{CreatedAt: last.CreatedAt, Seq: last.Seq}}
		for b.Loop() {
			p, err := db.Events(ctx, a.ID, audit.EventFilter{}, after)
			if err != nil || len(p.Events) != 50 {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify-log", func(b *testing.B) {
		for b.Loop() {
			rep, err := db.VerifyLog(ctx, a.ID, signer.VerifierKey())
			if err != nil || rep.Failure != nil {
				b.Fatal(err, rep.Failure)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
