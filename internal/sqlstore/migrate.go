package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the engine's migrations in version order. Files are named
// NNNN_name.sql; each runs in one transaction and is recorded in the
// schema_migrations table.
func Migrations(engine Engine) ([]Migration, error) {
	dir := path.Join("migrations", string(engine))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations for %s: %w", engine, err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _", name)
		}
		body, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", ms[i-1].Name, ms[i].Name, ms[i].Version)
		}
	}
	return ms, nil
}

// Migrate applies every migration not yet recorded and returns the names of
// those it applied. Open calls it, so a store is migrated once opened;
// calling it again applies only what another process has not. It is safe to
// run at every start, and from several
// processes at once: on PostgreSQL and MySQL it holds a database-wide lock
// (pg_advisory_lock, GET_LOCK) while it works. On PostgreSQL and SQLite each
// migration commits or rolls back whole; MySQL commits every DDL statement
// on its own, so a migration that fails there part-way must be finished by
// hand.
func (db *DB) Migrate(ctx context.Context) (applied []string, err error) {
	return db.migrate(ctx, 0)
}

// migrate is Migrate, up to version upTo when it is above zero.
func (db *DB) migrate(ctx context.Context, upTo int) (applied []string, err error) {
	ms, err := Migrations(db.source.Engine)
	if err != nil {
		return nil, err
	}
	if upTo > 0 {
		ms = slices.DeleteFunc(ms, func(m Migration) bool { return m.Version > upTo })
	}
	if lock := db.dialect.lockMigrations; lock != nil {
		// Two processes starting at once take turns: the second finds the
		// first one's migrations recorded. The lock lives on one connection,
		// held aside from the pool until the loop is done.
		conn, err := db.write.Conn(ctx)
		if err != nil {
			return nil, db.wrap(err, "connect to migrate")
		}
		defer conn.Close()
		unlock, err := lock(ctx, conn)
		if err != nil {
			return nil, db.wrap(err, "lock migrations")
		}
		defer unlock()
	}
	// applied_at is text in RFC 3339 form on every engine: the table must
	// exist before any engine-specific migration runs, and nothing queries
	// it by time.
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       VARCHAR(255) NOT NULL,
		applied_at VARCHAR(32) NOT NULL
	)`); err != nil {
		return nil, db.wrap(err, "create schema_migrations")
	}
	for _, m := range ms {
		done := false
		err := db.migrateOne(ctx, func(tx *Tx) error {
			// Read inside the write transaction, so that two processes
			// starting at once do not both apply the same migration.
			var n int
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return db.wrap(err, "read schema_migrations")
			}
			if n > 0 {
				done = true
				return nil
			}
			for _, stmt := range splitStatements(m.SQL) {
				if _, err := tx.exec(ctx, stmt); err != nil {
					return fmt.Errorf("migration %s: %w", m.Name, db.wrap(err, "apply"))
				}
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, tx.now.Format(timeLayout))
			return db.wrap(err, "record migration")
		})
		if err != nil {
			return applied, err
		}
		if !done {
			applied = append(applied, m.Name)
		}
	}
	db.beforeActorCounts.Store(upTo > 0 && upTo < actorCountsVersion)
	return applied, nil
}

// actorCountsVersion is the migration that adds event_actor_counts.
const actorCountsVersion = 17

// MigrationState says where one migration stands in a database.
type MigrationState string

// The states of a migration.
const (
	// MigrationApplied: this binary knows the migration and the database
	// records it as applied.
	MigrationApplied MigrationState = "applied"
	// MigrationPending: this binary knows the migration and would apply
	// it at its next start or `auditlog migrate`.
	MigrationPending MigrationState = "pending"
	// MigrationUnknown: the database records a migration this binary does
	// not know, applied by a newer binary.
	MigrationUnknown MigrationState = "unknown"
)

// MigrationStatus is one migration and where it stands.
type MigrationStatus struct {
	Version int    // the number the file name starts with
	Name    string // the file name without .sql, such as 0001_init
	State   MigrationState
	// AppliedAt is when it was applied (RFC 3339, UTC); empty while
	// pending.
	AppliedAt string
}

// MigrationStatus lists every migration this binary knows and every one
// the database records, in version order, each with its state. It only
// reads: a store opened with OpenOptions{NoMigrate: true} reports what
// Open would apply. A database without the schema_migrations table has
// every migration pending.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	ms, err := Migrations(db.source.Engine)
	if err != nil {
		return nil, err
	}
	recorded, err := db.recordedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	var out []MigrationStatus
	for _, m := range ms {
		st := MigrationStatus{Version: m.Version, Name: m.Name, State: MigrationPending}
		if r, ok := recorded[m.Version]; ok {
			st.State, st.AppliedAt = MigrationApplied, r.AppliedAt
			delete(recorded, m.Version)
		}
		out = append(out, st)
	}
	for _, r := range recorded {
		r.State = MigrationUnknown
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// recordedMigrations reads schema_migrations, by version; none when the
// table does not exist yet.
func (db *DB) recordedMigrations(ctx context.Context) (map[int]MigrationStatus, error) {
	var n int
	if err := db.rd.queryRow(ctx, db.dialect.tableExists, "schema_migrations").Scan(&n); err != nil {
		return nil, db.wrap(err, "look for schema_migrations")
	}
	recorded := map[int]MigrationStatus{}
	if n == 0 {
		return recorded, nil
	}
	rows, err := db.rd.query(ctx, `SELECT version, name, applied_at FROM schema_migrations`)
	if err != nil {
		return nil, db.wrap(err, "read schema_migrations")
	}
	defer rows.Close()
	for rows.Next() {
		var r MigrationStatus
		if err := rows.Scan(&r.Version, &r.Name, &r.AppliedAt); err != nil {
			return nil, db.wrap(err, "read schema_migrations")
		}
		recorded[r.Version] = r
	}
	return recorded, db.wrap(rows.Err(), "read schema_migrations")
}

// unknownMigrations names the migrations the database records that this
// binary does not know (MigrationUnknown), in version order.
func (db *DB) unknownMigrations(ctx context.Context) ([]string, error) {
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range st {
		if m.State == MigrationUnknown {
			names = append(names, m.Name)
		}
	}
	return names, nil
}

// migrateAttempts bounds how often Migrate runs one migration that failed
// with a transient error, on the engines whose migrations are transactions.
const migrateAttempts = 8

// migrateOne runs one migration's transaction. A migration applied while
// other processes serve (a rolling upgrade, docs/upgrades.md) takes its
// tables' exclusive locks among their transactions, and PostgreSQL may
// break the resulting deadlock by rolling the migration back. That rollback
// is whole on PostgreSQL and SQLite, so the migration is tried again, with
// growing pauses, past Update's own few quick retries. MySQL commits each
// DDL statement on its own, so a migration that failed part-way there is not
// run again.
func (db *DB) migrateOne(ctx context.Context, fn func(tx *Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.Update(ctx, fn)
		if err == nil || attempt == migrateAttempts || db.source.Engine == MySQL || !errors.Is(err, errTransient) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

// splitStatements splits a migration file into statements at semicolons that
// end a line, dropping comment-only lines. Migration files keep each
// statement's closing semicolon at the end of a line and use no semicolons
// inside string literals.
func splitStatements(src string) []string {
	var stmts []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmts = append(stmts, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}
