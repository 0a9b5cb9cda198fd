package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// migrationLockKey is the pg_advisory_lock key that Migrate holds on
// PostgreSQL. Advisory locks are scoped to the current database, so one key
// serves every database on a server.
const migrationLockKey int64 = 0x6175_6469_746c_6f67 // "auditlog"

var postgresDialect = &dialect{
	engine:      Postgres,
	rebind:      rebindDollar,
	forUpdate:   " FOR UPDATE",
	tableExists: `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`,
	returningID: " RETURNING id",
	timeArg:     func(t time.Time) any { return t.UTC().Truncate(time.Microsecond) },
	classify:    classifyPostgres,
	copyEvents:  copyPostgres,
	searchText:  plainSearchText,
	search:      postgresSearch,
	// A prepared statement gets a generic plan after five executions;
	// for the IDs of a batch just written it did not know that
	// seq > $2 AND seq <= $3 spans few rows, and scanned the table (8 ms
	// instead of 0.2 ms). The simple protocol plans each time.
	planFresh: []any{pgx.QueryExecModeSimpleProtocol},
	castInt:   "::bigint",
	// A count reads a few thousand rows, yet PostgreSQL planned two
	// parallel workers for it: 260-450 ms instead of 80-100 ms for the
	// 7-day summary at a million events on a busy machine.
	smallRead: "SET LOCAL max_parallel_workers_per_gather = 0",
	// ANALYZE reads a sample of 300 × default_statistics_target rows.
	analyzeLog: analyzeStatements(`ANALYZE events, log_tiles, checkpoints, event_counts, event_party_counts, event_actor_counts`),
	castBytes:  "::bytea",
	readTx:     &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	writeTx:    &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	lockMigrations: func(ctx context.Context, conn *sql.Conn) (func(), error) {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
			return nil, err
		}
		return func() {
			// Closing the connection would release the lock too; unlock
			// explicitly so the connection can go back to the pool.
			conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
		}, nil
	},
}

// rebindDollar rewrites ? placeholders as $1, $2, … outside quoted text.
func rebindDollar(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// classifyPostgres classifies a pgx error by its SQLSTATE code
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
func classifyPostgres(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", errUnique, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: %w", errForeignKey, err)
		case "40001", "40P01", "55P03": // serialization_failure, deadlock_detected, lock_not_available
			return fmt.Errorf("%w: %w", errTransient, err)
		case "53100": // disk_full
			return fmt.Errorf("%w: %w", errFull, err)
		case "53300", "57P01", "57P02", "57P03", "57014", "25006":
			// too_many_connections, admin_shutdown, crash_shutdown,
			// cannot_connect_now, query_canceled (statement_timeout),
			// read_only_sql_transaction (connected to a standby)
			return fmt.Errorf("%w: %w", errUnavailable, err)
		}
		if strings.HasPrefix(pe.Code, "08") { // connection_exception
			return fmt.Errorf("%w: %w", errUnavailable, err)
		}
		return err
	}
	if pgconn.SafeToRetry(err) {
		// Nothing reached the server, so the transaction did not commit.
		return fmt.Errorf("%w: %w", errTransient, err)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	return classifyConnError(err)
}

// copyPostgres loads rows into events with COPY, on the pgx connection under
// conn, inside the transaction open on it.
func copyPostgres(ctx context.Context, conn *sql.Conn, columns []string, rows [][]any) error {
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlstore: COPY needs a pgx connection, not %T", driverConn)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{"events"}, columns, pgx.CopyFromRows(rows))
		return err
	})
}

// postgresBytewise reports whether the database's default collation, the
// one of events.action, sorts ASCII text as its bytes: every printable
// ASCII character after "a", and "a" alone, in the same order as under
// "C". PostgreSQL reads a LIKE prefix off a b-tree index only under the C
// collation by name, not under C.UTF-8 (the Debian default), which sorts
// the same: there an action prefix is read as a range instead
// (DB.prefixByRange). Under a linguistic collation (en_US and the like,
// which skip punctuation) it is not, and the search keeps LIKE.
func postgresBytewise(ctx context.Context, db *sql.DB) (bool, error) {
	var same bool
	err := db.QueryRowContext(ctx, `SELECT array_agg(t ORDER BY t) = array_agg(t ORDER BY t COLLATE "C")
		FROM (SELECT 'a' || chr(c) || 'b' AS t FROM generate_series(32, 126) c UNION ALL SELECT 'a') s`).Scan(&same)
	return same, err
}
