package app_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/tlog"
	"github.com/auditlog/auditlog/internal/witness"
	"github.com/auditlog/auditlog/internal/witness/witnesstest"
)

// testWitness is an independent witness (package witness, its own SQLite
// state) serving the tlog-witness protocol on a real loopback listener.
type testWitness struct {
	url, vkey string
	verifier  *witness.Verifier
}

// startWitness starts a witness of the logs of the verifier key logKey.
func startWitness(t *testing.T, name, logKey string) *testWitness {
	t.Helper()
	url, vkey := witnesstest.Start(t, name, logKey)
	v, err := witness.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return &testWitness{url: url, vkey: vkey, verifier: v}
}

// withWitnesses configures the witnesses and the quorum.
func withWitnesses(quorum int, ws ...*testWitness) func(*config.Config) {
	return func(c *config.Config) {
		for _, w := range ws {
			c.Witnesses = append(c.Witnesses, config.Witness{URL: w.url, Key: w.vkey})
		}
		c.WitnessQuorum = quorum
	}
}

// policy is the reader's policy: all the witnesses must cosign.
func policy(ws ...*testWitness) witness.Policy {
	p := witness.Policy{Quorum: len(ws)}
	for _, w := range ws {
		p.Witnesses = append(p.Witnesses, w.verifier)
	}
	return p
}

// waitCosigned waits until the account's latest checkpoint carries n
// cosignatures, and returns it.
func waitCosigned(t *testing.T, db *sqlstore.DB, accountID int64, n int) *sqlstore.Checkpoint {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		cp, err := db.Checkpoint(t.Context(), accountID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(cp.CosignedBy) >= n {
			return cp
		}
		if time.Now().After(deadline) {
			t.Fatalf("the checkpoint of size %d carries %d cosignatures after 20 s; want %d", cp.Size, len(cp.CosignedBy), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// appendN appends n events to the account's log in one transaction.
func appendN(t *testing.T, db *sqlstore.DB, accountID int64, n int) {
	t.Helper()
	events := make([]*audit.Event, n)
	for i := range events {
		events[i] = &audit.Event{AccountID: accountID, Action: "order.updated", ResourceType: "order"}
	}
	if err := db.Update(t.Context(), func(tx *sqlstore.Tx) error {
		_, err := tx.AppendEvents(t.Context(), sqltest.Signer(t), events...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestWitnessCosigning checks the service's side of witnessing on every
// engine: each new checkpoint gets cosigned by both witnesses, from the
// size each last cosigned; the checkpoint reads serve the cosignatures in
// the note; and a fresh export carries a checkpoint that a reader's
// witness policy accepts. A second process on the same database asks the
// same witnesses at the same time, and both keep cosigning.
func TestWitnessCosigning(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		vkey := sqltest.Signer(t).VerifierKey()
		w1, w2 := startWitness(t, "w1.example", vkey), startWitness(t, "w2.example", vkey)
		f := newFixture(t, db, withWitnesses(2, w1, w2))
		tn := f.newTenant("witnessed")
		id := tn.account.ID
		cp := waitCosigned(t, db, id, 2)
		if _, err := policy(w1, w2).Check([]byte(cp.Note), vkey); err != nil {
			t.Fatalf("first checkpoint (size %d): %v\n%s", cp.Size, err, cp.Note)
		}
		if !slices.Equal(cp.CosignedBy, []string{tlog.KeyName(w1.vkey) + "+" + strings.Split(w1.vkey, "+")[1], tlog.KeyName(w2.vkey) + "+" + strings.Split(w2.vkey, "+")[1]}) {
			t.Errorf("CosignedBy = %v", cp.CosignedBy)
		}
		// A burst of appends: the witnesses cosign the latest checkpoint,
		// proving consistency from the size they last cosigned.
		first := cp.Size
		for range 5 {
			appendN(t, db, id, 3)
		}
		cp = waitCosigned(t, db, id, 2)
		if cp.Size != first+15 {
			t.Errorf("cosigned size %d; want %d", cp.Size, first+15)
		}
		for _, w := range []*testWitness{w1, w2} {
			ws, err := app.NewWitnesses([]config.Witness{{URL: w.url, Key: w.vkey}})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := db.LastCosigned(t.Context(), id, ws[0].ID); err != nil || n != cp.Size {
				t.Errorf("LastCosigned(%s) = %d, %v; want %d", ws[0].ID, n, err, cp.Size)
			}
		}
		// The older checkpoint keeps its cosignatures; proofs serve them.
		if old, err := db.Checkpoint(t.Context(), id, first); err != nil || len(old.CosignedBy) != 2 {
			t.Errorf("checkpoint %d: %+v, %v", first, old, err)
		}
		if p, err := db.ProveConsistency(t.Context(), id, first, 0); err != nil || len(p.From.CosignedBy) != 2 || len(p.To.CosignedBy) != 2 {
			t.Errorf("consistency proof %d→latest: %+v, %v", first, p, err)
		}

		// A second process on the same database, appending at the same
		// time as the first.
		other := sqltest.Reopen(t, db)
		g := newFixture(t, other, withWitnesses(2, w1, w2))
		for range 4 {
			appendN(t, db, id, 2)
			appendN(t, other, id, 2)
		}
		cp = waitCosigned(t, db, id, 2)
		if _, err := policy(w1, w2).Check([]byte(cp.Note), vkey); err != nil {
			t.Fatalf("after two processes: %v", err)
		}
		_ = g

		// A fresh export carries a cosigned checkpoint of the whole log.
		var buf bytes.Buffer
		appendN(t, db, id, 1)
		if err := f.app.Export(f.ctx, tn.p, origin, app.ExportRequest{}, func(*app.Export) io.Writer { return &buf }); err != nil {
			t.Fatal(err)
		}
		rep, err := export.Verify(bytes.NewReader(buf.Bytes()), vkey)
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		if _, err := policy(w1, w2).Check([]byte(rep.Checkpoint), vkey); err != nil {
			t.Fatalf("export's checkpoint: %v\n%s", err, rep.Checkpoint)
		}
		if rep.TreeSize != cp.Size+1 {
			t.Errorf("export of size %d; want the fresh size %d", rep.TreeSize, cp.Size+1)
		}
	})
}

// TestWitnessUnavailable checks, on SQLite, that a witness that fails
// (503) is retried with backoff until it answers, that writes never wait
// on it, and that the cosigner never has two requests for one account in
// flight at once, however many appends queue up.
func TestWitnessUnavailable(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	vkey := sqltest.Signer(t).VerifierKey()
	w := startWitness(t, "flaky.example", vkey)
	var mu sync.Mutex
	down, inflight, maxInflight, requests := true, 0, 0, 0
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		inflight++
		maxInflight = max(maxInflight, inflight)
		isDown := down
		mu.Unlock()
		defer func() { mu.Lock(); inflight--; mu.Unlock() }()
		if isDown {
			http.Error(rw, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		time.Sleep(20 * time.Millisecond) // hold the request in flight a little
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, w.url+r.URL.Path, r.Body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			rw.Header()[k] = v
		}
		rw.WriteHeader(resp.StatusCode)
		io.Copy(rw, resp.Body)
	}))
	t.Cleanup(proxy.Close)
	f := newFixture(t, db, withWitnesses(1, &testWitness{url: proxy.URL, vkey: w.vkey, verifier: w.verifier}))
	tn := f.newTenant("flaky")
	start := time.Now()
	for range 20 {
		appendN(t, db, tn.account.ID, 1)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("20 appends took %s with the witness down", d)
	}
	time.Sleep(1500 * time.Millisecond) // a few failed attempts
	mu.Lock()
	failed := requests
	down = false
	mu.Unlock()
	if failed == 0 {
		t.Fatal("the cosigner never tried the witness")
	}
	cp := waitCosigned(t, db, tn.account.ID, 1)
	if _, err := policy(w).Check([]byte(cp.Note), vkey); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		appendN(t, db, tn.account.ID, 1)
	}
	waitCosigned(t, db, tn.account.ID, 1)
	mu.Lock()
	defer mu.Unlock()
	if maxInflight != 1 {
		t.Errorf("%d requests in flight at once for one account; want 1", maxInflight)
	}
	if failed > 10 {
		t.Errorf("%d requests in 1.5 s to a failing witness: no backoff", failed)
	}
}

// TestKeptCheckpointOutlivesDeletedRow checks issue 11's "a deleted
// checkpoint row no longer stops a kept checkpoint from being proved", on
// every engine: a reader keeps a signed checkpoint; the service's row of
// that size is deleted; the consistency proof from the kept size to the
// latest checkpoint still comes, and checks against the kept root.
func TestKeptCheckpointOutlivesDeletedRow(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("kept")
		appendN(t, db, tn.account.ID, 7)
		kept, err := f.app.Checkpoint(f.ctx, tn.p, 0)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := tlog.OpenCheckpoint([]byte(kept.Note), sqltest.Signer(t).VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, db, tn.account.ID, 5)
		sqltest.Exec(t, db, `DELETE FROM checkpoints WHERE account_id = ? AND tree_size = ?`, tn.account.ID, cp.Size)
		if _, err := f.app.Checkpoint(f.ctx, tn.p, cp.Size); err == nil {
			t.Fatal("the checkpoint row was not deleted")
		}
		p, err := f.app.ProveConsistency(f.ctx, tn.p, cp.Size, 0)
		if err != nil {
			t.Fatalf("consistency from the kept size %d after its row was deleted: %v", cp.Size, err)
		}
		if p.From != nil || p.To == nil || p.ToSize != cp.Size+5 {
			t.Errorf("proof %d→%d: from %+v to %+v", p.FromSize, p.ToSize, p.From, p.To)
		}
		if err := tlog.VerifyConsistency(p.Proof, cp.Size, cp.Root, p.To.Size, p.To.Root); err != nil {
			t.Errorf("the proof does not lead from the kept root: %v", err)
		}
	})
}
