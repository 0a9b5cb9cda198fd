package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/auditlog/auditlog/internal/tlog"
)

// Retention removes each account's oldest events, a prefix of its log at a
// time, while the log stays provable (docs/retention.md): the tree's tiles
// are never pruned, so proofs are computed as before, and the log head
// records how far the log was pruned (pruned_size) and when.

// SetRetentionDays sets the account's retention period (nil: the
// operator's default; 0: forever) and returns the one it replaces.
func (tx *Tx) SetRetentionDays(ctx context.Context, accountID int64, days *int) (before *int, err error) {
	var old sql.NullInt64
	if err := tx.queryRow(ctx, `SELECT retention_days FROM accounts WHERE id = ?`, accountID).Scan(&old); err != nil {
		return nil, tx.db.wrap(err, "select retention")
	}
	if old.Valid {
		v := int(old.Int64)
		before = &v
	}
	var arg any
	if days != nil {
		arg = *days
	}
	_, err = tx.exec(ctx, `UPDATE accounts SET retention_days = ? WHERE id = ?`, arg, accountID)
	return before, tx.db.wrap(err, "update retention")
}

// LogPrune is how far retention has pruned an account's log.
type LogPrune struct {
	AccountID int64
	// RetentionDays is the account's own setting: nil when it follows the
	// operator's default, 0 for forever.
	RetentionDays *int
	Size          int64     // events the log has held: its last seq
	Pruned        int64     // events removed: seq 1 to Pruned
	PrunedAt      time.Time // when the last of them was removed; zero when none was
	// Recorded is how far retention.pruned events have recorded the
	// prune: the events up to seq Recorded.
	Recorded int64
}

// FirstSeq returns the seq of the oldest event kept.
func (p *LogPrune) FirstSeq() int64 { return p.Pruned + 1 }

const logPruneSelect = `SELECT a.id, a.retention_days, h.size, h.pruned_size, h.pruned_at, h.prune_recorded
	FROM accounts a JOIN log_heads h ON h.account_id = a.id`

func scanLogPrune(s scanner) (*LogPrune, error) {
	p := &LogPrune{}
	var days sql.NullInt64
	if err := s.Scan(&p.AccountID, &days, &p.Size, &p.Pruned, timeValue{&p.PrunedAt}, &p.Recorded); err != nil {
		return nil, err
	}
	if days.Valid {
		d := int(days.Int64)
		p.RetentionDays = &d
	}
	return p, nil
}

// LogPrune returns how far the account's log was pruned.
func (db *DB) LogPrune(ctx context.Context, accountID int64) (*LogPrune, error) {
	p, err := scanLogPrune(db.rd.queryRow(ctx, logPruneSelect+` WHERE a.id = ?`, accountID))
	return p, db.wrap(err, "select log prune")
}

// LogPrunes returns how far each account's log was pruned, by account ID:
// the accounts retention looks at. It reads one row per account.
func (db *DB) LogPrunes(ctx context.Context) ([]*LogPrune, error) {
	rows, err := db.rd.query(ctx, logPruneSelect+` ORDER BY a.id`)
	if err != nil {
		return nil, db.wrap(err, "select log prunes")
	}
	defer rows.Close()
	var out []*LogPrune
	for rows.Next() {
		p, err := scanLogPrune(rows)
		if err != nil {
			return nil, db.wrap(err, "scan log prune")
		}
		out = append(out, p)
	}
	return out, db.wrap(rows.Err(), "select log prunes")
}

// PrunedPrefix is what a verifier of a pruned log needs in place of the
// removed events: how many were removed, when, and the frontier of the
// tree of that size (tlog.Frontier), read from the stored tiles.
type PrunedPrefix struct {
	Size     int64
	At       time.Time
	Frontier []tlog.Hash
}

// PrunedPrefix returns the account's pruned prefix (Size 0 when nothing
// was pruned).
func (db *DB) PrunedPrefix(ctx context.Context, accountID int64) (*PrunedPrefix, error) {
	p := &PrunedPrefix{}
	err := db.view(ctx, func(tx runner) error {
		err := tx.queryRow(ctx, `SELECT pruned_size, pruned_at FROM log_heads WHERE account_id = ?`, accountID).
			Scan(&p.Size, timeValue{&p.At})
		if err != nil {
			return db.wrap(err, "select pruned size")
		}
		p.Frontier, err = tlog.TilesOf(ctx, readLog{db, tx}, accountID).Frontier(p.Size)
		return err
	})
	return p, err
}

// A prune rests after each batch pruneRest times as long as the batch
// took, at most maxPruneRest, so that it holds the writer (SQLite), and
// writes to the disk (every engine), about a twentieth of the time. The appends that
// commit while a batch's pages are being written and synced (its commit,
// then the checkpoints that copy them into the database file) wait for
// that I/O; with a rest as long as the batch the appends' p99 during a
// prune was 16–17 ms against 7.6–9.6 ms idle, with nineteen times
// 10.6–11.5 ms against 6.4–7.0, at an eighth of the rate
// (docs/performance.md, "SQLite: a prune that rests longer"). On
// PostgreSQL, where no append waits for a batch but every append's commit
// syncs the write-ahead log behind the batch's writes, the same at a
// million events: p99 36.9 ms during a prune against 8.7 idle without
// the rest, 14.1 against 10.2 with it, at 2,147 events/s. A
// background job has the time; the appends do not. The bound keeps a
// slow batch on a loaded machine from resting past the lease's renewal.
const (
	pruneRest    = 19
	maxPruneRest = 10 * time.Second
)

// PruneStep is what one PruneBatch removed: the events with seq From to
// To (none when To < From).
type PruneStep struct {
	From, To int64
	// Done is set when the log holds no more events to remove: the next
	// one is as recent as the cut-off, or there is none.
	Done bool
	// Took is how long the transaction that removed them took (without
	// the attempts rolled back before it, and the rest after it).
	Took time.Duration
	// Yielded counts the attempts that rolled back, on SQLite, because
	// another transaction of the process began to wait for the writer.
	Yielded int
	// Limit is how many events the committed attempt could remove at
	// most: PruneBatch's limit, or less once attempts rolled back (each
	// tries again with half as many).
	Limit int
}

// Removed returns how many events the step removed.
func (s PruneStep) Removed() int64 { return max(0, s.To-s.From+1) }

// PruneBatch removes, in one short transaction, up to limit of the
// account's oldest events, in seq order, as long as each was created
// before cutoff: the log is always pruned as a prefix, so it stops at the
// first event that is recent enough, even if older ones follow it. With
// the events go what derives from them: their full-text entries (a
// trigger on SQLite; the row's own column and index elsewhere), the
// checkpoints of sizes below the new pruned size (no remaining event is in
// their trees), and the per-day actor and address counts of the days that
// ended before the last removed event's day. The tiles stay. The log head
// records the new pruned size, guarded by the old one, so two processes
// can never remove the same events twice: the second's transaction
// changes nothing and fails with an error wrapping ErrPruneRaced.
//
// The transaction locks the log head's row only for its last statement,
// so on PostgreSQL and MySQL appends to the account wait at most for that
// and the commit. SQLite has one writer, which every append needs, so
// there a batch gives way to the appends of this process: as soon as
// another transaction begins to wait for the writer (Update), the batch
// interrupts its statement and rolls back, which takes no I/O, and tries
// again once that transaction has committed, with half as many events
// (at least pruneChunk). Only after maxPruneYields such attempts does it
// commit whatever it removed when the next one waits, one chunk at the
// least, so that a prune still advances under ingest that never pauses.
// Its full-text index work is done before the commit (FTS5 would do it,
// merges included, in the commit), and its commit does not wait for the
// disk (synchronous=NORMAL: updateWith), which leaves an append arriving
// during the commit only the write of its pages to wait for, not an
// fsync: a power failure can undo a prune batch, which the next prune
// repeats, never half of one. PruneBatch then rests before it returns,
// unless the batch was the last: pruneRest times as long as the
// batch took (at most maxPruneRest), so that appends of other processes,
// which poll for the writer, get it too, and so that the prune's writes
// to the log and the database file, which every append's commit syncs
// behind, take a twentieth of the time.
// Before the rest it does the merges of the full-text index that are
// due (mergeTombstones; the batch paused those that would rewrite the
// index without the removed rows until the prune's last batch: see
// pauseMerges), which FTS5 would otherwise do inside the transaction of
// a later append, and copies the pages the
// batch wrote from the write-ahead log into the database file (a passive
// checkpoint, on a connection of its own, before the merges and after
// them), which SQLite would otherwise do in the commit of the batch or of
// a later transaction, an append's perhaps, while it holds the writer.
func (db *DB) PruneBatch(ctx context.Context, accountID int64, cutoff time.Time, limit int) (step PruneStep, err error) {
	defer func() {
		if step.Removed() == 0 {
			return
		}
		rest := time.After(min(pruneRest*step.Took, maxPruneRest))
		if db.source.Engine == SQLite {
			// Best effort: when they fail, SQLite's own checkpoint after
			// a later commit does the work. The first copies the batch's
			// pages while the appends that waited for it commit (their
			// own checkpoint finds the log busy, or copied); the last
			// leaves the log fully copied, so that the next transaction
			// starts it again from the beginning: otherwise it stays
			// past 1,000 pages and every append's commit checkpoints.
			db.read.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
			// Best effort, like the checkpoint: what is left, a later
			// write to the index merges.
			db.mergeTombstones(ctx)
			db.read.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
		}
		if step.Done {
			return
		}
		// On SQLite, which has one writer, a writer of another process
		// waiting for it polls: left alone, the next batch would take the
		// lock again before the appends queued behind this one. On every
		// engine, each append's commit syncs the write-ahead log behind
		// the batch's writes. The rest lets the appends in and keeps the
		// disk mostly to their syncs.
		select {
		case <-rest:
		case <-ctx.Done():
		}
	}()
	if db.source.Engine != SQLite {
		start := time.Now()
		step, err = db.pruneBatch(ctx, accountID, cutoff, limit, false)
		step.Took, step.Limit = time.Since(start), limit
		return step, err
	}
	for yielded := 0; ; yielded++ {
		start := time.Now()
		step, err = db.pruneBatch(ctx, accountID, cutoff, limit, yielded < maxPruneYields)
		if !errors.Is(err, errPruneYielded) {
			step.Took, step.Yielded, step.Limit = time.Since(start), yielded, limit
			return step, err
		}
		// The transaction that waited has the writer now; the next
		// attempt waits for it, and is shorter.
		limit = max(pruneChunk, limit/2)
	}
}

// pruneBatch is one attempt of PruneBatch. With yield (SQLite only), it
// fails with errPruneYielded, having removed nothing, as soon as another
// transaction of the process waits for the writer; without, on SQLite it
// commits what it removed by then, one chunk at the least.
func (db *DB) pruneBatch(ctx context.Context, accountID int64, cutoff time.Time, limit int, yield bool) (step PruneStep, err error) {
	day := int64(math.MinInt64) // the day below which the batch removed the party counts
	defer func() {
		if err == nil && day != math.MinInt64 {
			if from, ok := db.partyCountsPruned.Load(accountID); !ok || from.(int64) < day {
				db.partyCountsPruned.Store(accountID, day)
			}
		}
	}()
	sqlite := db.source.Engine == SQLite
	err = db.updateWith(ctx, sqlite, func(tx *Tx) error {
		day = math.MinInt64 // again, when Update runs this once more
		outer, ctx := ctx, ctx
		if yield {
			// Update cancels the statements when a transaction begins
			// to wait for the writer: SQLite interrupts the one running.
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			defer cancel()
			tx.db.writerWaits.Store(&cancel)
			defer tx.db.writerWaits.CompareAndSwap(&cancel, nil)
			if tx.db.writersWaiting.Load() > 0 {
				return errPruneYielded
			}
		}
		// yielded tells a statement's failure because a writer waits
		// from any other.
		yielded := func(err error) error {
			if yield && ctx.Err() != nil && outer.Err() == nil {
				return errPruneYielded
			}
			return err
		}
		var pruned int64
		if err := tx.queryRow(ctx, `SELECT pruned_size FROM log_heads WHERE account_id = ?`, accountID).Scan(&pruned); err != nil {
			return yielded(tx.db.wrap(err, "select pruned size"))
		}
		times, done, err := tx.db.prunable(ctx, tx.run, accountID, pruned, cutoff, limit)
		if err != nil {
			return yielded(err)
		}
		step = PruneStep{From: pruned + 1, To: pruned, Done: done}
		if len(times) == 0 {
			return nil
		}
		end := pruned + int64(len(times))
		if sqlite {
			// Before the deletes: each statement's savepoint flushes the
			// full-text index, which then merges (see pauseMerges).
			if _, err := tx.exec(ctx, pauseMerges); err != nil {
				return yielded(tx.db.wrap(err, "pause the full-text index's merges"))
			}
		}
		// PostgreSQL and MySQL lock rows, not the writer: one statement.
		chunk := end - pruned
		if sqlite {
			chunk = pruneChunk
		}
		for step.To < end {
			if sqlite && !yield && step.To > pruned && tx.db.writersWaiting.Load() > 0 {
				step.Done = false // more are due: the next batch removes them
				break
			}
			to := min(end, step.To+chunk)
			if _, err := tx.exec(ctx, `DELETE FROM events WHERE account_id = ? AND seq > ? AND seq <= ?`, accountID, step.To, to); err != nil {
				return yielded(tx.db.wrap(err, "delete pruned events"))
			}
			step.To = to
		}
		if yield && tx.db.pruneDeleted != nil {
			tx.db.pruneDeleted()
		}
		if sqlite {
			// The full-text index's share of the work (writing the
			// tombstones of the removed rows; its merges are paused)
			// runs here, where a waiting writer interrupts it, rather
			// than in the commit, where it would wait for it.
			if _, err := tx.exec(ctx, `INSERT INTO events_fts (events_fts) VALUES ('flush')`); err != nil {
				return yielded(tx.db.wrap(err, "flush the full-text index"))
			}
			// The last batch has the tombstones merged away (by
			// mergeTombstones, after it): see pauseMerges.
			if step.Done {
				if _, err := tx.exec(ctx, resumeDeleteMerges); err != nil {
					return yielded(tx.db.wrap(err, "resume the full-text index's merges"))
				}
			}
		}
		// Earlier batches removed the checkpoints below pruned and the
		// party counts below the day this process noted: each delete
		// starts there, so that it reads only this batch's range of the
		// index, however many rows earlier batches deleted.
		if _, err := tx.exec(ctx, `DELETE FROM checkpoints WHERE account_id = ? AND tree_size >= ? AND tree_size < ?`, accountID, pruned, step.To); err != nil {
			return yielded(tx.db.wrap(err, "delete pruned checkpoints"))
		}
		day = times[step.To-pruned-1].UTC().Truncate(24 * time.Hour).Unix()
		if yield && tx.db.pruneCounting != nil {
			tx.db.pruneCounting()
		}
		from, known := tx.db.partyCountsPruned.Load(accountID)
		switch {
		case !known:
			if err := tx.pruneActorCounts(ctx, accountID, math.MinInt64, day); err != nil {
				return yielded(err)
			}
			if _, err := tx.exec(ctx, `DELETE FROM event_party_counts WHERE account_id = ? AND dimension IN ('actor', 'ip') AND bucket < ?`, accountID, day); err != nil {
				return yielded(tx.db.wrap(err, "delete pruned party counts"))
			}
		case from.(int64) < day:
			if err := tx.pruneActorCounts(ctx, accountID, from.(int64), day); err != nil {
				return yielded(err)
			}
			if _, err := tx.exec(ctx, `DELETE FROM event_party_counts WHERE account_id = ? AND dimension IN ('actor', 'ip') AND bucket >= ? AND bucket < ?`, accountID, from, day); err != nil {
				return yielded(tx.db.wrap(err, "delete pruned party counts"))
			}
		}
		res, err := tx.exec(ctx, `UPDATE log_heads SET pruned_size = ?, pruned_at = ? WHERE account_id = ? AND pruned_size = ?`,
			step.To, tx.db.t(tx.now), accountID, pruned)
		if err != nil {
			return yielded(tx.db.wrap(err, "update pruned size"))
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("sqlstore: prune account %d from seq %d: %w", accountID, step.From, ErrPruneRaced)
		}
		// From here on, a writer that begins to wait waits for the
		// commit: the statements are done.
		if yield && ctx.Err() != nil && outer.Err() == nil {
			return errPruneYielded
		}
		return nil
	})
	if errors.Is(err, errPruneYielded) {
		day = math.MinInt64
	}
	return step, err
}

// pruneActorCounts takes out of the account's week and month actor counts
// (event_actor_counts) the per-day actor counts that the prune batch is
// about to delete, those of the days from `from` (math.MinInt64: all;
// earlier batches of this process deleted those before it) to day
// (exclusive), so that each week and month keeps the sum of its days: the
// weeks and months that end by day go whole (from the one holding from
// on, as the per-day delete starts there), and the week and the month
// that hold day, when they start before it, lose the deleted days' counts,
// one multi-row upsert of negative counts per grain, and their rows left
// at zero are deleted.
func (tx *Tx) pruneActorCounts(ctx context.Context, accountID, from, day int64) error {
	at := time.Unix(day, 0).UTC()
	for _, g := range actorGrains {
		start := g.Floor(at).Unix()
		if start < day {
			lo := max(from, start)
			rows, err := tx.run.query(ctx, `SELECT value, SUM(n) FROM event_party_counts WHERE account_id = ? AND dimension = 'actor' AND bucket >= ? AND bucket < ? GROUP BY value`,
				accountID, lo, day)
			if err != nil {
				return tx.db.wrap(err, "select pruned actor counts")
			}
			less := map[actorKey]int64{}
			for rows.Next() {
				var v string
				var n int64
				if err := rows.Scan(&v, &n); err != nil {
					rows.Close()
					return tx.db.wrap(err, "scan pruned actor counts")
				}
				less[actorKey{accountID, g, start, v}] = -n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return tx.db.wrap(err, "select pruned actor counts")
			}
			if err := tx.addActorCounts(ctx, less); err != nil {
				return err
			}
			if err := tx.deleteEmptyActorCounts(ctx, accountID, g, start); err != nil {
				return err
			}
		}
		var err error
		if from == math.MinInt64 {
			_, err = tx.exec(ctx, `DELETE FROM event_actor_counts WHERE account_id = ? AND grain = ? AND bucket < ?`, accountID, g.String(), start)
		} else {
			_, err = tx.exec(ctx, `DELETE FROM event_actor_counts WHERE account_id = ? AND grain = ? AND bucket >= ? AND bucket < ?`,
				accountID, g.String(), g.Floor(time.Unix(from, 0).UTC()).Unix(), start)
		}
		if err != nil {
			return tx.db.wrap(err, "delete pruned actor counts")
		}
	}
	return nil
}

// mergeTombstones does, in steps of pruneMergePages pages each in a
// transaction of its own, the full-text index's merges that are due, until
// there are none left, and returns how many steps did work, then resumes
// the automatic merges that the prune batch paused (pauseMerges). FTS5
// marks a row deleted from events_fts with a tombstone, and once a tenth
// of a level's rows are tombstones (its deletemerge setting) a merge
// rewrites that level without them; automatic merges run in whichever
// transaction writes to the index, so without this an append that
// arrives after a prune batch does that rewrite inside its own
// transaction. A step waits for the writer like any transaction and holds
// it for pruneMergePages pages of output, or for one term's list of rows,
// which FTS5 writes whole, so an append that arrives meanwhile waits at
// most for one step.
func (db *DB) mergeTombstones(ctx context.Context) (steps int, err error) {
	resumed := false
	defer func() {
		if !resumed { // the merges stopped early: best effort, as Open resumes them
			ctx := context.WithoutCancel(ctx)
			db.updateWith(ctx, true, func(tx *Tx) error {
				_, err := tx.exec(ctx, resumeAutomerge)
				return err
			})
		}
	}()
	for ; steps < maxMergeSteps && ctx.Err() == nil; steps++ {
		var worked bool
		err = db.updateWith(ctx, true, func(tx *Tx) error {
			var before, after int64
			if err := tx.queryRow(ctx, `SELECT total_changes()`).Scan(&before); err != nil {
				return tx.db.wrap(err, "count changes")
			}
			if _, err := tx.exec(ctx, `INSERT INTO events_fts (events_fts, rank) VALUES ('merge', ?)`, pruneMergePages); err != nil {
				return tx.db.wrap(err, "merge the full-text index")
			}
			if err := tx.queryRow(ctx, `SELECT total_changes()`).Scan(&after); err != nil {
				return tx.db.wrap(err, "count changes")
			}
			// FTS5 documents a difference under 2 as a merge that found
			// nothing to do.
			if worked = after-before >= 2; !worked {
				if _, err := tx.exec(ctx, resumeAutomerge); err != nil {
					return tx.db.wrap(err, "resume the full-text index's merges")
				}
			}
			return nil
		})
		resumed = err == nil && !worked
		if err != nil || !worked {
			return steps, err
		}
	}
	return steps, ctx.Err()
}

// pauseMerges, resumeDeleteMerges and resumeAutomerge set two of the
// settings of SQLite's full-text index, which FTS5 stores in the index, so
// that every connection to the file sees them. They set how much merging a
// write does, never what the index holds or finds.
//
// A prune batch pauses both kinds of merge. The automatic merges
// (automerge, FTS5's default 4) are done by any write to the index whose
// pages, or rows deleted, cross a unit of 64, and take up to 64 pages per
// level of whatever merge is due or under way: left on, the batch's own
// deletes would set them off in its statements (which a waiting writer
// cannot interrupt), and an append between two steps of mergeTombstones
// would carry on the merge under way. Off, a write still merges a level
// that reaches 16 segments (crisismerge), which only the appends' own
// small segments can while a prune runs, and 'merge' still merges a level
// of 4 segments. The merges of the rows deleted (deletemerge, FTS5's
// default 10: a level whose rows are a tenth tombstones is rewritten
// without them) are paused until the prune's last batch: a prune that
// removes half a log would rewrite the oldest, largest level some seven
// times, a tenth of it apart, and each rewrite writes every common term's
// list of rows whole, one uninterruptible piece each; once, after the
// last batch, is enough. mergeTombstones resumes the automatic merges
// after each batch, and Open resumes both when a prune left them paused
// (resumeMergesAtOpen).
const (
	pauseMerges        = `INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 0), ('deletemerge', 0)`
	resumeDeleteMerges = `INSERT INTO events_fts (events_fts, rank) VALUES ('deletemerge', 10)`
	resumeAutomerge    = `INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 4)`
)

// resumeMergesAtOpen resumes the merges of the full-text index (on
// SQLite) when a prune that stopped before its last batch left them
// paused (pauseMerges). Another process's prune in progress pauses them
// again at its next batch.
func (db *DB) resumeMergesAtOpen(ctx context.Context) error {
	var paused int64
	err := db.wr.queryRow(ctx, `SELECT COUNT(*) FROM events_fts_config WHERE k IN ('automerge', 'deletemerge') AND v = 0`).Scan(&paused)
	if err != nil || paused == 0 {
		return db.wrap(err, "read the full-text index's settings")
	}
	return db.Update(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, resumeDeleteMerges); err != nil {
			return tx.db.wrap(err, "resume the full-text index's merges")
		}
		_, err := tx.exec(ctx, resumeAutomerge)
		return tx.db.wrap(err, "resume the full-text index's merges")
	})
}

// pruneMergePages is how many pages one step of mergeTombstones writes:
// a few milliseconds' work (with 16, a step took 17 ms on average at load
// 7, reading the removed rows' entries too; with 4, 5 ms).
const pruneMergePages = 4

// maxMergeSteps bounds one call of mergeTombstones (some 16 MB of pages
// written); what is left the next batch's call merges.
const maxMergeSteps = 1000

// pruneChunk is how many events one DELETE of a SQLite prune batch
// removes: a few milliseconds' work (each event is an entry in a dozen
// indexes, so some ten pages to write), which is as long as an append of
// this process waits once a batch that may no longer yield has begun one.
// It is also the fewest events a batch that yielded tries again with.
const pruneChunk = 16

// maxPruneYields is how many attempts in a row a SQLite prune batch rolls
// back for a waiting writer before it commits what it removed instead.
const maxPruneYields = 8

// errPruneYielded is a SQLite prune batch's attempt rolled back for a
// writer that waited.
var errPruneYielded = errors.New("sqlstore: the prune batch gave way to a waiting writer")

// ErrPruneRaced means another process pruned the same events first.
var ErrPruneRaced = errors.New("sqlstore: another process pruned the log first")

// PrunePreview returns the seq up to which a prune at cutoff would remove
// the account's events (PruneBatch's rule, without removing anything),
// reading at most limit events at a time.
func (db *DB) PrunePreview(ctx context.Context, accountID int64, cutoff time.Time, limit int) (pruned, upTo int64, err error) {
	err = db.view(ctx, func(r runner) error {
		if err := r.queryRow(ctx, `SELECT pruned_size FROM log_heads WHERE account_id = ?`, accountID).Scan(&pruned); err != nil {
			return db.wrap(err, "select pruned size")
		}
		upTo = pruned
		for {
			times, done, err := db.prunable(ctx, r, accountID, upTo, cutoff, limit)
			if err != nil {
				return err
			}
			if upTo += int64(len(times)); done || len(times) == 0 {
				return nil
			}
		}
	})
	return pruned, upTo, err
}

// prunable reads up to limit of the account's events after seq `after`
// and returns the creation times of those, from the first, that were
// created before cutoff (seq after+1 on), and whether the log holds no
// more to remove after them.
func (db *DB) prunable(ctx context.Context, r runner, accountID, after int64, cutoff time.Time, limit int) (times []time.Time, done bool, err error) {
	rows, err := r.query(ctx, `SELECT seq, created_at FROM events WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?`, accountID, after, limit)
	if err != nil {
		return nil, false, db.wrap(err, "select prunable events")
	}
	defer rows.Close()
	read := 0
	for rows.Next() {
		var seq int64
		var at time.Time
		if err := rows.Scan(&seq, timeValue{&at}); err != nil {
			return nil, false, db.wrap(err, "scan prunable event")
		}
		read++
		if done {
			continue
		}
		if want := after + int64(len(times)) + 1; seq != want {
			return nil, false, fmt.Errorf("sqlstore: account %d: event seq %d follows seq %d: the log has a gap", accountID, seq, want-1)
		}
		if !at.Before(cutoff) {
			done = true
			continue
		}
		times = append(times, at)
	}
	if err := rows.Err(); err != nil {
		return nil, false, db.wrap(err, "select prunable events")
	}
	return times, done || read < limit, nil
}

// ClaimPruneRecord returns the range of pruned events that no
// retention.pruned event has recorded yet (none when to < from) and when
// the last of them was pruned, and marks it recorded: the caller records
// the event in the same transaction. Of two processes claiming at once,
// one gets the range.
func (tx *Tx) ClaimPruneRecord(ctx context.Context, accountID int64) (from, to int64, at time.Time, err error) {
	var recorded, pruned int64
	err = tx.queryRow(ctx, `SELECT prune_recorded, pruned_size, pruned_at FROM log_heads WHERE account_id = ?`, accountID).
		Scan(&recorded, &pruned, timeValue{&at})
	if err != nil {
		return 0, 0, at, tx.db.wrap(err, "select prune record")
	}
	if pruned <= recorded {
		return 1, 0, at, nil
	}
	res, err := tx.exec(ctx, `UPDATE log_heads SET prune_recorded = ? WHERE account_id = ? AND prune_recorded = ?`, pruned, accountID, recorded)
	if err != nil {
		return 0, 0, at, tx.db.wrap(err, "update prune record")
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return 1, 0, at, nil // another process recorded it
	}
	return recorded + 1, pruned, at, nil
}

// AcquireLease takes, or renews, the service-wide lease on the job name
// for holder until ttl from now, and reports whether holder has it: false
// when another holder's lease has not expired. Leases are rows of
// job_leases that the migrations create.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	var ok bool
	err := db.Update(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE job_leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)`,
			holder, tx.db.t(tx.now.Add(ttl)), name, holder, tx.db.t(tx.now))
		if err != nil {
			return tx.db.wrap(err, "take lease")
		}
		n, err := res.RowsAffected()
		if err != nil || n == 1 {
			ok = n == 1
			return err
		}
		// MySQL counts only rows it changed: a renewal within the same
		// instant changes nothing. The row says who holds the lease.
		var current string
		if err := tx.queryRow(ctx, `SELECT holder FROM job_leases WHERE name = ?`, name).Scan(&current); err != nil {
			return tx.db.wrap(err, "read lease")
		}
		ok = current == holder
		return nil
	})
	return ok, err
}

// ReleaseLease gives up holder's lease on the job name, if it has it.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	return db.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE job_leases SET holder = '', expires_at = ? WHERE name = ? AND holder = ?`,
			tx.db.t(time.Unix(0, 0)), name, holder)
		return tx.db.wrap(err, "release lease")
	})
}
