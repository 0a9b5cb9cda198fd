package sqlstore

import (
	"context"
	"sync/atomic"
	"time"
)

// Planner statistics. PostgreSQL plans from statistics that autovacuum
// gathers, and the service must not depend on autovacuum (operators turn
// it off, or it lags behind a bulk load). A table it has never analyzed
// looks empty to the planner, which then reads a whole account to find
// one event ID or a first page. So the store refreshes the statistics of
// the log's tables itself whenever the events it has appended since the
// last refresh reach the table's size then (at least minAnalyzeGrowth):
// the table doubles between refreshes, so a log of ten million events
// costs about twenty refreshes in all, each in the background, never on a
// request's path. Each process counts its own appends; with many processes
// the refreshes only come sooner. SQLite and MySQL/MariaDB need none:
// SQLite plans from its indexes, and InnoDB recalculates its persistent
// statistics after a tenth of a table changes.

// minAnalyzeGrowth is the fewest appended events that trigger a refresh.
const minAnalyzeGrowth = 1000

// analyzeTimeout bounds one refresh.
const analyzeTimeout = 5 * time.Minute

// stats tracks the growth of the events table since its statistics were
// last refreshed.
type stats struct {
	grown     atomic.Int64 // events appended since the last refresh
	base      atomic.Int64 // rows the table held at the last refresh
	analyzing atomic.Bool
	// done, when set (by tests only), is called after each refresh.
	done func()
}

// noteAppended counts n committed events and starts a refresh in the
// background when the table has grown enough.
func (db *DB) noteAppended(n int) {
	if db.dialect.analyzeTables == "" {
		return
	}
	grown := db.stats.grown.Add(int64(n))
	if grown < max(minAnalyzeGrowth, db.stats.base.Load()) || !db.stats.analyzing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer db.stats.analyzing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), analyzeTimeout)
		defer cancel()
		db.stats.grown.Add(-grown)
		if err := db.analyze(ctx); err != nil {
			db.stats.grown.Add(grown) // try again at the next append
			return
		}
		if db.stats.done != nil {
			db.stats.done()
		}
	}()
}

// analyze refreshes the statistics of the log's tables and records the
// events table's size.
func (db *DB) analyze(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, db.dialect.analyzeTables); err != nil {
		return db.wrap(err, "analyze")
	}
	var rows float64
	if err := db.write.QueryRowContext(ctx, db.dialect.rebind(db.dialect.tableRows), "events").Scan(&rows); err != nil {
		return db.wrap(err, "read table size")
	}
	db.stats.base.Store(int64(rows))
	return nil
}
