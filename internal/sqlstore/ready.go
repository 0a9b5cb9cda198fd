package sqlstore

import (
	"context"
	"database/sql"
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
// within ReadyTimeout (else an audit.EUNAVAILABLE error), no migration of
// this binary is pending (schemaCurrent; else audit.EUNAVAILABLE) and, for SQLite,
// the file system holding the database file has at least MinFreeBytes free
// (else an audit.EFULL error). The server engines' own disks are theirs to
// watch: a PostgreSQL or MySQL server that is out of space refuses writes,
// which then answer 507, but still answers pings.
func (db *DB) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	if err := db.Ping(ctx); err != nil {
		db.noteError(ErrorUnavailable)
		return &audit.Error{Code: audit.EUNAVAILABLE, Message: audit.ErrUnavailable.Message,
			Err: fmt.Errorf("sqlstore: ping %s: %w", db.source.Safe, err)}
	}
	if err := db.schemaCurrent(ctx); err != nil {
		return err
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

// Stats returns the connection pools' statistics, the writer's and the
// readers' added together (for the server engines they are one pool).
func (db *DB) Stats() sql.DBStats {
	s := db.write.Stats()
	if db.read != db.write {
		r := db.read.Stats()
		s.MaxOpenConnections += r.MaxOpenConnections
		s.OpenConnections += r.OpenConnections
		s.InUse += r.InUse
		s.Idle += r.Idle
		s.WaitCount += r.WaitCount
		s.WaitDuration += r.WaitDuration
		s.MaxIdleClosed += r.MaxIdleClosed
		s.MaxIdleTimeClosed += r.MaxIdleTimeClosed
		s.MaxLifetimeClosed += r.MaxLifetimeClosed
	}
	return s
}

// schemaCurrent returns an audit.EUNAVAILABLE error while a migration of
// this binary is pending (another process is applying it, or it failed).
// Migrations unknown to this binary (a newer one migrated the database) do
// not make it unready: the one-release rule of docs/upgrades.md keeps the
// previous release working on the newer schema, so during a rolling upgrade
// the old processes stay in rotation until they are replaced. Opening the
// store logs a warning naming them.
func (db *DB) schemaCurrent(ctx context.Context) error {
	status, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	var pending []string
	for _, m := range status {
		if m.State == MigrationPending {
			pending = append(pending, m.Name)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	return &audit.Error{Code: audit.EUNAVAILABLE, Message: audit.ErrUnavailable.Message,
		Err: fmt.Errorf("sqlstore: %s: schema not current: migrations pending %v", db.source.Safe, pending)}
}
