package tlog

import (
	"fmt"
	"math/bits"

	sumdb "golang.org/x/mod/sumdb/tlog"
)

// Pruning keeps a log provable after its oldest events are removed.
//
// A pruned log has lost the events with index below some size P (seq ≤ P)
// but keeps every tree hash: the tiles are never pruned. So every
// inclusion proof of a remaining event and every consistency proof between
// any two sizes are computed as before, from the tiles alone. What a
// verifier of the remaining events needs in place of the removed ones is
// the tree's frontier at P: the roots of the perfect subtrees that make up
// the tree of size P, one per set bit of P, largest (leftmost) first (the
// compact range [0, P)). Starting a Builder from it, and adding the
// remaining leaves, recomputes every root after P, so the walk checks the
// remaining events against every signed checkpoint as it would a whole log.
// The frontier needs no trust of its own: a wrong hash gives a root that no
// signed checkpoint holds.

// FrontierIndexes returns the stored-hash indexes (sumdb.StoredHashIndex) of
// the frontier of the tree of the given size, largest subtree first.
func FrontierIndexes(size int64) []int64 {
	var out []int64
	var start int64
	for level := 62; level >= 0; level-- {
		if size&(1<<level) == 0 {
			continue
		}
		out = append(out, sumdb.StoredHashIndex(level, start>>level))
		start += 1 << level
	}
	return out
}

// Frontier returns the frontier of the tree of the given size, read from the
// stored tiles: the hashes a verifier of the events after size starts from.
func (s *Tiles) Frontier(size int64) ([]Hash, error) {
	idx := FrontierIndexes(size)
	if len(idx) == 0 {
		return nil, nil
	}
	hs, err := s.ReadHashes(idx)
	if err != nil {
		return nil, fmt.Errorf("tlog: frontier of the tree of size %d: %w", size, err)
	}
	return hs, nil
}

// BuilderAt returns a Builder of the tree of the given size from its
// frontier (Frontier): adding the leaves after size computes the roots of
// the larger trees.
func BuilderAt(size int64, frontier []Hash) (*Builder, error) {
	if size < 0 || bits.OnesCount64(uint64(size)) != len(frontier) {
		return nil, fmt.Errorf("tlog: a tree of size %d has a frontier of %d hashes, not %d", size, bits.OnesCount64(uint64(size)), len(frontier))
	}
	return &Builder{size: size, stack: append([]Hash(nil), frontier...)}, nil
}

// Frontier returns the Builder's frontier: the roots of the perfect
// subtrees of its tree, largest first.
func (b *Builder) Frontier() []Hash { return append([]Hash(nil), b.stack...) }

// StartAt starts a walk of a pruned log at the first event kept: the
// events with seq ≤ size were removed, and frontier is the frontier of the
// tree of that size. It must come before the first event. It meets any
// checkpoint of exactly that size, whose root must then be the frontier's.
func (w *Walker) StartAt(size int64, frontier []Hash) (*Failure, error) {
	if w.last != 0 || w.b.Size() != 0 {
		return nil, fmt.Errorf("tlog: a walk starts at a pruned size before its first event")
	}
	if size == 0 {
		return nil, nil
	}
	if w.opts.Sparse {
		w.last = size
		return nil, nil
	}
	b, err := BuilderAt(size, frontier)
	if err != nil {
		return failAt(-1, "%v", err), nil
	}
	w.b, w.last, w.Pruned = *b, size, size
	return w.meetCheckpoints()
}
