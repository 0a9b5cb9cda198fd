package sqlstore

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
)

// VerifyLog re-checks the account's stored log from its first event, from
// one snapshot, with tlog.VerifyStored: each event's commitment and leaf
// hash, every stored tree hash, every checkpoint's signature (with the
// verifier key vkey) and root, and the log head; and it reports a log for
// which this store stopped signing because it no longer extended the last
// signed checkpoint (tlog.ForkError). previous are the verifier keys that
// signed the log's checkpoints before vkey (a key rotation). It returns an
// error only when it could not check; a log that fails a check is a report
// with a Failure.
func (db *DB) VerifyLog(ctx context.Context, accountID int64, vkey string, previous ...string) (*tlog.Report, error) {
	return db.VerifyLogAgainst(ctx, accountID, nil, vkey, previous...)
}

// VerifyLogAgainst is VerifyLog that also checks the checkpoints extra,
// kept outside the store (from GET /api/audit-logs/checkpoint, or a
// witness), each like a stored one when the walk reaches its size: its
// signature and origin, and its root against the tree recomputed from the
// stored events. Each must be of the account's log and no larger than its
// stored log.
func (db *DB) VerifyLogAgainst(ctx context.Context, accountID int64, extra []tlog.SignedCheckpoint, vkey string, previous ...string) (*tlog.Report, error) {
	extra = slices.Clone(extra)
	slices.SortStableFunc(extra, func(a, b tlog.SignedCheckpoint) int { return cmp.Compare(a.Size, b.Size) })
	var rep *tlog.Report
	err := db.view(ctx, func(tx runner) error {
		var err error
		var l tlog.StoredLog = readLog{db, tx}
		if len(extra) > 0 {
			l = withCheckpoints{readLog{db, tx}, extra}
		}
		rep, err = tlog.VerifyStored(ctx, l, accountID, vkey, previous...)
		return err
	})
	if err == nil && rep.Failure == nil {
		if stopped := db.SigningStopped(accountID); stopped != nil {
			rep.Failure = &tlog.Failure{Index: -1, Reason: "the service stopped signing this log: " + stopped.Error()}
		}
	}
	return rep, err
}

// withCheckpoints is a stored log with more checkpoints, in size order,
// read beside its own.
type withCheckpoints struct {
	readLog
	extra []tlog.SignedCheckpoint
}

// Checkpoints implements tlog.StoredLog: the stored ones and the extra
// ones in the same size range, in size order.
func (l withCheckpoints) Checkpoints(ctx context.Context, accountID, from int64, limit int) ([]tlog.SignedCheckpoint, error) {
	out, err := l.readLog.Checkpoints(ctx, accountID, from, limit)
	if err != nil {
		return nil, err
	}
	last := int64(math.MaxInt64) // the stored ones are all read
	if len(out) == limit {
		last = out[len(out)-1].Size // the next page starts after it
	}
	for _, c := range l.extra {
		if c.Size >= from && c.Size <= last {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b tlog.SignedCheckpoint) int { return cmp.Compare(a.Size, b.Size) })
	return out, nil
}

var _ tlog.StoredLog = readLog{}

// Head implements tlog.StoredLog.
func (l readLog) Head(ctx context.Context, accountID int64) (size int64, root []byte, err error) {
	err = l.r.queryRow(ctx, `SELECT size, root_hash FROM log_heads WHERE account_id = ?`, accountID).Scan(&size, &root)
	return size, root, l.db.wrap(err, "select log head")
}

// Events implements tlog.StoredLog.
func (l readLog) Events(ctx context.Context, accountID, after int64, limit int) ([]*audit.Event, error) {
	rows, err := l.r.query(ctx, `SELECT `+eventColumns+` FROM events e
		WHERE e.account_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`, accountID, after, limit)
	if err != nil {
		return nil, l.db.wrap(err, "select events")
	}
	return l.db.scanEvents(rows, nil, nil)
}

// Checkpoints implements tlog.StoredLog.
func (l readLog) Checkpoints(ctx context.Context, accountID, from int64, limit int) ([]tlog.SignedCheckpoint, error) {
	rows, err := l.r.query(ctx, `SELECT tree_size, root_hash, note FROM checkpoints
		WHERE account_id = ? AND tree_size >= ? ORDER BY tree_size LIMIT ?`, accountID, from, limit)
	if err != nil {
		return nil, l.db.wrap(err, "select checkpoints")
	}
	defer rows.Close()
	var out []tlog.SignedCheckpoint
	for rows.Next() {
		var c tlog.SignedCheckpoint
		var root []byte
		var note string
		if err := rows.Scan(&c.Size, &root, &note); err != nil {
			return nil, l.db.wrap(err, "scan checkpoint")
		}
		copy(c.Root[:], root)
		c.Note = []byte(note)
		out = append(out, c)
	}
	return out, l.db.wrap(rows.Err(), "select checkpoints")
}

// TileRange implements tlog.StoredLog.
func (l readLog) TileRange(ctx context.Context, accountID int64, level int, lo, hi int64) (map[int64][]byte, error) {
	rows, err := l.r.query(ctx, `SELECT tile_index, hashes FROM log_tiles
		WHERE account_id = ? AND tile_level = ? AND tile_index >= ? AND tile_index < ?`, accountID, level, lo, hi)
	if err != nil {
		return nil, l.db.wrap(err, "select tiles")
	}
	defer rows.Close()
	out := map[int64][]byte{}
	for rows.Next() {
		var i int64
		var d []byte
		if err := rows.Scan(&i, &d); err != nil {
			return nil, l.db.wrap(err, "scan tile")
		}
		out[i] = d
	}
	return out, l.db.wrap(rows.Err(), "select tiles")
}

// Pruned implements tlog.StoredLog.
func (l readLog) Pruned(ctx context.Context, accountID int64) (int64, error) {
	var n int64
	err := l.r.queryRow(ctx, `SELECT pruned_size FROM log_heads WHERE account_id = ?`, accountID).Scan(&n)
	return n, l.db.wrap(err, "select pruned size")
}
