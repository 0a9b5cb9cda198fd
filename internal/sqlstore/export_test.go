package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
)

// FailFirstAttemptForTest makes the first attempt of every Update of db fail,
// after fn ran and before the commit, with a transient error, so that Update
// rolls it back and runs fn again. Tests use it to check what a retried
// transaction reports.
func FailFirstAttemptForTest(db *DB) {
	db.beforeCommit = func(attempt int) error {
		if attempt == 1 {
			return fmt.Errorf("injected failure of attempt %d: %w", attempt, errTransient)
		}
		return nil
	}
}

// OnPruneDeletedForTest makes fn run in each attempt of a SQLite prune
// batch that may give way to a waiting writer, once the attempt's events
// are deleted and before its other statements.
func OnPruneDeletedForTest(db *DB, fn func()) { db.pruneDeleted = fn }

// OnPruneCountingForTest makes fn run in each attempt of a SQLite prune
// batch that may give way to a waiting writer, before the attempt deletes
// its actor and address counts.
func OnPruneCountingForTest(db *DB, fn func()) { db.pruneCounting = fn }

// WriteSettingsForTest returns the synchronous and temp_store settings of
// db's write connection, as PRAGMA reads them.
func WriteSettingsForTest(ctx context.Context, db *DB) (synchronous, tempStore int, err error) {
	if err := db.write.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&synchronous); err != nil {
		return 0, 0, err
	}
	err = db.write.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&tempStore)
	return synchronous, tempStore, err
}

// WriteLogSettingsForTest returns the wal_autocheckpoint and cache_spill
// settings of db's write connection, as PRAGMA reads them.
func WriteLogSettingsForTest(ctx context.Context, db *DB) (autocheckpoint, cacheSpill int, err error) {
	if err := db.write.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&autocheckpoint); err != nil {
		return 0, 0, err
	}
	err = db.write.QueryRowContext(ctx, `PRAGMA cache_spill`).Scan(&cacheSpill)
	return autocheckpoint, cacheSpill, err
}

// UnpackedReadsForTest makes exports and listings on SQLite read each
// event column by column (on) instead of packed into one value (off, the
// default), so that tests can compare the two.
func UnpackedReadsForTest(db *DB, on bool) { db.unpackedReads = on }

// PackedFallbacksForTest returns how many export and listing pages SQLite
// read packed that had to be read again column by column.
func PackedFallbacksForTest(db *DB) int64 { return db.packedFallbacks.Load() }

// SkipCountsForBenchmark makes the write path of db leave the analytics
// counts alone (skip) or keep them (the default), so that a benchmark can
// measure what keeping them costs, in the same run.
func SkipCountsForBenchmark(db *DB, skip bool) { db.skipCounts = skip }

// ActorRollupsForBenchmark makes db keep and read the week and month actor
// counts (on, the default), or, off, neither write them nor read them (top
// actors sums the per-day rows), as before migration 0017, so that a
// benchmark can compare the two in the same run.
func ActorRollupsForBenchmark(db *DB, on bool) { db.noActorRollups = !on }

// ForceSearchPlanForTest makes SearchEvents on db always (walk 1) or never
// (walk -1) walk the account's events newest first, words looked up in
// their text (walk 0: choose, as the service does), judge a word's
// matches by a sample of the newest sample events (when > 0), and read
// pages from offset deferAt (when > 0) by a deferred join, so that tests
// can compare the plans' results.
func ForceSearchPlanForTest(db *DB, walk, deferAt, sample int) {
	db.forceWalk, db.deferAt, db.sample = walk, deferAt, sample
}

// ActionPrefixByLikeForTest makes an action prefix on PostgreSQL a LIKE,
// as under a collation that does not sort ASCII as bytes, instead of the
// range read off the action index (DB.prefixByRange), so that tests can
// compare the two.
func ActionPrefixByLikeForTest(db *DB) { db.prefixByRange = false }

// NotifyAnalyzedForTest returns a channel that receives each background
// refresh of the planner's statistics, with its error.
func NotifyAnalyzedForTest(db *DB) <-chan error {
	c := make(chan error, 64)
	db.stats.mu.Lock()
	defer db.stats.mu.Unlock()
	db.stats.done = func(err error) {
		select {
		case c <- err:
		default:
		}
	}
	return c
}

// NoStatisticsForTest turns the background refresh of db's planner
// statistics off, as the store was before it had one.
func NoStatisticsForTest(db *DB) {
	db.stats.close()
	db.stats = nil
}

// ExplainForTest returns the engine's plan for a query written with ?
// placeholders.
func ExplainForTest(ctx context.Context, db *DB, query string, args ...any) (string, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind("EXPLAIN "+query), args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		plan.WriteString(line + "\n")
	}
	return plan.String(), rows.Err()
}

// TraceSearchForTest makes SearchEvents call fn with each statement it runs
// (written with ? placeholders) and its arguments; nil stops it.
func TraceSearchForTest(db *DB, fn func(query string, args []any)) { db.traceSearch = fn }

// QueryPlanForTest returns SQLite's EXPLAIN QUERY PLAN of a query, one
// line per step.
func QueryPlanForTest(ctx context.Context, db *DB, query string, args ...any) (string, error) {
	rows, err := db.read.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		plan.WriteString(detail + "\n")
	}
	return plan.String(), rows.Err()
}

// FillCountsForBenchmark adds to the analytics counts the events that
// batches yields, as the write path would count them (the same tally), in
// one transaction, without writing the events: a benchmark of the
// dashboard's queries, which read only the counts, can so fill them as
// ten million events would leave them without writing ten million events.
// TestCountsFill checks that the two agree.
func FillCountsForBenchmark(ctx context.Context, db *DB, batches func(yield func([]*audit.Event) bool)) error {
	t := newTally()
	for evs := range batches {
		t.add(evs)
	}
	return db.Update(ctx, func(tx *Tx) error { return tx.writeTally(ctx, t) })
}

// CountRowsForTest returns every analytics count row of the account, one
// line each ("table|grain|bucket|key…|n"), in order.
func CountRowsForTest(ctx context.Context, db *DB, accountID int64) ([]string, error) {
	var out []string
	err := db.view(ctx, func(r runner) error {
		for _, q := range []string{
			`SELECT 'event_counts', grain, bucket, action, resource_type, outcome, n FROM event_counts WHERE account_id = ? ORDER BY grain, bucket, action, resource_type, outcome`,
			`SELECT 'event_party_counts', dimension, bucket, value, '', '', n FROM event_party_counts WHERE account_id = ? ORDER BY dimension, bucket, value`,
			`SELECT 'event_actor_counts', grain, bucket, value, '', '', n FROM event_actor_counts WHERE account_id = ? ORDER BY grain, bucket, value`,
		} {
			rows, err := r.query(ctx, q, accountID)
			if err != nil {
				return err
			}
			for rows.Next() {
				var tbl, a, c, d, e string
				var bucket, n int64
				if err := rows.Scan(&tbl, &a, &bucket, &c, &d, &e, &n); err != nil {
					rows.Close()
					return err
				}
				out = append(out, fmt.Sprintf("%s|%s|%d|%s|%s|%s|%d", tbl, a, bucket, c, d, e, n))
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// TotalsFromCountsForTest makes a search whose terms the analytics counts
// answer take its total from them (on, the default) or count its rows as
// any other search (off), so that tests and benchmarks can compare.
func TotalsFromCountsForTest(db *DB, on bool) { db.noTotalsFromCounts = !on }

// WritersWaitingForTest makes db count n more (or, negative, fewer) of its
// transactions waiting to begin, as if they waited for the writer, so that
// tests can see what a prune batch does then. It returns the new count.
func WritersWaitingForTest(db *DB, n int32) int32 { return db.writersWaiting.Add(n) }

// FullTextMergeDueForTest reports whether a merge of SQLite's full-text
// index ('merge' of 16 pages, in a transaction rolled back) finds work.
func FullTextMergeDueForTest(ctx context.Context, db *DB) (bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var before, after int64
	if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&before); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO events_fts (events_fts, rank) VALUES ('merge', 16)`); err != nil {
		return false, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&after); err != nil {
		return false, err
	}
	return after-before >= 2, nil
}

// FullTextMergeSettingsForTest returns the automerge and deletemerge
// settings of SQLite's full-text index (FTS5's defaults, 4 and 10, when
// the index stores none).
func FullTextMergeSettingsForTest(ctx context.Context, db *DB) (automerge, deletemerge int64, err error) {
	automerge, deletemerge = 4, 10
	rows, err := db.read.QueryContext(ctx, `SELECT k, v FROM events_fts_config WHERE k IN ('automerge', 'deletemerge')`)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return 0, 0, err
		}
		if k == "automerge" {
			automerge = v
		} else {
			deletemerge = v
		}
	}
	return automerge, deletemerge, rows.Err()
}

// PauseFullTextMergesForTest turns the full-text index's merges off, as a
// prune batch does and as a prune that stopped half-way leaves them.
func PauseFullTextMergesForTest(ctx context.Context, db *DB) error {
	_, err := db.write.ExecContext(ctx, pauseMerges)
	return err
}
