package tlog

import (
	"bytes"
	"testing"

	sumdb "golang.org/x/mod/sumdb/tlog"
)

// FuzzOpenCheckpoint feeds arbitrary notes to the checkpoint verifier. The
// only checkpoint it may ever accept is the one the key really signed.
func FuzzOpenCheckpoint(f *testing.F) {
	skey, vkey, _ := GenerateKey("fuzz.example")
	s, _ := NewSigner(skey)
	genuine := Checkpoint{Origin: Origin("fuzz.example", 1), Size: 5, Root: leafHash(5)}
	signed, _ := s.Sign(genuine)
	f.Add(signed)
	f.Add(bytes.Replace(signed, []byte("\n5\n"), []byte("\n6\n"), 1))
	f.Add([]byte("fuzz.example/accounts/1\n5\nAAAA\n\n— fuzz.example AAAA\n"))
	f.Add(append(append([]byte{}, signed...), []byte("— other.example AAAAAAAAAAAAAAAA\n")...))
	f.Fuzz(func(t *testing.T, note []byte) {
		c, err := OpenCheckpoint(note, vkey)
		if err == nil && c != genuine {
			t.Fatalf("accepted a checkpoint the key never signed: %+v", c)
		}
	})
}

// FuzzVerifyInclusion feeds arbitrary proofs, indexes and leaves to the
// inclusion check against a real tree. Only the true leaf at its true index
// with its true proof may pass.
func FuzzVerifyInclusion(f *testing.F) {
	const size = 37
	store := buildTree(f, size, size)
	tiles := NewTiles(store.load)
	root, _ := tiles.Root(size)
	proofs := make([][]Hash, size)
	for i := range proofs {
		proofs[i], _ = tiles.InclusionProof(size, int64(i))
		f.Add(int64(i), leafHash(int64(i)).String(), flatten(proofs[i]))
	}
	f.Add(int64(3), leafHash(4).String(), flatten(proofs[3]))
	f.Add(int64(-1), leafHash(0).String(), []byte{})
	f.Fuzz(func(t *testing.T, index int64, leafText string, proofBytes []byte) {
		if len(proofBytes)%32 != 0 {
			return
		}
		var leaf Hash
		copy(leaf[:], leafText)
		if h, err := sumdb.ParseHash(leafText); err == nil {
			leaf = h
		}
		proof := make([]Hash, len(proofBytes)/32)
		for i := range proof {
			copy(proof[i][:], proofBytes[i*32:])
		}
		if VerifyInclusion(proof, size, root, index, leaf) != nil {
			return
		}
		if index < 0 || index >= size || leaf != leafHash(index) || !bytes.Equal(flatten(proof), flatten(proofs[index])) {
			t.Fatalf("accepted a forged inclusion proof: index %d leaf %x", index, leaf)
		}
	})
}

// FuzzDecodeLeaf checks that the leaf decoder accepts exactly the canonical
// encodings: whatever it accepts re-encodes to the same bytes.
func FuzzDecodeLeaf(f *testing.F) {
	l := &Leaf{AccountID: 1, Seq: 2, UserID: 3, Action: "a", ResourceType: "b", ResourceID: "c"}
	f.Add(l.Encode())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeLeaf(b)
		if err != nil {
			return
		}
		if !bytes.Equal(l.Encode(), b) {
			t.Fatalf("DecodeLeaf accepted a non-canonical encoding %x", b)
		}
	})
}

func flatten(hs []Hash) []byte {
	var out []byte
	for _, h := range hs {
		out = append(out, h[:]...)
	}
	return out
}
