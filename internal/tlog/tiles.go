package tlog

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	sumdb "golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of the stored tiles: each tile holds up to
// 2^TileHeight = 16 hashes (512 bytes) of one tree level that is a multiple
// of TileHeight. Hashes of the levels in between are recomputed from the
// tile below. Small tiles keep the rewrite of the growing right-edge tile
// cheap on every append, and stay inline in every engine's row storage.
const TileHeight = 4

// TileKey names a stored tile: its tile level (tree level / TileHeight) and
// its index within that level.
type TileKey struct {
	Level int
	Index int64
}

// TileLoader reads stored tiles. It returns the data of the tiles it has;
// a tile that was never written is simply absent from the result.
type TileLoader func(keys []TileKey) (map[TileKey][]byte, error)

// ErrMissingHash means a hash needed for a computation is not stored: the
// stored tree is shorter than the caller believes, or was damaged.
var ErrMissingHash = errors.New("tlog: hash not stored")

// Tiles is the part of one account's tree that a computation touches,
// loaded on demand and cached. It implements sumdb.HashReader, so tlog can
// compute roots and proofs over it, and it appends leaves, remembering which
// tiles changed so the caller can store them. A Tiles is used by one
// goroutine at a time, for one transaction or one request.
type Tiles struct {
	load  TileLoader
	tiles map[TileKey][]byte
	dirty map[TileKey]bool
	fresh map[TileKey]bool // tiles that were not stored when loaded
	// made holds every hash Append computed or ReadHashes derived from a
	// tile, by storage index, so the appends of a batch do not recompute the
	// levels between tile rows again and again. Stored hashes never change,
	// so nothing here goes stale.
	made map[int64]Hash
}

// NewTiles returns an empty Tiles that reads stored tiles through load.
func NewTiles(load TileLoader) *Tiles {
	return &Tiles{load: load, tiles: map[TileKey][]byte{}, dirty: map[TileKey]bool{}, fresh: map[TileKey]bool{}, made: map[int64]Hash{}}
}

func tileOf(index int64) (sumdb.Tile, TileKey) {
	t := sumdb.TileForIndex(TileHeight, index)
	return t, TileKey{Level: t.L, Index: t.N}
}

// ensure loads the tiles among keys that are not cached yet.
func (s *Tiles) ensure(keys []TileKey) error {
	var missing []TileKey
	for _, k := range keys {
		if _, ok := s.tiles[k]; !ok && !slices.Contains(missing, k) {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	got, err := s.load(missing)
	if err != nil {
		return err
	}
	for _, k := range missing {
		data, stored := got[k]
		s.fresh[k] = !stored
		if len(data)%sumdb.HashSize != 0 || len(data) > sumdb.HashSize<<TileHeight {
			return fmt.Errorf("tlog: stored tile %d/%d has %d bytes, not a whole number of at most %d hashes", k.Level, k.Index, len(data), 1<<TileHeight)
		}
		s.tiles[k] = append([]byte(nil), data...) // own the bytes: they grow on append
	}
	return nil
}

// ReadHashes implements sumdb.HashReader over the stored tiles. Hashes
// computed before (by Append, or from a tile) come from memory; the rest
// are read from their tiles, recomputing the levels between tile rows, and
// remembered.
func (s *Tiles) ReadHashes(indexes []int64) ([]sumdb.Hash, error) {
	out := make([]sumdb.Hash, len(indexes))
	var missing []int
	var keys []TileKey
	for i, idx := range indexes {
		if h, ok := s.made[idx]; ok {
			out[i] = h
			continue
		}
		missing = append(missing, i)
		_, k := tileOf(idx)
		keys = append(keys, k)
	}
	if len(missing) == 0 {
		return out, nil
	}
	if err := s.ensure(keys); err != nil {
		return nil, err
	}
	for _, i := range missing {
		idx := indexes[i]
		t, k := tileOf(idx)
		data := s.tiles[k]
		if len(data) < t.W*sumdb.HashSize {
			level, n := sumdb.SplitStoredHashIndex(idx)
			return nil, fmt.Errorf("%w: level %d node %d (tile %d/%d holds %d of the %d hashes needed)",
				ErrMissingHash, level, n, k.Level, k.Index, len(data)/sumdb.HashSize, t.W)
		}
		h, err := sumdb.HashFromTile(t, data, idx)
		if err != nil {
			return nil, err
		}
		out[i] = h
		s.made[idx] = h
	}
	return out, nil
}

// Append adds leaf as record n, which must be the tree's current size.
func (s *Tiles) Append(n int64, leaf Hash) error {
	hashes, err := sumdb.StoredHashesForRecordHash(n, leaf, s)
	if err != nil {
		return err
	}
	first := sumdb.StoredHashIndex(0, n)
	for i, h := range hashes {
		s.made[first+int64(i)] = h
		level, m := sumdb.SplitStoredHashIndex(first + int64(i))
		if level%TileHeight != 0 {
			continue // recomputed from the tile below when needed
		}
		k := TileKey{Level: level / TileHeight, Index: m >> TileHeight}
		off := m & (1<<TileHeight - 1)
		if _, cached := s.tiles[k]; !cached && off == 0 {
			// The hash starts a tile: the tile cannot exist yet, so there
			// is nothing to read. (If a damaged store holds one anyway,
			// inserting the new tile fails on its primary key.)
			s.tiles[k], s.fresh[k] = nil, true
		} else if err := s.ensure([]TileKey{k}); err != nil {
			return err
		}
		data := s.tiles[k]
		if want := off * sumdb.HashSize; int64(len(data)) != want {
			return fmt.Errorf("tlog: appending record %d: tile %d/%d holds %d bytes; want %d (stored tree and size disagree)",
				n, k.Level, k.Index, len(data), want)
		}
		s.tiles[k] = append(data, h[:]...)
		s.dirty[k] = true
	}
	return nil
}

// Root returns the root hash of the tree of the given size.
func (s *Tiles) Root(size int64) (Hash, error) {
	if size == 0 {
		return EmptyRoot, nil
	}
	return sumdb.TreeHash(size, s)
}

// ChangedTile is a tile that Append changed: its full new data, and whether
// it is new (to insert) rather than grown (to update).
type ChangedTile struct {
	Key  TileKey
	Data []byte
	New  bool
}

// Changed returns the tiles that Append changed, lowest level first.
func (s *Tiles) Changed() []ChangedTile {
	out := make([]ChangedTile, 0, len(s.dirty))
	for k := range s.dirty {
		out = append(out, ChangedTile{Key: k, Data: s.tiles[k], New: s.fresh[k]})
	}
	slices.SortFunc(out, func(a, b ChangedTile) int {
		return cmp.Or(cmp.Compare(a.Key.Level, b.Key.Level), cmp.Compare(a.Key.Index, b.Key.Index))
	})
	return out
}

// InclusionProof proves that record index (0-based) is in the tree of size.
func (s *Tiles) InclusionProof(size, index int64) ([]Hash, error) {
	if index < 0 || index >= size {
		return nil, fmt.Errorf("tlog: index %d is outside a tree of size %d", index, size)
	}
	return sumdb.ProveRecord(size, index, s)
}

// ConsistencyProof proves that the tree of size from is a prefix of the tree
// of size to.
func (s *Tiles) ConsistencyProof(from, to int64) ([]Hash, error) {
	if from < 1 || from > to {
		return nil, fmt.Errorf("tlog: no consistency proof from size %d to size %d", from, to)
	}
	return sumdb.ProveTree(to, from, s)
}

// EdgeTiles returns the stored tiles that appending to a tree of the given
// size reads or grows: at each tile level, the partial tile on the right
// edge and the one before it. Loading them in advance (for many accounts in
// one query) saves the appends a query each.
func EdgeTiles(size int64) []TileKey {
	var keys []TileKey
	for level := 0; size>>(TileHeight*level) > 0; level++ {
		p := (size >> (TileHeight * level)) >> TileHeight
		keys = append(keys, TileKey{Level: level, Index: p})
		if p > 0 {
			keys = append(keys, TileKey{Level: level, Index: p - 1})
		}
	}
	return keys
}

// Preload gives the Tiles the stored data of keys in advance; a key of
// keys absent from data is known not to be stored.
func (s *Tiles) Preload(keys []TileKey, data map[TileKey][]byte) error {
	for _, k := range keys {
		if _, ok := s.tiles[k]; ok {
			continue
		}
		d, stored := data[k]
		if len(d)%sumdb.HashSize != 0 || len(d) > sumdb.HashSize<<TileHeight {
			return fmt.Errorf("tlog: stored tile %d/%d has %d bytes, not a whole number of at most %d hashes", k.Level, k.Index, len(d), 1<<TileHeight)
		}
		s.tiles[k], s.fresh[k] = append([]byte(nil), d...), !stored
	}
	return nil
}
