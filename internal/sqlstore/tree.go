package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
)

// tileKeyConds returns the WHERE clause and arguments that select the given
// tiles of many accounts. Each OR term names a whole primary key, so every
// engine answers with one index lookup per tile (a term without account_id
// would make SQLite scan all of the account's tiles).
func tileKeyConds(keys map[int64][]tlog.TileKey) (string, []any) {
	var conds []string
	var args []any
	for account, ks := range keys {
		for _, k := range ks {
			conds = append(conds, "(account_id = ? AND tile_level = ? AND tile_index = ?)")
			args = append(args, account, k.Level, k.Index)
		}
	}
	return strings.Join(conds, " OR "), args
}

// readLog reads an account's stored tree through a read runner: the
// storage of proofs and of the stored log's verification.
type readLog struct {
	db *DB
	r  runner
}

// LoadTiles implements tlog.TileStore.
func (l readLog) LoadTiles(ctx context.Context, keys map[int64][]tlog.TileKey) (map[int64]map[tlog.TileKey][]byte, error) {
	return l.db.loadTiles(ctx, l.r, keys)
}

// loadTiles reads the given tiles of many accounts in one query, through q.
func (db *DB) loadTiles(ctx context.Context, q runner, keys map[int64][]tlog.TileKey) (map[int64]map[tlog.TileKey][]byte, error) {
	out := make(map[int64]map[tlog.TileKey][]byte, len(keys))
	for account := range keys {
		out[account] = map[tlog.TileKey][]byte{}
	}
	where, args := tileKeyConds(keys)
	if where == "" {
		return out, nil
	}
	rows, err := q.queryBuilt(ctx, `SELECT account_id, tile_level, tile_index, hashes FROM log_tiles WHERE `+where, args...)
	if err != nil {
		return nil, db.wrap(err, "select tiles")
	}
	defer rows.Close()
	for rows.Next() {
		var account int64
		var k tlog.TileKey
		var data []byte
		if err := rows.Scan(&account, &k.Level, &k.Index, &data); err != nil {
			return nil, db.wrap(err, "scan tile")
		}
		out[account][k] = data
	}
	return out, db.wrap(rows.Err(), "select tiles")
}

// Checkpoint returns the account's checkpoint for the given tree size, or
// the latest when size is 0. It returns audit.ErrNotFound when there is none.
// Its note carries the witnesses' cosignatures stored for it.
func (db *DB) Checkpoint(ctx context.Context, accountID, size int64) (*Checkpoint, error) {
	var c *Checkpoint
	err := db.view(ctx, func(tx runner) error {
		var err error
		if c, err = db.checkpoint(ctx, tx, accountID, size); err != nil {
			return err
		}
		return db.withCosignatures(ctx, tx, c)
	})
	return c, err
}

// Checkpoint is a signed checkpoint as stored.
type Checkpoint struct {
	AccountID int64
	Size      int64
	Root      tlog.Hash
	Note      string // the signed note, as served to clients
	CreatedAt time.Time
	// LogNote is the note as the service signed it, without cosignatures;
	// Note is LogNote followed by the cosignature lines of the witnesses
	// named in CosignedBy (key name and ID each), when the checkpoint was
	// read with its cosignatures.
	LogNote    string
	CosignedBy []string
	// Pruned is how many of the log's oldest events retention had removed
	// when the checkpoint was read (seq 1 to Pruned), and PrunedAt when;
	// proofs of the rest are unaffected.
	Pruned   int64
	PrunedAt time.Time
}

func (db *DB) checkpoint(ctx context.Context, q runner, accountID, size int64) (*Checkpoint, error) {
	query := `SELECT account_id, tree_size, root_hash, note, created_at FROM checkpoints WHERE account_id = ? AND tree_size = ?`
	args := []any{accountID, size}
	if size == 0 {
		query = `SELECT account_id, tree_size, root_hash, note, created_at FROM checkpoints WHERE account_id = ? ORDER BY tree_size DESC LIMIT 1`
		args = args[:1]
	}
	c := &Checkpoint{}
	var root []byte
	err := q.queryRow(ctx, query, args...).Scan(&c.AccountID, &c.Size, &root, &c.Note, timeValue{&c.CreatedAt})
	if err != nil {
		return nil, db.wrap(err, "select checkpoint")
	}
	err = q.queryRow(ctx, `SELECT pruned_size, pruned_at FROM log_heads WHERE account_id = ?`, accountID).Scan(&c.Pruned, timeValue{&c.PrunedAt})
	if err != nil {
		return nil, db.wrap(err, "select pruned size")
	}
	if len(root) != len(c.Root) {
		return nil, fmt.Errorf("sqlstore: checkpoint %d of account %d has a %d-byte root", c.Size, accountID, len(root))
	}
	copy(c.Root[:], root)
	return c, nil
}

// InclusionProof is the proof that one event is in its account's log.
type InclusionProof struct {
	Event      *audit.Event
	Checkpoint *Checkpoint
	Proof      []tlog.Hash
}

// ProveEvent returns the proof that the account's event with the given ID
// is in the log at the checkpoint of the given size (the latest when size is
// 0). It returns audit.ErrNotFound when the event or the checkpoint does not
// exist, and an EINVALID error when the checkpoint predates the event.
func (db *DB) ProveEvent(ctx context.Context, accountID, eventID, size int64) (*InclusionProof, error) {
	var p *InclusionProof
	err := db.view(ctx, func(tx runner) error {
		e, err := db.event(ctx, tx, accountID, eventID)
		if err != nil {
			return err
		}
		c, err := db.checkpoint(ctx, tx, accountID, size)
		if err != nil {
			return err
		}
		if e.Seq > c.Size {
			return &audit.Error{Code: audit.EINVALID, Field: "size", Message: fmt.Sprintf("The event has seq %d, after the checkpoint of size %d.", e.Seq, c.Size)}
		}
		proof, err := tlog.ProveInclusion(ctx, readLog{db, tx}, accountID, c.Size, e.Seq-1)
		if err != nil {
			return fmt.Errorf("sqlstore: prove event %d of account %d: %w", eventID, accountID, err)
		}
		p = &InclusionProof{Event: e, Checkpoint: c, Proof: proof}
		return db.withCosignatures(ctx, tx, c)
	})
	return p, err
}

// ConsistencyProof is the proof that the account's tree of one size is a
// prefix of its tree of a larger size.
type ConsistencyProof struct {
	FromSize, ToSize int64
	// FromRoot and ToRoot are the roots of the two trees, computed from
	// the stored tree.
	FromRoot, ToRoot tlog.Hash
	// From and To are the signed checkpoints of the two sizes, nil for a
	// size at which none is stored.
	From, To *Checkpoint
	Proof    []tlog.Hash
}

// ProveConsistency returns the proof that the account's tree of size from
// is a prefix of its tree of size to (the latest checkpoint's size when to
// is 0), for any 1 ≤ from ≤ to ≤ the log's size: RFC 6962 proofs exist for
// every size, so a client's kept checkpoint stays provable even when the
// service no longer holds a checkpoint of its size. It returns an EINVALID
// error for sizes out of that range and audit.ErrNotFound when the log has
// no checkpoint yet.
func (db *DB) ProveConsistency(ctx context.Context, accountID, from, to int64) (*ConsistencyProof, error) {
	var p *ConsistencyProof
	err := db.view(ctx, func(tx runner) error {
		p = &ConsistencyProof{ToSize: to}
		if to == 0 {
			c, err := db.checkpoint(ctx, tx, accountID, 0)
			if err != nil {
				return err
			}
			p.To, p.ToSize = c, c.Size
		} else {
			size, _, err := readLog{db, tx}.Head(ctx, accountID)
			if err != nil && !errors.Is(err, audit.ErrNotFound) {
				return err
			}
			if to > size {
				return &audit.Error{Code: audit.EINVALID, Field: "to", Message: fmt.Sprintf("to must be at most %d, the size of the log.", size)}
			}
			if p.To, err = db.optionalCheckpoint(ctx, tx, accountID, to); err != nil {
				return err
			}
		}
		if from < 1 || from > p.ToSize {
			return &audit.Error{Code: audit.EINVALID, Field: "from", Message: fmt.Sprintf("from must be between 1 and %d.", p.ToSize)}
		}
		p.FromSize = from
		var err error
		if p.From, err = db.optionalCheckpoint(ctx, tx, accountID, from); err != nil {
			return err
		}
		tiles := tlog.TilesOf(ctx, readLog{db, tx}, accountID)
		if p.FromRoot, err = tiles.Root(from); err == nil {
			if p.ToRoot, err = tiles.Root(p.ToSize); err == nil {
				p.Proof, err = tiles.ConsistencyProof(from, p.ToSize)
			}
		}
		if err != nil {
			return fmt.Errorf("sqlstore: prove consistency %d→%d of account %d: %w", from, p.ToSize, accountID, err)
		}
		if err := db.withCosignatures(ctx, tx, p.From); err != nil {
			return err
		}
		return db.withCosignatures(ctx, tx, p.To)
	})
	return p, err
}

// optionalCheckpoint returns the account's checkpoint of the given size,
// or nil when there is none.
func (db *DB) optionalCheckpoint(ctx context.Context, q runner, accountID, size int64) (*Checkpoint, error) {
	c, err := db.checkpoint(ctx, q, accountID, size)
	if errors.Is(err, audit.ErrNotFound) {
		return nil, nil
	}
	return c, err
}
