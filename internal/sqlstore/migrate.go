package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
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
	ms, err := Migrations(db.source.Engine)
	if err != nil {
		return nil, err
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
		err := db.Update(ctx, func(tx *Tx) error {
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
	return applied, nil
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
