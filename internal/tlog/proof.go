package tlog

import (
	"crypto/sha256"
	"fmt"

	sumdb "golang.org/x/mod/sumdb/tlog"
)

// EmptyRoot is the root hash of the empty tree, SHA-256 of nothing (RFC 6962).
var EmptyRoot = Hash(sha256.Sum256(nil))

// VerifyInclusion checks that leaf is record index (0-based) of the tree of
// the given size and root.
func VerifyInclusion(proof []Hash, size int64, root Hash, index int64, leaf Hash) error {
	if index < 0 || index >= size {
		return fmt.Errorf("tlog: index %d is outside a tree of size %d", index, size)
	}
	if err := sumdb.CheckRecord(proof, size, root, index, leaf); err != nil {
		return fmt.Errorf("tlog: inclusion proof of record %d in tree of size %d: %w", index, size, err)
	}
	return nil
}

// VerifyConsistency checks that the tree of size from and root fromRoot is a
// prefix of the tree of size to and root toRoot.
func VerifyConsistency(proof []Hash, from int64, fromRoot Hash, to int64, toRoot Hash) error {
	if from < 1 || from > to {
		return fmt.Errorf("tlog: no consistency proof from size %d to size %d", from, to)
	}
	if err := sumdb.CheckTree(proof, to, toRoot, from, fromRoot); err != nil {
		return fmt.Errorf("tlog: consistency of tree size %d with size %d: %w", from, to, err)
	}
	return nil
}

// Builder computes the roots of a tree from its leaves in order, keeping only
// the hashes of the complete subtrees on the right edge: O(log n) memory,
// one node hash per leaf on average.
type Builder struct {
	size  int64
	stack []Hash // roots of perfect subtrees, largest (leftmost) first
}

// Add appends the next leaf hash.
func (b *Builder) Add(leaf Hash) {
	b.stack = append(b.stack, leaf)
	b.size++
	for n := b.size; n&1 == 0; n >>= 1 {
		k := len(b.stack)
		b.stack[k-2] = sumdb.NodeHash(b.stack[k-2], b.stack[k-1])
		b.stack = b.stack[:k-1]
	}
}

// Size returns the number of leaves added.
func (b *Builder) Size() int64 { return b.size }

// Root returns the root hash of the leaves added so far.
func (b *Builder) Root() Hash {
	if len(b.stack) == 0 {
		return EmptyRoot
	}
	h := b.stack[len(b.stack)-1]
	for i := len(b.stack) - 2; i >= 0; i-- {
		h = sumdb.NodeHash(b.stack[i], h)
	}
	return h
}
