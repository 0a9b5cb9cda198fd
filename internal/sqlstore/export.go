package sqlstore

import (
	"context"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/tlog"
)

// exportPage is how many events ExportEvents reads per query.
const exportPage = 1000

// ExportEvents calls fn for each of the account's events with seq at most
// upTo that match the filter, in seq order. It reads in pages by seq, so its
// memory does not grow with the log, and each page is a short query. Events
// are immutable once committed, so the pages agree with the checkpoint of
// size upTo whenever they are read.
func (db *DB) ExportEvents(ctx context.Context, accountID int64, f audit.EventFilter, upTo int64, fn func(e *audit.Event) error) error {
	where, args := db.where(accountID, query.FromFilter(f))
	var last int64
	for {
		rows, err := db.rd.query(ctx, `SELECT `+eventColumns+` FROM events e`+where+
			` AND e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?`, append(args, last, upTo, exportPage)...)
		if err != nil {
			return db.wrap(err, "select events to export")
		}
		page, err := db.scanEvents(rows, nil, nil)
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
}

// Tiles returns a view of the account's stored tree for computing proofs.
// It caches what it reads: use a fresh one for each bounded piece of work.
func (db *DB) Tiles(ctx context.Context, accountID int64) *tlog.Tiles {
	return tlog.TilesOf(ctx, readLog{db, db.rd}, accountID)
}
