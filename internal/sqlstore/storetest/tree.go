package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/tlog"
)

// buildLog appends n events to a new account in batches of the given size
// (one checkpoint each) and returns the account.
func buildLog(t *testing.T, db *sqlstore.DB, n, batch int) *audit.Account {
	t.Helper()
	a := newAccount(t, db, "tree.example.com")
	u := newUser(t, db, a.ID, "actor@tree.example.com", audit.RoleAdmin)
	for start := 0; start < n; start += batch {
		var evs []*audit.Event
		for i := start; i < min(start+batch, n); i++ {
			evs = append(evs, &audit.Event{
				AccountID: a.ID, UserID: u.ID, ActorEmail: u.Email, ActorName: u.FullName(),
				Action: fmt.Sprintf("action_%d", i%5), ResourceType: "order", ResourceID: fmt.Sprint(i),
				Details: fmt.Sprintf("details %d", i), IPAddress: "198.51.100.4", UserAgent: "test",
			})
		}
		appendEvents(t, db, evs...)
	}
	return a
}

func verify(t *testing.T, db *sqlstore.DB, accountID int64) *tlog.Report {
	t.Helper()
	rep, err := db.VerifyLog(t.Context(), accountID, signer.VerifierKey())
	if err != nil {
		t.Fatalf("VerifyLog: %v", err)
	}
	return rep
}

func testVerifiableLog(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a := buildLog(t, db, 70, 10)
	rep := verify(t, db, a.ID)
	if rep.Failure != nil || rep.CheckedEvents != 70 || rep.CheckedCheckpoints != 7 || rep.TreeSize != 70 {
		t.Fatalf("untouched log: %+v, failure %+v", rep, rep.Failure)
	}
	vkey := signer.VerifierKey()

	// The latest checkpoint is signed and names the account's log.
	latest, err := db.Checkpoint(ctx, a.ID, 0)
	if err != nil || latest.Size != 70 {
		t.Fatalf("latest checkpoint = %+v, %v", latest, err)
	}
	cp, err := tlog.OpenCheckpoint([]byte(latest.Note), vkey)
	if err != nil || cp.Origin != tlog.Origin("test.auditlog", a.ID) || cp.Root != latest.Root {
		t.Fatalf("checkpoint note %q: %+v, %v", latest.Note, cp, err)
	}
	past, err := db.Checkpoint(ctx, a.ID, 30)
	if err != nil || past.Size != 30 {
		t.Fatalf("checkpoint 30 = %+v, %v", past, err)
	}
	if _, err := db.Checkpoint(ctx, a.ID, 31); err != audit.ErrNotFound {
		t.Errorf("checkpoint at an unsigned size: %v; want ErrNotFound", err)
	}

	// Every event proves its inclusion, at the latest and at a past size.
	page := events(t, db, a.ID, audit.EventFilter{}, 1, 100)
	for _, e := range page.Events {
		for _, size := range []int64{0, 30} {
			p, err := db.ProveEvent(ctx, a.ID, e.ID, size)
			if size == 30 && e.Seq > 30 {
				wantCode(t, "proof before the event", err, audit.EINVALID, "size")
				continue
			}
			if err != nil {
				t.Fatalf("ProveEvent(%d, %d): %v", e.ID, size, err)
			}
			if err := tlog.VerifyInclusion(p.Proof, p.Checkpoint.Size, p.Checkpoint.Root, e.Seq-1, e.LeafHash); err != nil {
				t.Errorf("event %d: %v", e.Seq, err)
			}
		}
	}
	// Consistency between any two sizes, signed or not: the roots are
	// those of the trees of the first events, and a stored checkpoint is
	// returned exactly for the sizes that have one.
	var b tlog.Builder
	roots := []tlog.Hash{tlog.EmptyRoot}
	leaves := make([]tlog.Hash, len(page.Events))
	for _, e := range page.Events {
		leaves[e.Seq-1] = e.LeafHash
	}
	for _, h := range leaves {
		b.Add(h)
		roots = append(roots, b.Root())
	}
	for _, tt := range []struct{ from, to int64 }{{10, 0}, {20, 0}, {60, 0}, {70, 0}, {15, 0}, {1, 70}, {15, 33}, {33, 33}, {7, 40}} {
		p, err := db.ProveConsistency(ctx, a.ID, tt.from, tt.to)
		if err != nil {
			t.Fatalf("ProveConsistency(%d, %d): %v", tt.from, tt.to, err)
		}
		wantTo := tt.to
		if wantTo == 0 {
			wantTo = 70
		}
		if p.FromSize != tt.from || p.ToSize != wantTo || p.FromRoot != roots[tt.from] || p.ToRoot != roots[wantTo] {
			t.Errorf("ProveConsistency(%d, %d) = sizes %d→%d; want the roots of the first events", tt.from, tt.to, p.FromSize, p.ToSize)
		}
		if err := tlog.VerifyConsistency(p.Proof, p.FromSize, p.FromRoot, p.ToSize, p.ToRoot); err != nil {
			t.Errorf("consistency %d→%d: %v", tt.from, wantTo, err)
		}
		for _, side := range []struct {
			c    *sqlstore.Checkpoint
			size int64
		}{{p.From, p.FromSize}, {p.To, p.ToSize}} {
			if signed := side.size%10 == 0; (side.c != nil) != signed || signed && (side.c.Size != side.size || side.c.Root != roots[side.size]) {
				t.Errorf("ProveConsistency(%d, %d): checkpoint of size %d = %+v", tt.from, tt.to, side.size, side.c)
			}
		}
	}
	// A checkpoint row deleted leaves its size provable.
	sqltest.Exec(t, db, `DELETE FROM checkpoints WHERE account_id = ? AND tree_size = 30`, a.ID)
	if p, err := db.ProveConsistency(ctx, a.ID, 30, 0); err != nil || p.From != nil || p.FromRoot != roots[30] ||
		tlog.VerifyConsistency(p.Proof, 30, roots[30], 70, p.ToRoot) != nil {
		t.Errorf("consistency from a deleted checkpoint's size: %+v, %v", p, err)
	}
	_, err = db.ProveConsistency(ctx, a.ID, 71, 0)
	wantCode(t, "consistency past the end", err, audit.EINVALID, "from")
	_, err = db.ProveConsistency(ctx, a.ID, 5, 71)
	wantCode(t, "consistency to past the end", err, audit.EINVALID, "to")
	_, err = db.ProveConsistency(ctx, a.ID, 50, 40)
	wantCode(t, "consistency backwards", err, audit.EINVALID, "from")

	// Another account sees none of it.
	other := newAccount(t, db, "other-tree.example.com")
	_, err = db.ProveEvent(ctx, other.ID, page.Events[0].ID, 0)
	wantNotFound(t, "proof of another account's event", err)
}

// testTamperDetection changes the stored log in each way an insider with
// database access might, and checks that VerifyLog finds it, where it is.
func testTamperDetection(t *testing.T, open OpenFunc) {
	other, err := newTestSigner()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		tamper    func(t *testing.T, db *sqlstore.DB, accountID int64)
		wantIndex int64
		reason    string
	}{
		{"change a field", func(t *testing.T, db *sqlstore.DB, a int64) {
			sqltest.Exec(t, db, `UPDATE events SET action = 'nothing_happened' WHERE account_id = ? AND seq = 10`, a)
		}, 9, "fields differ"},
		{"change personal data", func(t *testing.T, db *sqlstore.DB, a int64) {
			sqltest.Exec(t, db, `UPDATE events SET ip_address = '192.0.2.99' WHERE account_id = ? AND seq = 10`, a)
		}, 9, "commitment"},
		{"drop the salt and change personal data", func(t *testing.T, db *sqlstore.DB, a int64) {
			sqltest.Exec(t, db, `UPDATE events SET salt = NULL, details = 'nothing to see', ip_address = '192.0.2.99' WHERE account_id = ? AND seq = 10`, a)
		}, 9, "without a salt"},
		{"change a time", func(t *testing.T, db *sqlstore.DB, a int64) {
			sqltest.Exec(t, db, `UPDATE events SET created_at = (SELECT created_at FROM checkpoints WHERE account_id = ? AND tree_size = 10) WHERE account_id = ? AND seq = 33`, a, a)
		}, 32, "fields differ"},
		{"delete an event in the middle", func(t *testing.T, db *sqlstore.DB, a int64) {
			sqltest.Exec(t, db, `DELETE FROM events WHERE account_id = ? AND seq = 25`, a)
		}, 24, "missing"},
		{"delete the newest events", func(t *testing.T, db *sqlstore.DB, a int64) {
			sqltest.Exec(t, db, `DELETE FROM events WHERE account_id = ? AND seq > 65`, a)
		}, 65, "missing"},
		{"delete the newest events and rewind the head", func(t *testing.T, db *sqlstore.DB, a int64) {
			sqltest.Exec(t, db, `DELETE FROM events WHERE account_id = ? AND seq > 65`, a)
			sqltest.Exec(t, db, `UPDATE log_heads SET size = 65 WHERE account_id = ?`, a)
		}, 65, "missing"},
		{"swap two events", func(t *testing.T, db *sqlstore.DB, a int64) {
			for _, q := range []string{
				`UPDATE events SET seq = -1 WHERE account_id = ? AND seq = 40`,
				`UPDATE events SET seq = 40 WHERE account_id = ? AND seq = 41`,
				`UPDATE events SET seq = 41 WHERE account_id = ? AND seq = -1`,
			} {
				sqltest.Exec(t, db, q, a)
			}
		}, 39, "fields differ"},
		{"change a stored tree hash", func(t *testing.T, db *sqlstore.DB, a int64) {
			sqltest.Exec(t, db, `UPDATE log_tiles SET hashes = ? WHERE account_id = ? AND tile_level = 0 AND tile_index = 1`,
				make([]byte, 16*32), a)
		}, 16, "stored tree hash"},
		{"replace a checkpoint with one signed by another key", func(t *testing.T, db *sqlstore.DB, a int64) {
			note, err := other.Sign(tlog.Checkpoint{Origin: tlog.Origin(other.Name(), a), Size: 50, Root: tlog.EmptyRoot})
			if err != nil {
				t.Fatal(err)
			}
			sqltest.Exec(t, db, `UPDATE checkpoints SET note = ? WHERE account_id = ? AND tree_size = 50`, string(note), a)
		}, 49, "not validly signed"},
	}
	tests = append(tests, struct {
		name      string
		tamper    func(t *testing.T, db *sqlstore.DB, accountID int64)
		wantIndex int64
		reason    string
	}{"rewrite an event, its leaf hash and the whole stored tree", nil, 9, "signed checkpoint's root"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			a := buildLog(t, db, 70, 10)
			if tt.tamper == nil {
				tt.tamper = forgeTree(t, db, a.ID, 10)
			}
			tt.tamper(t, db, a.ID)
			rep := verify(t, db, a.ID)
			if rep.Failure == nil {
				t.Fatalf("tampering went unnoticed: %+v", rep)
			}
			if rep.Failure.Index != tt.wantIndex || !strings.Contains(rep.Failure.Reason, tt.reason) {
				t.Errorf("failure at index %d: %q; want index %d and %q", rep.Failure.Index, rep.Failure.Reason, tt.wantIndex, tt.reason)
			}
		})
	}
}

// newTestSigner returns a new key with the test key's name: the suite's
// own, or another that the service never used.
func newTestSigner() (*tlog.Signer, error) {
	skey, _, err := tlog.GenerateKey("test.auditlog")
	if err != nil {
		return nil, err
	}
	return tlog.NewSigner(skey)
}

// forgeTree returns a tampering that rewrites event seq as a forger with
// full database access but without the signing key would: the event's
// action, its leaf hash, every stored tile and the log head's root, all
// consistent with each other. Only the signed checkpoints still disagree.
func forgeTree(t *testing.T, db *sqlstore.DB, accountID, seq int64) func(t *testing.T, db *sqlstore.DB, accountID int64) {
	page := events(t, db, accountID, audit.EventFilter{}, 1, 100)
	leaves := make([]tlog.Hash, len(page.Events))
	var forged tlog.Hash
	for _, e := range page.Events {
		if e.Seq == seq {
			e.Action = "nothing_happened"
			forged = tlog.LeafOf(e).Hash()
			e.LeafHash = forged
		}
		leaves[e.Seq-1] = e.LeafHash
	}
	store := map[tlog.TileKey][]byte{}
	tiles := tlog.NewTiles(func(keys []tlog.TileKey) (map[tlog.TileKey][]byte, error) {
		out := map[tlog.TileKey][]byte{}
		for _, k := range keys {
			if d, ok := store[k]; ok {
				out[k] = d
			}
		}
		return out, nil
	})
	for i, h := range leaves {
		if err := tiles.Append(int64(i), h); err != nil {
			t.Fatal(err)
		}
	}
	root, err := tiles.Root(int64(len(leaves)))
	if err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T, db *sqlstore.DB, a int64) {
		sqltest.Exec(t, db, `UPDATE events SET action = 'nothing_happened', leaf_hash = ? WHERE account_id = ? AND seq = ?`, forged[:], a, seq)
		sqltest.Exec(t, db, `DELETE FROM log_tiles WHERE account_id = ?`, a)
		for _, c := range tiles.Changed() {
			sqltest.Exec(t, db, `INSERT INTO log_tiles (account_id, tile_level, tile_index, hashes) VALUES (?, ?, ?, ?)`, a, c.Key.Level, c.Key.Index, c.Data)
		}
		sqltest.Exec(t, db, `UPDATE log_heads SET root_hash = ? WHERE account_id = ?`, root[:], a)
	}
}

// ForgeLog rewrites the log of the account as an insider with write access
// to the database but without the signing key would, to hide an event:
// it changes the action of the event at seq, sets its leaf hash to match,
// rewrites every stored tile and the log head's root to match the new
// leaves, and deletes every checkpoint row of a size of at least keepBelow
// (all of them for keepBelow 1), the ones that would expose the rewrite.
// The log then looks whole to anyone who trusts the database.
func ForgeLog(t *testing.T, db *sqlstore.DB, accountID, seq, keepBelow int64) {
	t.Helper()
	forgeTree(t, db, accountID, seq)(t, db, accountID)
	sqltest.Exec(t, db, `DELETE FROM checkpoints WHERE account_id = ? AND tree_size >= ?`, accountID, keepBelow)
}

// testRefusesToSignForgery checks that the service never signs a forged
// log: not in the process that signed the log (which remembers its last
// checkpoint), nor in a new one that finds an older checkpoint signed.
func testRefusesToSignForgery(t *testing.T, open OpenFunc) {
	t.Run("same process", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		a := buildLog(t, db, 40, 10)
		ForgeLog(t, db, a.ID, 10, 1)
		wantRefused(t, db, a.ID, 40)
		// Every later write fails too, and verify reports why.
		wantRefused(t, db, a.ID, 40)
		if rep := verify(t, db, a.ID); rep.Failure == nil || !strings.Contains(rep.Failure.Reason, "stopped signing") {
			t.Errorf("verify after the refusal: %+v", rep.Failure)
		}
		// Other accounts are not affected.
		b := newAccount(t, db, "untouched.example.com")
		appendEvents(t, db, &audit.Event{AccountID: b.ID, Action: "still_recorded"})
		if rep := verify(t, db, b.ID); rep.Failure != nil {
			t.Errorf("another account: %+v", rep.Failure)
		}
	})
	t.Run("new process with an older checkpoint", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		a := buildLog(t, db, 40, 10)
		// Rewrite event 5 and delete every checkpoint after the first
		// (size 10): a service started afresh on this database still
		// finds that checkpoint validly signed, and the rewritten tree does
		// not extend it.
		ForgeLog(t, db, a.ID, 5, 11)
		wantRefused(t, sqltest.Reopen(t, db), a.ID, 40)
	})
}

// wantRefused checks that an append to the account fails because its log
// does not extend the last signed checkpoint, and writes nothing.
func wantRefused(t *testing.T, db *sqlstore.DB, accountID, size int64) {
	t.Helper()
	err := db.Update(t.Context(), func(tx *sqlstore.Tx) error {
		_, err := tx.AppendEvents(t.Context(), signer, &audit.Event{AccountID: accountID, Action: "after_the_forgery"})
		return err
	})
	if !errors.Is(err, tlog.ErrFork) || !strings.Contains(fmt.Sprint(err), "Recording is stopped") {
		t.Fatalf("append to a forged log: %v; want the service to refuse to sign it", err)
	}
	if rep := verify(t, db, accountID); rep.TreeSize != size {
		t.Errorf("the refused append changed the log: size %d; want %d", rep.TreeSize, size)
	}
}
