package tlog

import "context"

// TilesOf returns a view of one account's stored tree, read through s, for
// computing roots and proofs. It caches what it reads: use a fresh one for
// each bounded piece of work.
func TilesOf(ctx context.Context, s TileStore, accountID int64) *Tiles {
	return NewTiles(accountTileLoader(ctx, s, accountID))
}

// ProveInclusion returns the proof that the record at index (0-based, seq-1)
// is in the account's tree of the given size.
func ProveInclusion(ctx context.Context, s TileStore, accountID, size, index int64) ([]Hash, error) {
	return TilesOf(ctx, s, accountID).InclusionProof(size, index)
}

// ProveConsistency returns the proof that the account's tree of size from
// is a prefix of its tree of size to.
func ProveConsistency(ctx context.Context, s TileStore, accountID, from, to int64) ([]Hash, error) {
	return TilesOf(ctx, s, accountID).ConsistencyProof(from, to)
}
