package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds what differs between engines. Keep it narrow: add a member
// only when an engine forces a difference.
type dialect struct {
	engine Engine
	// rebind rewrites a query written with ? placeholders for the engine.
	rebind func(query string) string
	// forUpdate is appended to a SELECT that must lock the rows it reads.
	// SQLite needs none: its write transactions start IMMEDIATE.
	forUpdate string
	// returningID, when set, is appended to an INSERT to make it return the
	// new row's id, for drivers without LastInsertId (pgx).
	returningID string
	// timeArg converts a time for use as a query argument.
	timeArg func(t time.Time) any
	// classify marks a driver error, by its code, with errUnique,
	// errForeignKey, errTransient or errUnavailable, or returns it as it is.
	classify func(err error) error
	// readTx and writeTx are the options of read transactions (one
	// snapshot, so a count and a page agree) and write transactions.
	readTx, writeTx *sql.TxOptions
	// lockMigrations, when set, takes a lock on conn that keeps other
	// processes from migrating the same database until unlock is called.
	// SQLite needs none: its write transactions exclude each other.
	lockMigrations func(ctx context.Context, conn *sql.Conn) (unlock func(), err error)
	// tableExists counts the tables of the store's database (or schema)
	// named by its one argument: 1 or 0.
	tableExists string
	// planFresh, prepended to a query's arguments, makes the engine plan
	// that execution for its values rather than reuse a generic plan.
	planFresh []any
	// castInt and castBytes follow a placeholder whose type the engine
	// cannot infer (inside CASE), to type it as BIGINT or binary.
	castInt, castBytes string
	// copyEvents, when set, bulk-loads event rows on conn, inside the
	// transaction open on it (PostgreSQL's COPY). Without it, events are
	// written by multi-row INSERTs.
	copyEvents func(ctx context.Context, conn *sql.Conn, columns []string, rows [][]any) error
	// searchText writes the tokens of an event's searchable text as the
	// engine's full-text index reads them (searchtext.go).
	searchText func(tokens []string) string
	// search compiles free words and the engine-specific qualifiers
	// (search.go).
	search searchDialect
	// analyzeLog refreshes, by sampling, the planner's statistics of the
	// tables that grow with the log (see stats.go).
	analyzeLog func(ctx context.Context, db *DB) error
	// smallRead, when set, runs first in a read transaction whose queries
	// read few rows, where starting parallel workers costs more than the
	// query (PostgreSQL's analytics counts, and a search's count and page).
	smallRead string
	// prepare makes the store prepare each fixed statement once per
	// connection (see runner). PostgreSQL needs none: pgx caches prepared
	// statements per connection itself.
	prepare bool
}

// timeLayout is how SQLite stores times: UTC, fixed width, so that text order
// is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

var sqliteDialect = &dialect{
	engine: SQLite,
	// A sampled ANALYZE: each index reads about 1,000 rows whatever its
	// size. The limit is the connection's, so it is set back for Analyze.
	analyzeLog: analyzeStatements(`PRAGMA analysis_limit = 1000`, `ANALYZE events`, `ANALYZE log_tiles`,
		`ANALYZE checkpoints`, `ANALYZE event_counts`, `ANALYZE event_party_counts`, `ANALYZE event_actor_counts`, `PRAGMA analysis_limit = 0`),
	// Parsing and planning a statement cost about a quarter of a list
	// request's CPU when every call prepared it afresh.
	prepare:     true,
	rebind:      func(q string) string { return q },
	forUpdate:   "",
	tableExists: `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`,
	searchText:  plainSearchText,
	search:      sqliteSearch,
	timeArg:     func(t time.Time) any { return t.UTC().Format(timeLayout) }, // Format truncates to µs
	classify: func(err error) error {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return err
		}
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", errUnique, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", errForeignKey, err)
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", errTransient, err)
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("%w: %w", errFull, err)
		}
		return err
	},
}

// timeValue scans a time stored by any engine: a time.Time, or text in
// timeLayout or RFC 3339.
type timeValue struct{ t *time.Time }

// Scan implements sql.Scanner.
func (v timeValue) Scan(src any) error {
	switch s := src.(type) {
	case time.Time:
		*v.t = s.UTC()
		return nil
	case string:
		return v.parse(s)
	case []byte:
		return v.parse(string(s))
	case nil:
		*v.t = time.Time{}
		return nil
	}
	return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
}

func (v timeValue) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse("2006-01-02 15:04:05.999999999", s)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: bad stored time %q: %w", s, err)
	}
	*v.t = t.UTC()
	return nil
}
