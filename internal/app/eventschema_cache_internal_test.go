package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestSchemaCacheAcrossProcesses: two Apps on one database stand for two
// processes. A change of an account's (or every account's) schemas
// applies at once in the process that made it, and in the other once its
// cached versions are schemaListTTL old, not before (so a request does
// not read them); a version deleted by the other process fails one
// request with errEventSchemaGone, and the retry checks the versions that
// apply now.
func TestSchemaCacheAcrossProcesses(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		signer := sqltest.Signer(t)
		newApp := func() *App {
			return New(Deps{Store: db, Signer: signer, Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
				Config: config.Default(), SecretKey: []byte("k")})
		}
		a, b := newApp(), newApp()
		now := time.Now()
		b.schemas.clock = func() time.Time { return now }
		t.Cleanup(func() { a.Close(ctx); b.Close(ctx) })

		var accounts []int64
		for _, name := range []string{"shop", "other"} {
			acct := &audit.Account{Name: name, Domain: name + ".example.com"}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, acct) }); err != nil {
				t.Fatal(err)
			}
			accounts = append(accounts, acct.ID)
		}
		key, _, err := a.CreatePlatformKey(ctx, "test", "schemas", []string{audit.PlatformScopeSchemasWrite})
		if err != nil {
			t.Fatal(err)
		}
		plat, err := a.AuthenticatePlatformKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		client := NewClient("192.0.2.1", "test")
		register := func(account int64, schema string) *audit.EventSchema {
			t.Helper()
			in := NewEventSchema{Account: AccountRef{ID: account}, AllAccounts: account == 0, Action: "order.refunded", Schema: []byte(schema)}
			s, err := a.CreateEventSchema(ctx, plat, client, in)
			if err != nil {
				t.Fatalf("CreateEventSchema: %v", err)
			}
			return s
		}
		// An event with an amount, without a resource ID or an actor.
		event := []ingest.EventInput{{Action: "order.refunded", ResourceType: "order", Metadata: []byte(`{"amount_cents":5}`)}}
		check := func(who *App, account int64, want string) {
			t.Helper()
			_, err := who.PrepareEvents(ctx, OperatorPrincipal(account, "test"), event)
			var invalid *ingest.InvalidError
			switch got := "accepted"; {
			case errors.As(err, &invalid):
				got = "refused"
				fallthrough
			case err == nil:
				if got != want {
					t.Fatalf("the event is %s; want %s (%v)", got, want, err)
				}
			case errors.Is(err, errEventSchemaGone):
				if want != "gone" {
					t.Fatalf("PrepareEvents = %v; want %s", err, want)
				}
			default:
				t.Fatalf("PrepareEvents = %v; want %s", err, want)
			}
		}
		shop, other := accounts[0], accounts[1]

		check(b, shop, "accepted") // b caches: no schema
		register(shop, `{"required":["resource_id"]}`)
		check(a, shop, "refused")  // at once where it was registered
		check(b, shop, "accepted") // b has not read the versions again
		now = now.Add(schemaListTTL)
		check(b, shop, "refused")

		// An all-accounts schema: every account's cached versions go.
		check(a, other, "accepted")
		register(0, `{"required":["actor"]}`)
		check(a, other, "refused")
		check(b, other, "accepted")
		now = now.Add(schemaListTTL)
		check(b, other, "refused")

		// Unused versions are deleted and apply no more, at once in a.
		amount := register(shop, `{"properties":{"metadata":{"required":["amount_cents"]}}}`)
		if _, err := a.DeleteEventSchema(ctx, plat, client, amount.ID); err != nil {
			t.Fatalf("DeleteEventSchema: %v", err)
		}
		all, err := a.ListEventSchemas(ctx, plat, AccountRef{}, "")
		if err != nil || len(all) != 1 {
			t.Fatalf("ListEventSchemas = %v, %v", all, err)
		}
		if _, err := a.DeleteEventSchema(ctx, plat, client, all[0].ID); err != nil {
			t.Fatalf("DeleteEventSchema: %v", err)
		}
		check(a, other, "accepted")
		// A new version that b reads (and compiles) on an event it
		// refuses, so it stays unused, is deleted by a: b's next request
		// fails once, and the retry checks the first version again.
		orderID := register(shop, `{"properties":{"metadata":{"required":["order_id"]}}}`)
		now = now.Add(schemaListTTL)
		check(b, shop, "refused") // no order_id
		if _, err := a.DeleteEventSchema(ctx, plat, client, orderID.ID); err != nil {
			t.Fatalf("DeleteEventSchema: %v", err)
		}
		event[0].Metadata = []byte(`{"amount_cents":5,"order_id":"o-1"}`)
		event[0].ResourceID = "1"
		check(b, shop, "gone")
		check(b, shop, "accepted") // the first version, {"required":["resource_id"]}
		event[0].ResourceID = ""
		check(b, shop, "refused")
	})
}
