// Package sqltest opens fresh, migrated databases for tests, on every engine
// the test run can reach.
//
// SQLite always runs, on a file in the test's temporary directory.
// PostgreSQL runs when AUDITLOG_TEST_POSTGRES_URL is set and MySQL/MariaDB
// when AUDITLOG_TEST_MYSQL_URL is set, each a URL of a database on the
// server that the test may connect to as a user allowed to create
// databases, such as
//
//	AUDITLOG_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	AUDITLOG_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/test
//
// When one is not set, the tests of that engine are skipped, each with a
// message naming the variable, so that `go test -v` shows what did not run.
// When CI=true both must be set and reachable, or the test fails.
//
// Every database a test opens is its own: a new database named
// auditlog_test_<time>_<random> on that server, dropped when the test ends,
// so runs never see each other's rows and leave nothing behind. Databases
// left by a run that was killed are dropped by a later run once they are an
// hour old.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Environment variables that name the test servers.
const (
	PostgresURLVar = "AUDITLOG_TEST_POSTGRES_URL"
	MySQLURLVar    = "AUDITLOG_TEST_MYSQL_URL"
)

// dbPrefix starts the name of every database this package creates.
const dbPrefix = "auditlog_test_"

// Engine is one database engine a test can run on.
type Engine struct {
	Name string
	// Open returns a fresh, migrated database that is dropped when the test ends.
	Open func(t testing.TB) *sqlstore.DB
	// NewURL returns the DATABASE_URL of a fresh, empty database that is
	// dropped when the test ends, for tests that connect on their own (such
	// as a test that starts the service as a separate process).
	NewURL func(t testing.TB) string

	// unset names the environment variable that is not set, when this run
	// does not cover the engine.
	unset string
}

// Require skips t, naming the environment variable to set, when this run
// does not cover the engine. Open and NewURL call it first; a test that does
// other work for the engine before calling either calls it at its start.
func (e Engine) Require(t testing.TB) {
	t.Helper()
	if e.unset != "" {
		t.Skipf("%s is not set: the %s tests did not run", e.unset, e.Name)
	}
}

// Covered reports whether this run covers the engine (its URL is set), for
// tests that must open their databases before they can skip per engine,
// such as a fuzz test's.
func (e Engine) Covered() bool { return e.unset == "" }

// Engines returns every engine, SQLite first. An engine whose URL is not set
// is still returned: its Open and NewURL skip the test (see Require), so a
// subtest per engine shows the skip. Engines fails the test when a server
// engine's URL is set but the server cannot be reached, and when CI=true and
// a URL is not set.
func Engines(t testing.TB) []Engine {
	t.Helper()
	engines := []Engine{{Name: "sqlite", Open: OpenSQLite, NewURL: sqliteURL}}
	for _, s := range serverList {
		url := os.Getenv(s.envVar)
		if url == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true but %s is not set: the %s tests must run in CI", s.envVar, s.name)
			}
			e := Engine{Name: s.name, unset: s.envVar}
			e.Open = func(t testing.TB) *sqlstore.DB { e.Require(t); panic("unreachable") }
			e.NewURL = func(t testing.TB) string { e.Require(t); panic("unreachable") }
			engines = append(engines, e)
			continue
		}
		if _, err := s.admin(url); err != nil {
			t.Fatalf("%s: %v", s.envVar, err)
		}
		engines = append(engines, Engine{
			Name:   s.name,
			Open:   func(t testing.TB) *sqlstore.DB { return open(t, s.newURL(t, url)) },
			NewURL: func(t testing.TB) string { return s.newURL(t, url) },
		})
	}
	return engines
}

// Run runs fn as a subtest once per engine, each with a fresh database. The
// subtest of an engine this run does not cover is skipped.
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
	return open(t, sqliteURL(t))
}

func sqliteURL(t testing.TB) string {
	return "sqlite:///" + filepath.Join(t.TempDir(), "test.db")
}

// setupDeadline bounds opening, migrating, creating and dropping a test
// database, so that a server that stops answering fails the test instead of
// hanging it.
const setupDeadline = time.Minute

func open(t testing.TB, url string) *sqlstore.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), setupDeadline)
	defer cancel()
	db, err := sqlstore.Open(ctx, url)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	raw.Store(db, url)
	t.Cleanup(func() { raw.Delete(db); db.Close() })
	return db
}

// server is a database server that tests create databases on.
type server struct {
	name   string // engine name
	envVar string
	driver string // database/sql driver name
	create string // CREATE DATABASE statement, with %s for the name
	drop   string // DROP DATABASE statement, with %s for the name
	list   string // query listing the names of this package's databases
	// sessions, when set, lists the ids of the sessions still connected to
	// the database named by its one parameter, and kill ends one: a
	// session the test left behind (a statement the server still runs
	// after its client went away) would hold a lock that DROP DATABASE
	// waits for.
	sessions, kill string

	once  sync.Once
	db    *sql.DB // admin connection to the database named by the URL
	dbErr error
}

// The servers, in the order their engines run.
var serverList = []*server{
	{
		name: "postgres", envVar: PostgresURLVar, driver: "pgx",
		create: `CREATE DATABASE %s`,
		drop:   `DROP DATABASE IF EXISTS %s WITH (FORCE)`,
		list:   `SELECT datname FROM pg_database WHERE datname LIKE 'auditlog\_test\_%'`,
	},
	{
		name: "mysql", envVar: MySQLURLVar, driver: "mysql",
		create:   `CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
		drop:     `DROP DATABASE IF EXISTS %s`,
		list:     `SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'auditlog\_test\_%'`,
		sessions: `SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()`,
		kill:     `KILL %d`,
	},
}

// admin returns a connection to the database the URL names, opened once per
// test binary, after sweeping databases that killed runs left behind.
func (s *server) admin(rawURL string) (*sql.DB, error) {
	s.once.Do(func() {
		src, err := sqlstore.ParseURL(rawURL)
		if err != nil {
			s.dbErr = err
			return
		}
		if string(src.Engine) != s.name {
			s.dbErr = fmt.Errorf("want a %s URL, got one for %s", s.name, src.Engine)
			return
		}
		db, err := sql.Open(s.driver, src.DSN)
		if err != nil {
			s.dbErr = err
			return
		}
		db.SetMaxOpenConns(4)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			s.dbErr = fmt.Errorf("cannot reach %s: %w", src.Safe, err)
			return
		}
		s.db = db
		s.sweep(ctx)
	})
	return s.db, s.dbErr
}

// sweep drops this package's databases that are more than an hour old:
// those of runs killed before their cleanup ran.
func (s *server) sweep(ctx context.Context) {
	rows, err := s.db.QueryContext(ctx, s.list)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		stamp, _, _ := strings.Cut(strings.TrimPrefix(name, dbPrefix), "_")
		if sec, err := strconv.ParseInt(stamp, 10, 64); err == nil && time.Since(time.Unix(sec, 0)) > time.Hour {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		s.db.ExecContext(ctx, fmt.Sprintf(s.drop, name))
	}
}

// newURL creates a fresh database on the server and returns the URL of it:
// rawURL with the database name replaced.
func (s *server) newURL(t testing.TB, rawURL string) string {
	t.Helper()
	admin, err := s.admin(rawURL)
	if err != nil {
		t.Fatalf("%s: %v", s.envVar, err)
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		t.Fatalf("%s must be a URL such as %s://user@127.0.0.1/test", s.envVar, s.name)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := fmt.Sprintf("%s%d_%s", dbPrefix, time.Now().Unix(), hex.EncodeToString(b))
	ctx, cancel := context.WithTimeout(t.Context(), setupDeadline)
	defer cancel()
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(s.create, name)); err != nil {
		t.Fatalf("create test database on %s: %v", s.name, err)
	}
	t.Cleanup(func() {
		// The test's context has ended by now.
		ctx, cancel := context.WithTimeout(context.Background(), 2*setupDeadline)
		defer cancel()
		s.killSessions(ctx, admin, name)
		if _, err := admin.ExecContext(ctx, fmt.Sprintf(s.drop, name)); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// killSessions ends the sessions still connected to the named database,
// where the engine needs that before DROP DATABASE. Errors are ignored:
// the drop that follows reports what matters.
func (s *server) killSessions(ctx context.Context, admin *sql.DB, name string) {
	if s.sessions == "" {
		return
	}
	rows, err := admin.QueryContext(ctx, s.sessions, name)
	if err != nil {
		return
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	for _, id := range ids {
		admin.ExecContext(ctx, fmt.Sprintf(s.kill, id))
	}
}

var (
	signerOnce sync.Once
	signer     *tlog.Signer
	signerErr  error
)

// Signer returns the checkpoint signer that tests append with: one key per
// test process, named "test.auditlog".
func Signer(t testing.TB) *tlog.Signer {
	t.Helper()
	signerOnce.Do(func() {
		var skey string
		if skey, _, signerErr = tlog.GenerateKey("test.auditlog"); signerErr == nil {
			signer, signerErr = tlog.NewSigner(skey)
		}
	})
	if signerErr != nil {
		t.Fatalf("checkpoint signer: %v", signerErr)
	}
	return signer
}
