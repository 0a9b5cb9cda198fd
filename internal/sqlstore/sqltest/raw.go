package sqltest

import (
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/auditlog/auditlog/internal/sqlstore"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// raw remembers, for each store this package opened, the URL of its
// database, so that Exec can reach the same database around the store.
var raw sync.Map // *sqlstore.DB → string

// Exec runs a statement, written with ? placeholders, directly on the
// database of db (a store this package opened), on a connection of its
// own: outside the store's API and its rules, as an insider with database
// access would. Tests use it to break the schema or tamper with stored rows
// on purpose, so that the store's own API needs no such hook.
func Exec(t testing.TB, db *sqlstore.DB, query string, args ...any) {
	t.Helper()
	u, ok := raw.Load(db)
	if !ok {
		t.Fatal("sqltest.Exec: the store was not opened by package sqltest")
	}
	ExecURL(t, u.(string), query, args...)
}

// ExecURL is Exec for the database a DATABASE_URL names, for tests that
// open their stores themselves (as Engine.NewURL lets them).
func ExecURL(t testing.TB, databaseURL, query string, args ...any) {
	t.Helper()
	src, err := sqlstore.ParseURL(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	if src.Engine == sqlstore.Postgres {
		query = dollarPlaceholders(query)
	}
	conn := rawConn(t, src)
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("sqltest.Exec(%q): %v", query, err)
	}
}

// Count runs a query that returns one integer (a COUNT), written with ?
// placeholders, directly on the database of db, as Exec does: tests use it
// to look into what the store keeps beside its API, such as a full-text
// index.
func Count(t testing.TB, db *sqlstore.DB, query string, args ...any) int64 {
	t.Helper()
	u, ok := raw.Load(db)
	if !ok {
		t.Fatal("sqltest.Count: the store was not opened by package sqltest")
	}
	src, err := sqlstore.ParseURL(u.(string))
	if err != nil {
		t.Fatal(err)
	}
	conn := rawConn(t, src)
	defer conn.Close()
	if src.Engine == sqlstore.Postgres {
		query = dollarPlaceholders(query)
	}
	var n int64
	if err := conn.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("sqltest.Count(%q): %v", query, err)
	}
	return n
}

// rawConn opens a connection pool of its own on src's database.
func rawConn(t testing.TB, src sqlstore.Source) *sql.DB {
	t.Helper()
	driver, dsn := map[sqlstore.Engine]string{sqlstore.SQLite: "sqlite", sqlstore.Postgres: "pgx", sqlstore.MySQL: "mysql"}[src.Engine], src.DSN
	if src.Engine == sqlstore.SQLite {
		dsn = "file:" + dsn + "?_pragma=busy_timeout(10000)"
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// dollarPlaceholders rewrites ? as $1, $2, … for PostgreSQL. The statements
// tests write hold no ? inside quoted text.
func dollarPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Reopen opens a second store on the database of db (a store this package
// opened), as another process of the service would: it shares the data
// but none of db's memory. It is closed when the test ends.
func Reopen(t testing.TB, db *sqlstore.DB) *sqlstore.DB {
	t.Helper()
	u, ok := raw.Load(db)
	if !ok {
		t.Fatal("sqltest.Reopen: the store was not opened by package sqltest")
	}
	return open(t, u.(string))
}
