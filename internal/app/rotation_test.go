package app_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/tlog"
)

// TestKeyRotation checks a rotation of the checkpoint signing key on every
// engine: a new key of the same name takes over, with the old one as a
// previous key; checkpoints keep naming the key that signed them; the
// stored log (checkpoints of both keys) verifies, and would not without
// the previous key; an export and an inclusion proof taken before the
// rotation still verify with the old key; a fresh export verifies with the
// new one; GET /api/verifier-key's list dates both keys; and a previous key
// of another name is refused.
func TestKeyRotation(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		skeyA, vkeyA, err := tlog.GenerateKey("rotating.example")
		if err != nil {
			t.Fatal(err)
		}
		skeyB, vkeyB, _ := tlog.GenerateKey("rotating.example")
		signerA, _ := tlog.NewSigner(skeyA)
		plainB, _ := tlog.NewSigner(skeyB)
		signerB, err := plainB.WithPrevious([]string{vkeyA})
		if err != nil {
			t.Fatal(err)
		}
		_, otherName, _ := tlog.GenerateKey("another.example")
		if _, err := plainB.WithPrevious([]string{otherName}); err == nil {
			t.Error("WithPrevious accepted a key of another name")
		}

		newApp := func(db *sqlstore.DB, s *tlog.Signer) *app.App {
			a := app.New(app.Deps{Store: db, Signer: s, Config: config.Default(), SecretKey: []byte("rotation-test"), Hasher: password.NewHasher(testParams)})
			t.Cleanup(func() { a.Close(ctx) })
			return a
		}
		appendWith := func(db *sqlstore.DB, s *tlog.Signer, accountID int64, n int) {
			events := make([]*audit.Event, n)
			for i := range events {
				events[i] = &audit.Event{AccountID: accountID, Action: "order.paid", ResourceType: "order"}
			}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, s, events...); return err }); err != nil {
				t.Fatal(err)
			}
		}
		exportOf := func(a *app.App, accountID int64) []byte {
			var buf bytes.Buffer
			if err := a.Export(ctx, app.OperatorPrincipal(accountID, "test"), app.Client{}, app.ExportRequest{}, func(*app.Export) io.Writer { return &buf }); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}

		// Before: key A signs.
		if err := db.RecordSigningKey(ctx, vkeyA); err != nil {
			t.Fatal(err)
		}
		a := newApp(db, signerA)
		acct, _, err := a.CreateAccount(ctx, origin, app.NewAccount{Name: "Rot", Domain: "rot.example.com",
			OwnerEmail: "owner@rot.example.com", OwnerPassword: ownerPassword, OwnerFirstName: "R", OwnerLastName: "Ot"})
		if err != nil {
			t.Fatal(err)
		}
		appendWith(db, signerA, acct.ID, 10)
		oldExport := exportOf(a, acct.ID)
		oldCP, err := db.Checkpoint(ctx, acct.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		page, err := db.Events(ctx, acct.ID, audit.EventFilter{Action: "order.paid"}, audit.PageRequest{Page: 1, PerPage: 1})
		if err != nil || len(page.Events) == 0 {
			t.Fatal(err)
		}
		event := page.Events[0]

		// The rotation: a service started afresh with key B, A as previous.
		time.Sleep(10 * time.Millisecond)
		db2 := sqltest.Reopen(t, db)
		if err := db2.RecordSigningKey(ctx, vkeyB); err != nil {
			t.Fatal(err)
		}
		b := newApp(db2, signerB)
		appendWith(db2, signerB, acct.ID, 5)
		newCP, err := db2.Checkpoint(ctx, acct.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			cp   *sqlstore.Checkpoint
			key  string
			ok   bool
		}{
			{"old checkpoint, old key", oldCP, vkeyA, true},
			{"old checkpoint, new key", oldCP, vkeyB, false},
			{"new checkpoint, new key", newCP, vkeyB, true},
			{"new checkpoint, old key", newCP, vkeyA, false},
		} {
			if _, err := tlog.OpenCheckpoint([]byte(c.cp.Note), c.key); (err == nil) != c.ok {
				t.Errorf("%s: OpenCheckpoint error %v; want ok=%v", c.name, err, c.ok)
			}
		}
		owner := app.OperatorPrincipal(acct.ID, "test")
		if rep, err := b.VerifyLog(ctx, owner); err != nil || rep.Failure != nil || rep.CheckedCheckpoints < 2 {
			t.Errorf("VerifyLog after the rotation: %+v, %v", rep, err)
		}
		if rep, err := db2.VerifyLog(ctx, acct.ID, vkeyB); err != nil || rep.Failure == nil {
			t.Errorf("VerifyLog with the new key alone: %+v, %v; want the old checkpoints refused", rep, err)
		}
		// What a reader kept from before the rotation still verifies.
		if _, err := export.Verify(bytes.NewReader(oldExport), vkeyA); err != nil {
			t.Errorf("old export with the old key: %v", err)
		}
		p, err := b.ProveEvent(ctx, owner, event.ID, oldCP.Size)
		if err != nil {
			t.Fatal(err)
		}
		if cp, err := tlog.OpenCheckpoint([]byte(p.Checkpoint.Note), vkeyA); err != nil || tlog.VerifyInclusion(p.Proof, cp.Size, cp.Root, event.Seq-1, tlog.Hash(event.LeafHash)) != nil {
			t.Errorf("proof at the old checkpoint: %v", err)
		}
		if _, err := export.Verify(bytes.NewReader(exportOf(b, acct.ID)), vkeyB); err != nil {
			t.Errorf("fresh export with the new key: %v", err)
		}
		// The list of keys.
		keys, err := b.SigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 || keys[0].VerifierKey != vkeyB || !keys[0].Current || keys[1].VerifierKey != vkeyA || keys[1].Current ||
			keys[1].From.IsZero() || !keys[1].Until.Equal(keys[0].From) || !keys[0].Until.IsZero() || !keys[1].From.Before(keys[0].From) {
			t.Errorf("SigningKeys = %+v", keys)
		}
	})
}
