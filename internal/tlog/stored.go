package tlog

import (
	"context"
	"errors"

	"github.com/auditlog/auditlog/internal/audit"
	sumdb "golang.org/x/mod/sumdb/tlog"
)

// StoredLog is what the verification of a stored log reads, all from one
// snapshot of the store.
type StoredLog interface {
	// Head returns the size and root hash that the account's log head
	// records (the root is nil while the log is empty).
	Head(ctx context.Context, accountID int64) (size int64, root []byte, err error)
	// Pruned returns how many of the account's oldest events were removed
	// by retention (the events with seq up to it), 0 when none.
	Pruned(ctx context.Context, accountID int64) (int64, error)
	// Events returns up to limit of the account's events with seq after
	// the given one, in seq order.
	Events(ctx context.Context, accountID, after int64, limit int) ([]*audit.Event, error)
	// Checkpoints returns up to limit of the account's checkpoints of size
	// at least from, in size order.
	Checkpoints(ctx context.Context, accountID, from int64, limit int) ([]SignedCheckpoint, error)
	// TileRange returns the account's stored tiles of one tile level with
	// index in [lo, hi), by index.
	TileRange(ctx context.Context, accountID int64, level int, lo, hi int64) (map[int64][]byte, error)
}

// Report is the outcome of re-checking an account's stored log.
type Report struct {
	AccountID int64
	TreeSize  int64 // the size the log head records
	// Pruned is how many of the oldest events retention removed: the
	// check started at seq Pruned+1, from the stored tree's frontier.
	Pruned             int64
	CheckedEvents      int64
	CheckedCheckpoints int64
	CheckedTreeHashes  int64
	// Failure is the first problem found, or nil when the log checked out.
	Failure *Failure
}

// verifyPage is how many events and checkpoints VerifyStored reads at once.
const verifyPage = 1000

// tileWindowSize is how many tiles of a level VerifyStored reads at once.
const tileWindowSize = 128

// VerifyStored re-checks the account's stored log from its first event (the
// first one kept, when retention pruned the oldest: the walk then starts
// from the stored tree's frontier at the pruned size) with
// a Walker (every event's commitment and leaf hash, the recomputed tree, and
// every checkpoint's signature by vkey, origin and root), and what only a
// stored log has: every stored tree hash against the one recomputed from
// the events, the right-edge tiles holding no more than the events need,
// and the log head's size and root. It reads in pages, in constant memory.
// It returns an error only when it could not check; a log that fails a
// check is a Report with a Failure.
// previous are the verifier keys that signed before vkey (a key rotation).
func VerifyStored(ctx context.Context, s StoredLog, accountID int64, vkey string, previous ...string) (*Report, error) {
	rep := &Report{AccountID: accountID}
	size, headRoot, err := s.Head(ctx, accountID)
	if err != nil {
		return nil, err
	}
	rep.TreeSize = size
	if rep.Pruned, err = s.Pruned(ctx, accountID); err != nil {
		return nil, err
	}
	v := &storedCheck{ctx: ctx, s: s, accountID: accountID, rep: rep, tiles: map[int]*tileWindow{}}
	var cps []SignedCheckpoint
	cpFrom := rep.Pruned
	w := NewWalker(accountID, vkey, WalkOptions{
		PreviousKeys: previous,
		Checkpoints: func() (*SignedCheckpoint, error) {
			if len(cps) == 0 {
				var err error
				if cps, err = s.Checkpoints(ctx, accountID, cpFrom, verifyPage); err != nil || len(cps) == 0 {
					return nil, err
				}
				cpFrom = cps[len(cps)-1].Size + 1
			}
			c := &cps[0]
			cps = cps[1:]
			return c, nil
		},
		Leaf: func(index int64, h Hash) (*Failure, error) { return v.treeHash(0, index, h) },
	})
	rep.Failure, err = v.start(w)
	if err == nil && rep.Failure == nil {
		rep.Failure, err = v.walk(w, headRoot)
	}
	rep.CheckedEvents, rep.CheckedCheckpoints = w.Events, w.Checkpoints
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// storedCheck holds the stored-log-only checks of one VerifyStored run.
type storedCheck struct {
	ctx       context.Context
	s         StoredLog
	accountID int64
	rep       *Report
	groups    [][]Hash            // per tile level, the recomputed hashes of the current tile
	tiles     map[int]*tileWindow // per tile level, a window of stored tiles
}

// start begins the walk of a pruned log at its first event kept: from the
// stored frontier of the pruned prefix, and with the hashes of the
// prefix's part of each level's current tile, so that the stored tree is
// checked from there on as for a whole log.
func (v *storedCheck) start(w *Walker) (*Failure, error) {
	pruned := v.rep.Pruned
	if pruned == 0 {
		return nil, nil
	}
	if pruned > v.rep.TreeSize {
		return failAt(-1, "the log head records %d events pruned of %d", pruned, v.rep.TreeSize), nil
	}
	tiles := NewTiles(func(keys []TileKey) (map[TileKey][]byte, error) {
		out := map[TileKey][]byte{}
		for _, k := range keys {
			data, err := v.tile(k.Level, k.Index)
			if err != nil {
				return nil, err
			}
			if data != nil {
				out[k] = data
			}
		}
		return out, nil
	})
	frontier, err := tiles.Frontier(pruned)
	if errors.Is(err, ErrMissingHash) {
		return failAt(pruned-1, "the stored tree lacks the hashes of the pruned events: %v", err), nil
	} else if err != nil {
		return nil, err
	}
	for level := 0; pruned>>(TileHeight*level) > 0; level++ {
		nodes := pruned >> (TileHeight * level)
		for len(v.groups) <= level {
			v.groups = append(v.groups, nil)
		}
		for n := nodes &^ (1<<TileHeight - 1); n < nodes; n++ {
			h, err := v.storedHash(level, n)
			if err != nil {
				return nil, err
			}
			if h == nil {
				return failAt(pruned-1, "the stored tree lacks the hash at level %d, node %d, of the pruned events", level*TileHeight, n), nil
			}
			v.groups[level] = append(v.groups[level], *h)
		}
	}
	return w.StartAt(pruned, frontier)
}

func (v *storedCheck) walk(w *Walker, headRoot []byte) (*Failure, error) {
	last := v.rep.Pruned
	for {
		events, err := v.s.Events(v.ctx, v.accountID, last, verifyPage)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			if f, err := w.Event(e); f != nil || err != nil {
				return f, err
			}
			last = e.Seq
		}
		if len(events) < verifyPage {
			break
		}
	}
	size := w.Size()
	if size != v.rep.TreeSize {
		return failAt(size, "the log head records %d events but the log holds %d: the newest events are missing", v.rep.TreeSize, size), nil
	}
	if f, err := w.Finish(); f != nil || err != nil {
		return f, err
	}
	if f, err := v.partialTiles(size); f != nil || err != nil {
		return f, err
	}
	root := w.Root()
	if size > 0 && (len(headRoot) != len(root) || Hash(headRoot) != root) {
		return failAt(-1, "the log head's root hash differs from the root of the stored events"), nil
	}
	return nil, nil
}

// treeHash checks a recomputed hash of tile level `level`, node n, against
// the stored tile, and folds it into the hashes of the level above.
func (v *storedCheck) treeHash(level int, n int64, h Hash) (*Failure, error) {
	first := n << (TileHeight * level) // first leaf under the node
	stored, err := v.storedHash(level, n)
	if err != nil {
		return nil, err
	}
	if stored == nil || *stored != h {
		return failAt(first, "the stored tree hash at level %d, node %d differs from the one computed from the events", level*TileHeight, n), nil
	}
	v.rep.CheckedTreeHashes++
	for len(v.groups) <= level {
		v.groups = append(v.groups, nil)
	}
	v.groups[level] = append(v.groups[level], h)
	if len(v.groups[level]) == 1<<TileHeight {
		parent := perfectRoot(v.groups[level])
		v.groups[level] = v.groups[level][:0]
		return v.treeHash(level+1, n>>TileHeight, parent)
	}
	return nil, nil
}

// partialTiles checks that the stored right-edge tiles hold exactly the
// hashes recomputed for them, no more.
func (v *storedCheck) partialTiles(size int64) (*Failure, error) {
	for level := 0; size>>(TileHeight*level) > 0; level++ {
		nodes := size >> (TileHeight * level) // complete nodes at this tile level
		want := nodes & (1<<TileHeight - 1)
		data, err := v.tile(level, nodes>>TileHeight)
		if err != nil {
			return nil, err
		}
		if int64(len(data)) != want*sumdb.HashSize {
			return failAt(size, "the stored tree at level %d holds %d hashes past the last complete tile; the events need %d", level*TileHeight, len(data)/sumdb.HashSize, want), nil
		}
	}
	return nil, nil
}

func perfectRoot(hs []Hash) Hash {
	level := append([]Hash(nil), hs...)
	for len(level) > 1 {
		for i := 0; i < len(level)/2; i++ {
			level[i] = sumdb.NodeHash(level[2*i], level[2*i+1])
		}
		level = level[:len(level)/2]
	}
	return level[0]
}

// tileWindow caches a run of consecutive stored tiles of one level.
type tileWindow struct {
	lo, hi int64 // tiles [lo, hi) are loaded
	data   map[int64][]byte
}

func (v *storedCheck) tile(level int, idx int64) ([]byte, error) {
	w := v.tiles[level]
	if w == nil || idx < w.lo || idx >= w.hi {
		data, err := v.s.TileRange(v.ctx, v.accountID, level, idx, idx+tileWindowSize)
		if err != nil {
			return nil, err
		}
		w = &tileWindow{lo: idx, hi: idx + tileWindowSize, data: data}
		v.tiles[level] = w
	}
	return w.data[idx], nil
}

// storedHash returns the stored hash of tile level `level`, node n, or nil
// when it is not stored.
func (v *storedCheck) storedHash(level int, n int64) (*Hash, error) {
	data, err := v.tile(level, n>>TileHeight)
	if err != nil {
		return nil, err
	}
	off := (n & (1<<TileHeight - 1)) * sumdb.HashSize
	if int64(len(data)) < off+sumdb.HashSize {
		return nil, nil
	}
	h := Hash(data[off : off+sumdb.HashSize])
	return &h, nil
}
