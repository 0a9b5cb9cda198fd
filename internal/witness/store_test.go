package witness

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/sqlstore/storetest"
	"github.com/auditlog/auditlog/internal/tlog"
)

// TestWitnessesRefuseInsiderRewrite runs, on every engine, a log whose
// checkpoints two witnesses cosign, then the insider rewrite of the issue:
// an event changed with its leaf hash, the tiles and the head, every
// checkpoint row deleted, and the service restarted so that it remembers
// nothing and signs the rewritten log. Both witnesses refuse to cosign it,
// so a reader who requires their cosignatures rejects it.
func TestWitnessesRefuseInsiderRewrite(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		signer := sqltest.Signer(t)
		var policy Policy
		var urls []string
		for _, name := range []string{"w1.example.org", "w2.example.org"} {
			ws, url := newWitness(t, name, signer.VerifierKey())
			v, _ := NewVerifier(ws.VerifierKey())
			policy.Witnesses, urls = append(policy.Witnesses, v), append(urls, url)
		}
		policy.Quorum = 2
		a := &audit.Account{Name: "Witnessed", Domain: "witnessed.example.com"}
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
			t.Fatal(err)
		}
		// cosign appends n events and has both witnesses cosign the new
		// checkpoint, proving consistency with the store's proofs.
		cosign := func(db *sqlstore.DB, n int) ([]byte, error) {
			var evs []*audit.Event
			for i := range n {
				evs = append(evs, &audit.Event{AccountID: a.ID, Action: fmt.Sprintf("order_%d", i), ResourceType: "order", Details: "details"})
			}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, signer, evs...); return err }); err != nil {
				t.Fatal(err)
			}
			c, err := db.Checkpoint(ctx, a.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			signed := []byte(c.Note)
			for _, url := range urls {
				prove := func(from int64) ([]tlog.Hash, error) {
					p, err := db.ProveConsistency(ctx, a.ID, from, c.Size)
					if err != nil {
						return nil, err
					}
					return p.Proof, nil
				}
				if signed, err = Cosign(ctx, http.DefaultClient, url, signed, c.Size, prove); err != nil {
					return nil, err
				}
			}
			return signed, nil
		}
		for _, n := range []int{10, 10, 5} {
			signed, err := cosign(db, n)
			if err != nil {
				t.Fatalf("genuine checkpoint: %v", err)
			}
			if _, err := policy.Check(signed, signer.VerifierKey()); err != nil {
				t.Fatalf("genuine checkpoint: %v", err)
			}
		}
		storetest.ForgeLog(t, db, a.ID, 7, 1)
		restarted := sqltest.Reopen(t, db)
		_, err := cosign(restarted, 1)
		var refused *RefusedError
		if !errors.As(err, &refused) || refused.Status != http.StatusUnprocessableEntity {
			t.Fatalf("rewritten log: %v; want both witnesses to refuse with 422", err)
		}
		// The second witness refuses too: ask it directly.
		c, _ := restarted.Checkpoint(ctx, a.ID, 0)
		p, err := restarted.ProveConsistency(ctx, a.ID, 25, c.Size)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Submit(ctx, http.DefaultClient, urls[1], 25, p.Proof, []byte(c.Note)); !errors.As(err, &refused) || refused.Status != http.StatusUnprocessableEntity {
			t.Errorf("second witness: %v; want 422", err)
		}
		if _, err := policy.Check([]byte(c.Note), signer.VerifierKey()); err == nil {
			t.Error("the rewritten log's checkpoint meets the witness policy")
		}
	})
}
