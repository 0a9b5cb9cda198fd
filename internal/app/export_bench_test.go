package app_test

import (
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// BenchmarkExport measures App.Export of a whole log of
// AUDITLOG_BENCH_EVENTS events (default 100,000) in each format on every
// engine this run reaches, written to io.Discard: the export's own cost,
// without HTTP. events/s is the figure to compare; ns/op is per export.
// The log is loaded as a real verifiable log, in appends of 1,000 events,
// then analysed. For the server's figures over HTTP, with its peak RSS,
// see auditlog bench --export (docs/performance.md).
func BenchmarkExport(b *testing.B) {
	n := 100_000
	if v := os.Getenv("AUDITLOG_BENCH_EVENTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for _, eng := range sqltest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			db := eng.Open(b)
			ctx := b.Context()
			signer := sqltest.Signer(b)
			a := &audit.Account{Name: "Bench", Domain: "bench.example.com"}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for done := 0; done < n; done += 1000 {
				evs := exportBenchEvents(a.ID, done, min(1000, n-done))
				if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, signer, evs...); return err }); err != nil {
					b.Fatal(err)
				}
			}
			if err := db.Analyze(ctx); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: loaded %d events in %s", eng.Name, n, time.Since(start).Round(time.Millisecond))
			ap := app.New(app.Deps{Store: db, Signer: signer, Hasher: password.NewHasher(testParams), Config: config.Default(), SecretKey: []byte("bench")})
			p := app.OperatorPrincipal(a.ID, "bench")
			for _, format := range app.ExportFormats {
				b.Run(format, func(b *testing.B) {
					var x *app.Export
					for b.Loop() {
						err := ap.Export(ctx, p, origin, app.ExportRequest{Format: format}, func(e *app.Export) io.Writer { x = e; return io.Discard })
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(x.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
				})
			}
		})
	}
}

// exportBenchEvents returns n events like a shop's: a user refunding
// orders, with metadata.
func exportBenchEvents(accountID int64, from, n int) []*audit.Event {
	evs := make([]*audit.Event, n)
	for i := range evs {
		id := strconv.Itoa(100000 + from + i)
		evs[i] = &audit.Event{
			AccountID: accountID, UserID: 1, ActorEmail: "admin@sample-store.com", ActorName: "Adam Admin",
			Action: "order_refunded", ResourceType: "order", ResourceID: id, Outcome: audit.OutcomeSuccess,
			Details: "Refunded $42.00 on order #" + id, IPAddress: "203.0.113.10",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
			Metadata:  []byte(`{"amount":"42.00","currency":"USD"}`),
		}
	}
	return evs
}
