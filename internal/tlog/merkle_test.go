package tlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	sumdb "golang.org/x/mod/sumdb/tlog"
)

// memTiles is a tile store in memory, standing in for the database table.
type memTiles map[TileKey][]byte

func (m memTiles) load(keys []TileKey) (map[TileKey][]byte, error) {
	out := map[TileKey][]byte{}
	for _, k := range keys {
		if d, ok := m[k]; ok {
			out[k] = d
		}
	}
	return out, nil
}

func (m memTiles) save(changed []ChangedTile) {
	for _, c := range changed {
		if _, stored := m[c.Key]; stored == c.New {
			panic(fmt.Sprintf("tile %v: New = %v but stored = %v", c.Key, c.New, stored))
		}
		m[c.Key] = append([]byte(nil), c.Data...)
	}
}

func leafHash(i int64) Hash {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return sumdb.RecordHash(b[:])
}

// buildTree appends n leaves in batches of the given size, saving the
// changed tiles after each batch as a store would, and checks each batch's
// root against a Builder that never touches tiles.
func buildTree(t testing.TB, n, batch int64) memTiles {
	store := memTiles{}
	var b Builder
	for start := int64(0); start < n; start += batch {
		tiles := NewTiles(store.load)
		end := min(start+batch, n)
		for i := start; i < end; i++ {
			if err := tiles.Append(i, leafHash(i)); err != nil {
				t.Fatalf("Append(%d): %v", i, err)
			}
			b.Add(leafHash(i))
		}
		root, err := tiles.Root(end)
		if err != nil {
			t.Fatal(err)
		}
		if root != b.Root() {
			t.Fatalf("size %d: tile root %x != builder root %x", end, root, b.Root())
		}
		store.save(tiles.Changed())
	}
	return store
}

func TestTilesAgreeWithTlog(t *testing.T) {
	for _, batch := range []int64{1, 3, 16, 17, 100} {
		t.Run(fmt.Sprint("batch ", batch), func(t *testing.T) {
			const n = 300
			store := buildTree(t, n, batch)
			// The same tree through tlog's own storage layout.
			var hashes []Hash
			r := sumdb.HashReaderFunc(func(idx []int64) ([]Hash, error) {
				out := make([]Hash, len(idx))
				for i, x := range idx {
					out[i] = hashes[x]
				}
				return out, nil
			})
			for i := int64(0); i < n; i++ {
				hs, err := sumdb.StoredHashes(i, binaryLeaf(i), r)
				if err != nil {
					t.Fatal(err)
				}
				hashes = append(hashes, hs...)
			}
			tiles := NewTiles(store.load)
			for _, size := range []int64{1, 2, 15, 16, 17, 255, 256, 257, 299, 300} {
				want, _ := sumdb.TreeHash(size, r)
				got, err := tiles.Root(size)
				if err != nil || got != want {
					t.Fatalf("Root(%d) = %x, %v; want %x", size, got, err, want)
				}
				for _, idx := range []int64{0, size / 2, size - 1} {
					p, err := tiles.InclusionProof(size, idx)
					if err != nil {
						t.Fatal(err)
					}
					if err := VerifyInclusion(p, size, want, idx, leafHash(idx)); err != nil {
						t.Errorf("inclusion of %d in %d: %v", idx, size, err)
					}
					if err := VerifyInclusion(p, size, want, idx, leafHash(idx+1)); err == nil {
						t.Errorf("inclusion proof of %d accepted the wrong leaf", idx)
					}
				}
				for _, from := range []int64{1, size / 2, size} {
					if from < 1 {
						continue
					}
					p, err := tiles.ConsistencyProof(from, size)
					if err != nil {
						t.Fatal(err)
					}
					fromRoot, _ := sumdb.TreeHash(from, r)
					if err := VerifyConsistency(p, from, fromRoot, size, want); err != nil {
						t.Errorf("consistency %d→%d: %v", from, size, err)
					}
				}
			}
			if _, err := tiles.Root(n + 1); !errors.Is(err, ErrMissingHash) {
				t.Errorf("Root past the end: %v; want ErrMissingHash", err)
			}
		})
	}
}

func binaryLeaf(i int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return b[:]
}

func TestAppendOutOfOrder(t *testing.T) {
	store := buildTree(t, 20, 20)
	tiles := NewTiles(store.load)
	if err := tiles.Append(19, leafHash(19)); err == nil {
		t.Fatal("re-appending record 19 succeeded; want an error (it would fork the tree)")
	}
}

func TestEmptyRoot(t *testing.T) {
	if EmptyRoot != sha256.Sum256(nil) || (&Builder{}).Root() != EmptyRoot {
		t.Fatal("empty tree root is not SHA-256 of the empty string")
	}
}

func TestLeafRoundTrip(t *testing.T) {
	p := Personal{ActorEmail: "owner@sample-store.com", ActorName: "Olivia Owner", IPAddress: "203.0.113.10", UserAgent: "curl/8", Details: "x"}
	salt := bytes.Repeat([]byte{7}, SaltSize)
	l := &Leaf{Version: LeafVersion, AccountID: 1, Seq: 42, CreatedAt: time.Date(2024, 1, 1, 12, 0, 0, 123456000, time.UTC), UserID: 3,
		OccurredAt: time.Date(2023, 12, 31, 23, 0, 0, 1000, time.UTC), ActorType: "user", EventID: "evt_1", Outcome: "success",
		Action: "order_refunded", ResourceType: "order", ResourceID: "1001", Commitment: p.Commit(salt)}
	got, err := DecodeLeaf(l.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if *got != *l {
		t.Fatalf("DecodeLeaf(Encode(l)) = %+v; want %+v", got, l)
	}
	// Every personal field changes the commitment; so does the salt.
	for _, q := range []Personal{
		{ActorEmail: "x", ActorName: p.ActorName, IPAddress: p.IPAddress, UserAgent: p.UserAgent, Details: p.Details},
		{ActorEmail: p.ActorEmail, ActorName: p.ActorName + " ", IPAddress: p.IPAddress, UserAgent: p.UserAgent, Details: p.Details},
		{ActorEmail: p.ActorEmail, ActorName: p.ActorName, IPAddress: "", UserAgent: p.UserAgent, Details: p.Details},
		{ActorEmail: p.ActorEmail, ActorName: p.ActorName, IPAddress: p.IPAddress, UserAgent: "", Details: p.Details},
		{ActorEmail: p.ActorEmail, ActorName: p.ActorName, IPAddress: p.IPAddress, UserAgent: p.UserAgent, Details: "y"},
		// Moving bytes between fields must not collide.
		{ActorEmail: p.ActorEmail + p.ActorName, IPAddress: p.IPAddress, UserAgent: p.UserAgent, Details: p.Details},
		{ActorEmail: p.ActorEmail, ActorName: p.ActorName, IPAddress: p.IPAddress, UserAgent: p.UserAgent, Details: p.Details, Metadata: "{}"},
		{ActorEmail: p.ActorEmail, ActorName: p.ActorName, IPAddress: p.IPAddress, UserAgent: p.UserAgent, Details: p.Details, Changes: "[]"},
		{ActorID: "x", ActorEmail: p.ActorEmail, ActorName: p.ActorName, IPAddress: p.IPAddress, UserAgent: p.UserAgent, Details: p.Details},
	} {
		if q.Commit(salt) == l.Commitment {
			t.Errorf("commitment of %+v equals the original", q)
		}
	}
	if p.Commit(bytes.Repeat([]byte{8}, SaltSize)) == l.Commitment {
		t.Error("commitment does not depend on the salt")
	}
	enc := l.Encode()
	for _, bad := range [][]byte{nil, {2}, enc[:len(enc)-1], append(append([]byte{}, enc...), 0)} {
		if _, err := DecodeLeaf(bad); err == nil {
			t.Errorf("DecodeLeaf(%x) succeeded", bad)
		}
	}
}

func TestCheckpoint(t *testing.T) {
	skey, vkey, err := GenerateKey("audit.example.com")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	if s.VerifierKey() != vkey {
		t.Fatalf("derived verifier key %q; want %q", s.VerifierKey(), vkey)
	}
	c := Checkpoint{Origin: Origin(s.Name(), 7), Size: 12, Root: leafHash(1)}
	signed, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(signed), "audit.example.com/accounts/7\n12\n") {
		t.Errorf("signed note %q does not start with the origin and size", signed)
	}
	got, err := OpenCheckpoint(signed, vkey)
	if err != nil || got != c {
		t.Fatalf("OpenCheckpoint = %+v, %v; want %+v", got, err, c)
	}
	_, otherV, _ := GenerateKey("audit.example.com")
	if _, err := OpenCheckpoint(signed, otherV); err == nil {
		t.Error("checkpoint verified under another key with the same name")
	}
	tampered := bytes.Replace(signed, []byte("\n12\n"), []byte("\n13\n"), 1)
	if _, err := OpenCheckpoint(tampered, vkey); err == nil {
		t.Error("checkpoint with an altered size verified")
	}
}

func TestParseCheckpointBody(t *testing.T) {
	root := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	good := "o/accounts/1\n5\n" + root + "\n"
	if _, err := ParseCheckpointBody(good); err != nil {
		t.Fatalf("valid body: %v", err)
	}
	for _, bad := range []string{
		"", "o\n5\n" + root, "o\n5\n" + root + "\nextra\n", "\n5\n" + root + "\n", "o\n05\n" + root + "\n",
		"o\n-5\n" + root + "\n", "o\n+5\n" + root + "\n", "o\n5\n" + root[:len(root)-1] + "\n", "o\n5\nAAAA\n",
		"o\x00\n5\n" + root + "\n", "o\n99999999999999999999\n" + root + "\n",
	} {
		if c, err := ParseCheckpointBody(bad); err == nil {
			t.Errorf("ParseCheckpointBody(%q) = %+v; want an error", bad, c)
		}
	}
}
