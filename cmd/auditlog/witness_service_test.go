package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/sqlstore/storetest"
	"github.com/auditlog/auditlog/internal/witness/witnesstest"
)

// listeningWitness starts an independent witness of the logs of logKey on
// a real loopback listener, and returns its URL and verifier key.
func listeningWitness(t *testing.T, name, logKey string) (url, vkey string) {
	return witnesstest.Start(t, name, logKey)
}

// witnessedApp is a service process on db whose checkpoints the witnesses
// cosign (as serve wires it: every commit goes to LogsCommitted).
func witnessedApp(t *testing.T, db *sqlstore.DB, ws []config.Witness) *app.App {
	t.Helper()
	cfg := config.Default()
	cfg.Witnesses, cfg.WitnessQuorum = ws, len(ws)
	parsed, err := app.NewWitnesses(ws)
	if err != nil {
		t.Fatal(err)
	}
	a := app.New(app.Deps{Store: db, Signer: sqltest.Signer(t), Config: cfg, SecretKey: []byte("witness-test"),
		Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}), Witnesses: parsed})
	db.OnCommit = a.LogsCommitted
	t.Cleanup(func() { a.Close(context.Background()) })
	return a
}

// waitFor polls cond every 20 ms for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %s", what)
		}
	}
}

// TestWitnessesCatchInsiderRewrite is issue 11's "done when", on every
// engine: with two witnesses configured, someone with write access to the
// database rewrites an event and everything derived from it (leaf hash,
// tiles, log head) and deletes every checkpoint row; a service process
// started afresh signs the rewritten tree at its next write, as it cannot
// know better, but both witnesses refuse to cosign it; the refusal is
// recorded in the account's log (witness.refused, once per witness) and
// reported by the witness states that GET /api/audit-logs/verify shows; and
// auditlog verify with the two witnesses and a quorum of 2 rejects a fresh
// export, which it accepted before the rewrite.
func TestWitnessesCatchInsiderRewrite(t *testing.T) {
	t.Chdir(t.TempDir())
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		vkey := sqltest.Signer(t).VerifierKey()
		u1, k1 := listeningWitness(t, "w1.example.org", vkey)
		u2, k2 := listeningWitness(t, "w2.example.org", vkey)
		ws := []config.Witness{{URL: u1, Key: k1}, {URL: u2, Key: k2}}
		verifyExport := func(a *app.App, accountID int64) (string, error) {
			t.Helper()
			path := filepath.Join(t.TempDir(), "export.ndjson")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Export(ctx, app.OperatorPrincipal(accountID, "auditlog export"), app.Client{}, app.ExportRequest{},
				func(*app.Export) io.Writer { return f }); err != nil {
				t.Fatal(err)
			}
			f.Close()
			var out bytes.Buffer
			err = runTest(t, []string{"verify", "--key", vkey, "--witness", k1, "--witness", k2, "--witness-quorum", "2", path}, envMap(nil), &out, io.Discard)
			return out.String(), err
		}

		// The honest history, cosigned by both witnesses.
		a := witnessedApp(t, db, ws)
		acct, _, err := a.CreateAccount(ctx, app.NewClient("192.0.2.1", "test"), app.NewAccount{Name: "Shop", Domain: "shop.example.com",
			OwnerEmail: "owner@shop.example.com", OwnerPassword: "correct-horse-battery", OwnerFirstName: "O", OwnerLastName: "Wner"})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 6 {
			events := make([]*audit.Event, 5)
			for j := range events {
				events[j] = &audit.Event{AccountID: acct.ID, Action: "order.paid", ResourceType: "order", ResourceID: string(rune('a' + i))}
			}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, sqltest.Signer(t), events...); return err }); err != nil {
				t.Fatal(err)
			}
		}
		if out, err := verifyExport(a, acct.ID); err != nil {
			t.Fatalf("the honest log's fresh export: %v\n%s", err, out)
		}
		a.Close(ctx)

		// The insider rewrite, then a service process started afresh.
		storetest.ForgeLog(t, db, acct.ID, 5, 1)
		db2 := sqltest.Reopen(t, db)
		b := witnessedApp(t, db2, ws)
		if err := db2.Update(ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.AppendEvents(ctx, sqltest.Signer(t), &audit.Event{AccountID: acct.ID, Action: "order.paid"})
			return err
		}); err != nil {
			t.Fatalf("the new process did not sign the rewritten log (the gap witnesses close): %v", err)
		}
		owner := app.OperatorPrincipal(acct.ID, "test")
		var states []sqlstore.WitnessState
		waitFor(t, "both witnesses' refusals recorded", func() bool {
			if states, err = b.WitnessStates(ctx, owner); err != nil {
				t.Fatal(err)
			}
			return len(states) == 2 && states[0].Refusal != nil && states[1].Refusal != nil
		})
		for _, st := range states {
			// The witness may have cosigned one checkpoint more than the
			// store holds a cosignature of: the first process stopped
			// (Close) while that request was in flight.
			if r := st.Refusal; r.Status != 422 || r.CosignedSize < st.CosignedSize || r.TreeSize <= r.CosignedSize {
				t.Errorf("witness %s: refusal %+v (cosigned size %d); want a 422 from the size it cosigned", st.Witness, r, st.CosignedSize)
			}
		}
		// The alert in the account's log: one witness.refused event per
		// witness, however many checkpoints followed.
		var refused []*audit.Event
		waitFor(t, "two witness.refused events", func() bool {
			page, err := db2.Events(ctx, acct.ID, audit.EventFilter{Action: app.ActionWitnessRefused}, audit.PageRequest{Page: 1, PerPage: 10})
			if err != nil {
				t.Fatal(err)
			}
			refused = page.Events
			return len(refused) >= 2
		})
		time.Sleep(300 * time.Millisecond) // let the refusal events' own checkpoints be refused too
		page, err := db2.Events(ctx, acct.ID, audit.EventFilter{Action: app.ActionWitnessRefused}, audit.PageRequest{Page: 1, PerPage: 10})
		if err != nil || len(page.Events) != 2 {
			t.Fatalf("witness.refused events: %d, %v; want one per witness", len(page.Events), err)
		}
		for _, e := range page.Events {
			if e.ActorType != audit.ActorSystem || !strings.Contains(e.Details, "refused to cosign") || e.ResourceType != audit.ResourceAuditLog {
				t.Errorf("witness.refused event: actor %s %q, resource %s, details %q", e.ActorType, e.ActorName, e.ResourceType, e.Details)
			}
		}
		out, err := verifyExport(b, acct.ID)
		if err == nil || !strings.Contains(out, "FAILED") {
			t.Errorf("auditlog verify --witness … accepted a fresh export of the rewritten log:\n%s", out)
		}
		t.Logf("auditlog verify on the rewritten log's export: %s", strings.TrimSpace(out))
	})
}
