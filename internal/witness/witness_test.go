package witness

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/tlog"
)

// memTree is an account's tree in memory, signed by a log key.
type memTree struct {
	tiles  map[tlog.TileKey][]byte
	leaves []tlog.Hash
	signer *tlog.Signer
}

func newMemTree(t *testing.T, signer *tlog.Signer) *memTree {
	return &memTree{tiles: map[tlog.TileKey][]byte{}, signer: signer}
}

func (m *memTree) view() *tlog.Tiles {
	return tlog.NewTiles(func(keys []tlog.TileKey) (map[tlog.TileKey][]byte, error) {
		out := map[tlog.TileKey][]byte{}
		for _, k := range keys {
			if d, ok := m.tiles[k]; ok {
				out[k] = d
			}
		}
		return out, nil
	})
}

// add appends n leaves named after prefix and returns the signed
// checkpoint of the new size for account 7.
func (m *memTree) add(t *testing.T, prefix string, n int) []byte {
	t.Helper()
	tiles := m.view()
	for i := range n {
		h := tlog.Hash(tlog.EmptyRoot)
		copy(h[:], fmt.Sprintf("%s-%d", prefix, len(m.leaves)))
		if err := tiles.Append(int64(len(m.leaves)), h); err != nil {
			t.Fatal(err)
		}
		m.leaves = append(m.leaves, h)
		_ = i
	}
	for _, c := range tiles.Changed() {
		m.tiles[c.Key] = c.Data
	}
	return m.sign(t)
}

func (m *memTree) sign(t *testing.T) []byte {
	t.Helper()
	root, err := m.view().Root(int64(len(m.leaves)))
	if err != nil {
		t.Fatal(err)
	}
	note, err := m.signer.Sign(tlog.Checkpoint{Origin: tlog.Origin(m.signer.Name(), 7), Size: int64(len(m.leaves)), Root: root})
	if err != nil {
		t.Fatal(err)
	}
	return note
}

func (m *memTree) prove(from int64) ([]tlog.Hash, error) {
	return m.view().ConsistencyProof(from, int64(len(m.leaves)))
}

func newLogSigner(t *testing.T, name string) *tlog.Signer {
	skey, _, err := tlog.GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tlog.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newWitness(t *testing.T, name string, logKeys ...string) (*Signer, string) {
	skey, _, err := GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Open(t.Context(), signer, filepath.Join(t.TempDir(), "witness.db"), logKeys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	return signer, srv.URL
}

func TestWitness(t *testing.T) {
	ctx := t.Context()
	logSigner := newLogSigner(t, "audit.example.com")
	wSigner, url := newWitness(t, "witness.example.org", logSigner.VerifierKey())
	wv, err := NewVerifier(wSigner.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	policy := Policy{Witnesses: []*Verifier{wv}, Quorum: 1}
	client := http.DefaultClient
	tree := newMemTree(t, logSigner)

	// The first checkpoint is cosigned from size 0, the next ones by proof.
	for _, n := range []int{5, 1, 30, 17} {
		signed := tree.add(t, "real", n)
		cosigned, err := Cosign(ctx, client, url, signed, int64(len(tree.leaves)), tree.prove)
		if err != nil {
			t.Fatalf("size %d: %v", len(tree.leaves), err)
		}
		if _, err := policy.Check(cosigned, logSigner.VerifierKey()); err != nil {
			t.Fatalf("size %d: cosigned checkpoint fails the policy: %v\n%s", len(tree.leaves), err, cosigned)
		}
		if _, err := policy.Check(signed, logSigner.VerifierKey()); err == nil {
			t.Errorf("a checkpoint without cosignature passes the policy")
		}
	}
	size := int64(len(tree.leaves))

	// A forked history (one leaf changed, re-signed with the log's key, as
	// an insider holding the key would) is refused at every size.
	fork := newMemTree(t, logSigner)
	fork.add(t, "real", 10)
	fork.add(t, "forged", 1)
	fork.add(t, "real", int(size)-11)
	for _, extra := range []int{0, 3} {
		signed := fork.add(t, "more", extra)
		_, err := Cosign(ctx, client, url, signed, int64(len(fork.leaves)), fork.prove)
		var refused *RefusedError
		if !errors.As(err, &refused) || (refused.Status != http.StatusUnprocessableEntity && refused.Status != http.StatusConflict) {
			t.Errorf("forked checkpoint of size %d: %v; want 409 or 422", len(fork.leaves), err)
		}
	}
	// A rollback to a smaller size is refused.
	small := newMemTree(t, logSigner)
	signed := small.add(t, "real", 4)
	if _, err := Cosign(ctx, client, url, signed, 4, small.prove); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("rolled-back checkpoint: %v", err)
	}

	// Protocol answers.
	real := tree.sign(t)
	other := newLogSigner(t, "audit.example.com") // same name, another key
	stranger := newLogSigner(t, "elsewhere.example.com")
	for _, tt := range []struct {
		name   string
		old    int64
		signed []byte
		status int
	}{
		{"stale old size", 5, real, http.StatusConflict},
		{"old size past the checkpoint", size + 1, real, http.StatusBadRequest},
		{"unknown origin", 0, newMemTree(t, stranger).add(t, "x", 1), http.StatusNotFound},
		{"not the log's key", size, newMemTree(t, other).add(t, "real", int(size)), http.StatusForbidden},
		{"not a note", 0, []byte("hello\n"), http.StatusBadRequest},
	} {
		_, err := Submit(ctx, client, url, tt.old, nil, tt.signed)
		var refused *RefusedError
		var conflict *ConflictError
		switch {
		case tt.status == http.StatusConflict && errors.As(err, &conflict):
			if conflict.Size != size {
				t.Errorf("%s: 409 with size %d; want %d", tt.name, conflict.Size, size)
			}
		case errors.As(err, &refused) && refused.Status == tt.status:
		default:
			t.Errorf("%s: %v; want status %d", tt.name, err, tt.status)
		}
	}
}

func TestKeys(t *testing.T) {
	skey, vkey, err := GenerateKey("w.example")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(skey)
	if err != nil || s.VerifierKey() != vkey {
		t.Fatalf("signer %v: %v", s, err)
	}
	if _, err := NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "w.example+00000000+AAAA", strings.Replace(vkey, "w.example", "x.example", 1)} {
		if _, err := NewVerifier(bad); err == nil {
			t.Errorf("NewVerifier(%q) accepted", bad)
		}
	}
	if _, _, err := GenerateKey("bad name"); err == nil {
		t.Error("a name with a space was accepted")
	}
}

// TestWitnessKeyRotation checks that a witness given a log's old and new
// key (same name, so the same origins) keeps cosigning across the
// rotation, from the state the old key's checkpoints left, and that a
// witness given only the old key refuses the new key's checkpoint.
func TestWitnessKeyRotation(t *testing.T) {
	ctx := t.Context()
	oldKey := newLogSigner(t, "audit.example.com")
	newKey := newLogSigner(t, "audit.example.com")
	_, both := newWitness(t, "w-both.example.org", oldKey.VerifierKey(), newKey.VerifierKey())
	_, oldOnly := newWitness(t, "w-old.example.org", oldKey.VerifierKey())
	tree := newMemTree(t, oldKey)
	signed := tree.add(t, "before", 12)
	for _, u := range []string{both, oldOnly} {
		if _, err := Cosign(ctx, http.DefaultClient, u, signed, int64(len(tree.leaves)), tree.prove); err != nil {
			t.Fatalf("old key's checkpoint at %s: %v", u, err)
		}
	}
	tree.signer = newKey
	signed = tree.add(t, "after", 5)
	if _, err := Cosign(ctx, http.DefaultClient, both, signed, int64(len(tree.leaves)), tree.prove); err != nil {
		t.Errorf("new key's checkpoint at the witness that has both keys: %v", err)
	}
	var refused *RefusedError
	if _, err := Cosign(ctx, http.DefaultClient, oldOnly, signed, int64(len(tree.leaves)), tree.prove); !errors.As(err, &refused) || refused.Status != http.StatusForbidden {
		t.Errorf("new key's checkpoint at the witness that has the old key only: %v; want a 403 refusal", err)
	}
}
