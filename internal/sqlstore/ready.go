package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// ReadyTimeout bounds how long Ready waits for the database to answer. A
// readiness probe that hangs as long as the database does tells a load
// balancer nothing; one that answers within it does.
const ReadyTimeout = 2 * time.Second

// MinFreeBytes is the free space below which Ready reports a SQLite
// database's file system as full: a commit writes the write-ahead log and
// then the database, so less than this is not enough to record reliably.
const MinFreeBytes = 1 << 20

// Ready reports whether the store can serve: the database answers a ping
// within ReadyTimeout (else an audit.EUNAVAILABLE error) and, for SQLite,
// the file system holding the database file has at least MinFreeBytes free
// (else an audit.EFULL error). The server engines' own disks are theirs to
// watch: a PostgreSQL or MySQL server that is out of space refuses writes,
// which then answer 507, but still answers pings.
func (db *DB) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	if err := db.Ping(ctx); err != nil {
		return &audit.Error{Code: audit.EUNAVAILABLE, Message: audit.ErrUnavailable.Message,
			Err: fmt.Errorf("sqlstore: ping %s: %w", db.source.Safe, err)}
	}
	if db.source.Engine != SQLite || db.source.DSN == ":memory:" {
		return nil
	}
	free, ok, err := freeBytes(filepath.Dir(db.source.DSN))
	if err != nil {
		return &audit.Error{Code: audit.EUNAVAILABLE, Message: audit.ErrUnavailable.Message,
			Err: fmt.Errorf("sqlstore: free space of %s: %w", db.source.Safe, err)}
	}
	if ok && free < MinFreeBytes {
		return &audit.Error{Code: audit.EFULL, Message: audit.ErrStorageFull.Message,
			Err: fmt.Errorf("sqlstore: %s: %d bytes free", db.source.Safe, free)}
	}
	return nil
}
