package app_test

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// benchSchema is a realistic event schema of order.refunded: the
// resource, an external actor of type customer, and metadata with an
// amount, a currency and an order ID.
const benchSchema = `{
  "type": "object",
  "required": ["resource_type", "resource_id", "actor", "metadata"],
  "properties": {
    "resource_type": {"const": "order"},
    "resource_id": {"type": "string", "pattern": "^[0-9]+$"},
    "actor": {"type": "object", "required": ["id", "type"], "properties": {"type": {"enum": ["customer", "staff"]}}},
    "metadata": {
      "type": "object",
      "required": ["amount_cents", "currency"],
      "properties": {
        "amount_cents": {"type": "integer", "minimum": 0},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "order_id": {"type": "string", "maxLength": 64}
      },
      "additionalProperties": false
    }
  }
}`

// benchRefunds returns n events that match benchSchema, with event IDs
// starting at from.
func benchRefunds(from, n int) []ingest.EventInput {
	evs := make([]ingest.EventInput, n)
	for i := range evs {
		id := from + i
		evs[i] = ingest.EventInput{
			EventID: fmt.Sprintf("ref-%d", id), Action: "order.refunded", ResourceType: "order", ResourceID: fmt.Sprint(id),
			Details: "Refunded part of the order", IPAddress: "198.51.100.23", UserAgent: "checkout/2.1",
			Actor:    &ingest.ActorInput{ID: fmt.Sprintf("cust_%d", id%977), Name: "Jane Roe", Type: "customer"},
			Metadata: []byte(fmt.Sprintf(`{"amount_cents":%d,"currency":"EUR","order_id":"o-%d"}`, 100+id%5000, id)),
		}
	}
	return evs
}

// BenchmarkIngestSchema measures what an event schema costs a batch of
// 1,000 events, on every engine this run reaches: App.PrepareEvents
// (the checks, with the latest schema versions, no write) and App.Ingest
// (checks and the group commit), each for an account without a schema of
// the action and for one with benchSchema; prepare-single is
// App.PrepareEvents of one event per request, where what a request pays
// besides its events (the latest versions) shows. cpu-ms/op
// is the process's CPU time (user and system) per batch, less sensitive
// than ns/op to other work on a shared machine.
func BenchmarkIngestSchema(b *testing.B) {
	for _, eng := range sqltest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			db := eng.Open(b)
			ctx := b.Context()
			signer := sqltest.Signer(b)
			w := ingest.NewWriter(db, signer, ingest.Options{})
			b.Cleanup(w.Close)
			ap := app.New(app.Deps{Store: db, Signer: signer, Ingest: w, Hasher: password.NewHasher(testParams), Config: config.Default(), SecretKey: []byte("bench")})
			b.Cleanup(func() { ap.Close(ctx) })
			accounts := map[string]int64{}
			for _, name := range []string{"none", "schema"} {
				a := &audit.Account{Name: name, Domain: name + ".example.com"}
				if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
					b.Fatal(err)
				}
				accounts[name] = a.ID
			}
			key, _, err := ap.CreatePlatformKey(ctx, "bench", "bench", []string{audit.PlatformScopeSchemasWrite})
			if err != nil {
				b.Fatal(err)
			}
			plat, err := ap.AuthenticatePlatformKey(ctx, key)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ap.CreateEventSchema(ctx, plat, origin, app.NewEventSchema{Account: app.AccountRef{ID: accounts["schema"]},
				Action: "order.refunded", Schema: json.RawMessage(benchSchema)}); err != nil {
				b.Fatal(err)
			}
			next := 0
			for _, op := range []string{"prepare-single", "prepare", "ingest"} {
				for _, mode := range []string{"none", "schema"} {
					p := app.OperatorPrincipal(accounts[mode], "bench")
					b.Run(op+"/"+mode, func(b *testing.B) {
						size := 1000
						if op == "prepare-single" {
							size = 1
						}
						before := cpuTime()
						for b.Loop() {
							evs := benchRefunds(next, size)
							next += size
							if op != "ingest" {
								_, err = ap.PrepareEvents(ctx, p, evs)
							} else {
								_, err = ap.Ingest(ctx, p, evs)
							}
							if err != nil {
								b.Fatal(err)
							}
						}
						b.ReportMetric(float64((cpuTime()-before).Microseconds())/1000/float64(b.N), "cpu-ms/op")
						b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
					})
				}
			}
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
