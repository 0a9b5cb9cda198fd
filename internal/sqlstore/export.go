package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/tlog"
)

// exportPage is how many events ExportEvents reads per query.
const exportPage = 1000

// ExportEvents calls fn for each of the account's events with seq at most
// upTo that match the search q (nil: every event), in seq order. It reads in pages by seq, so its
// memory does not grow with the log, and each page is a short query. Events
// are immutable once committed, so the pages agree with the checkpoint of
// size upTo whenever they are read.
func (db *DB) ExportEvents(ctx context.Context, accountID int64, q *query.Query, upTo int64, fn func(e *audit.Event) error) error {
	return db.exportRange(ctx, accountID, q, 0, upTo, fn)
}

// ExportRange is ExportEvents for the events with seq above after and at
// most upTo: an export may read disjoint ranges of the log at once.
func (db *DB) ExportRange(ctx context.Context, accountID int64, f audit.EventFilter, after, upTo int64, fn func(e *audit.Event) error) error {
	return db.exportRange(ctx, accountID, query.FromFilter(f), after, upTo, fn)
}

func (db *DB) exportRange(ctx context.Context, accountID int64, q *query.Query, after, upTo int64, fn func(e *audit.Event) error) error {
	where, args := db.where(accountID, q, false)
	tail := ` FROM events e` + where + ` AND e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?`
	// On SQLite each row comes packed into one value (exportrow.go).
	packed := db.packedReads()
	// An unfiltered export runs the same statement for every page:
	// prepare it once per connection.
	run := db.rd.queryBuilt
	if q.IsZero() {
		run = db.rd.query
	}
	last := after
	for last < upTo {
		pageArgs := append(args[:len(args):len(args)], last, upTo, exportPage)
		var page []*audit.Event
		var err error
		if packed {
			page, err = db.exportPagePacked(ctx, run, tail, pageArgs)
		}
		if packed && errors.Is(err, errPackedRow) {
			db.packedFallbacks.Add(1)
		}
		if !packed || errors.Is(err, errPackedRow) {
			var rows *sql.Rows
			if rows, err = run(ctx, `SELECT `+eventColumns+tail, pageArgs...); err != nil {
				return db.wrap(err, "select events to export")
			}
			page, err = db.scanEvents(rows, nil, nil)
		}
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
			last = e.Seq
		}
		if len(page) < exportPage {
			return nil
		}
	}
	return nil
}

// exportPagePacked reads a page of an export with each event packed into
// one value; it fails with errPackedRow when a row does not unpack, and
// the page must then be read column by column.
func (db *DB) exportPagePacked(ctx context.Context, run func(context.Context, string, ...any) (*sql.Rows, error), tail string, args []any) ([]*audit.Event, error) {
	rows, err := run(ctx, `SELECT `+packedEvent.column+tail, args...)
	if err != nil {
		return nil, db.wrap(err, "select events to export")
	}
	return db.scanPacked(rows, &packedEvent, 0)
}

// packedReads reports whether listings and exports read each event
// packed into one value (exportrow.go): on SQLite, unless a test asked
// for column by column.
func (db *DB) packedReads() bool { return db.source.Engine == SQLite && !db.unpackedReads }

// Tiles returns a view of the account's stored tree for computing proofs.
// It caches what it reads: use a fresh one for each bounded piece of work.
func (db *DB) Tiles(ctx context.Context, accountID int64) *tlog.Tiles {
	return tlog.TilesOf(ctx, readLog{db, db.rd}, accountID)
}

// CountEvents returns how many of the account's events with seq at most
// upTo match the search q (nil: every event): the number of events
// ExportEvents gives for the same arguments.
func (db *DB) CountEvents(ctx context.Context, accountID int64, q *query.Query, upTo int64) (int64, error) {
	where, args := db.where(accountID, q, false)
	rows, err := db.rd.queryBuilt(ctx, `SELECT COUNT(*) FROM events e`+where+` AND e.seq <= ?`, append(args, upTo)...)
	if err != nil {
		return 0, db.wrap(err, "count events to export")
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		err = rows.Scan(&n)
	}
	return n, db.wrap(errors.Join(err, rows.Err()), "count events to export")
}
