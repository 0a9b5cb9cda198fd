package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

var mysqlDialect = &dialect{
	engine: MySQL,
	// InnoDB samples a fixed number of pages per index. (MariaDB collects
	// its engine-independent statistics, a full scan, only when asked with
	// PERSISTENT FOR.)
	analyzeLog: analyzeStatements(`ANALYZE TABLE events, log_tiles, checkpoints, event_counts, event_party_counts, event_actor_counts`),
	// Unprepared statements with arguments cost three round trips each
	// (prepare, execute, close); prepared ones cost one.
	prepare:     true,
	rebind:      func(q string) string { return q },
	forUpdate:   " FOR UPDATE",
	tableExists: `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?`,
	timeArg:     func(t time.Time) any { return t.UTC().Truncate(time.Microsecond) },
	classify:    classifyMySQL,
	searchText:  mysqlSearchText,
	search:      mysqlSearch,
	// InnoDB's REPEATABLE READ reads from one snapshot. Writes run in READ
	// COMMITTED: they rely on row locks, not on the isolation level, and it
	// keeps InnoDB from taking gap locks on ranges it merely scanned (as a
	// session sweep does), which would block concurrent inserts.
	readTx:         &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	writeTx:        &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	lockMigrations: lockMySQLMigrations,
}

// lockMySQLMigrations takes a named lock per database with GET_LOCK. MySQL
// commits each DDL statement on its own, so this lock, not a transaction, is
// what keeps two processes from applying the same migration.
func lockMySQLMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	const name = `LEFT(CONCAT('auditlog.migrate.', DATABASE()), 64)`
	for {
		// Wait in short rounds so that a cancelled ctx is noticed.
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(`+name+`, 2)`).Scan(&got); err != nil {
			return nil, err
		}
		if got.Valid && got.Int64 == 1 {
			break
		}
		if !got.Valid {
			return nil, errors.New("GET_LOCK failed")
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return func() {
		conn.ExecContext(context.WithoutCancel(ctx), `DO RELEASE_LOCK(`+name+`)`)
	}, nil
}

// MySQL and MariaDB server error numbers
// (https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html,
// https://mariadb.com/kb/en/mariadb-error-code-reference/).
const (
	erDupEntry              = 1062
	erDupEntryWithKeyName   = 1586
	erNoReferencedRow       = 1216
	erNoReferencedRow2      = 1452
	erLockWaitTimeout       = 1205
	erLockDeadlock          = 1213
	erDiskFull              = 1021 // "Disk full; waiting for someone to free some space"
	erRecordFileFull        = 1114 // "The table is full"
	erConCount              = 1040
	erServerShutdown        = 1053
	erOptionPreventsStmt    = 1290 // --read-only, as on a replica
	erConnectionKilled      = 1927 // MariaDB
	erStatementTimeout      = 1969 // MariaDB max_statement_time
	erQueryTimeout          = 3024 // MySQL max_execution_time
	erClientInteractionTime = 4031 // MySQL: the server closed an idle connection
)

// classifyMySQL classifies a go-sql-driver error by its server error number.
func classifyMySQL(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case erDupEntry, erDupEntryWithKeyName:
			return fmt.Errorf("%w: %w", errUnique, err)
		case erNoReferencedRow, erNoReferencedRow2:
			return fmt.Errorf("%w: %w", errForeignKey, err)
		case erLockWaitTimeout, erLockDeadlock:
			return fmt.Errorf("%w: %w", errTransient, err)
		case erDiskFull, erRecordFileFull:
			return fmt.Errorf("%w: %w", errFull, err)
		case erConCount, erServerShutdown, erOptionPreventsStmt, erConnectionKilled, erStatementTimeout, erQueryTimeout, erClientInteractionTime:
			return fmt.Errorf("%w: %w", errUnavailable, err)
		}
		return err
	}
	if errors.Is(err, mysql.ErrInvalidConn) {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	return classifyConnError(err)
}
