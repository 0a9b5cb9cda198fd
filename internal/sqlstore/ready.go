package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
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
// within ReadyTimeout (else an audit.EUNAVAILABLE error), its schema is
// this binary's (schemaCurrent; else audit.EUNAVAILABLE) and, for SQLite,
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

// schemaCurrent returns an audit.EUNAVAILABLE error when the database's
// recorded migrations are not exactly this binary's: one pending (not
// applied yet: another process migrates, or a migration failed) or one
// unknown (a newer binary migrated the database).
func (db *DB) schemaCurrent(ctx context.Context) error {
	known, err := Migrations(db.source.Engine)
	if err != nil {
		return err
	}
	rows, err := db.rd.query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return db.wrap(err, "read schema_migrations")
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return db.wrap(err, "scan schema_migrations")
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return db.wrap(err, "read schema_migrations")
	}
	var pending []string
	for _, m := range known {
		if !applied[m.Version] {
			pending = append(pending, m.Name)
		}
		delete(applied, m.Version)
	}
	var unknown []int
	for v := range applied {
		unknown = append(unknown, v)
	}
	if len(pending) == 0 && len(unknown) == 0 {
		return nil
	}
	sort.Ints(unknown)
	return &audit.Error{Code: audit.EUNAVAILABLE, Message: audit.ErrUnavailable.Message,
		Err: fmt.Errorf("sqlstore: %s: schema not current: migrations pending %v, unknown to this binary %v", db.source.Safe, pending, unknown)}
}
