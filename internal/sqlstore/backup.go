package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"sort"
)

// ErrBackupEngine is Backup's answer on PostgreSQL and MySQL, whose own
// tools make consistent online backups (docs/operations.md#backups).
var ErrBackupEngine = errors.New("auditlog backup copies SQLite databases only: back up PostgreSQL with pg_dump or pg_basebackup and MySQL/MariaDB with mariadb-dump --single-transaction or mariabackup (docs/operations.md#backups), then check the restored copy with auditlog restore-check --database-url")

// Backup writes a consistent copy of a SQLite database to the new file
// path (VACUUM INTO, from one read transaction: writers go on meanwhile,
// and the copy holds every transaction committed before it began and
// none after). The file must not exist. On the server engines it returns
// ErrBackupEngine.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.source.Engine != SQLite || db.source.DSN == ":memory:" {
		return ErrBackupEngine
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists: a backup is written to a new file", path)
	}
	// A reader's connection (the writer's would hold up every write
	// meanwhile), allowed to write for this statement: it writes only the
	// new file.
	conn, err := db.read.Conn(ctx)
	if err != nil {
		return db.wrap(err, "connect")
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = OFF`); err != nil {
		return db.wrap(err, "allow the backup")
	}
	_, err = conn.ExecContext(ctx, `VACUUM INTO ?`, path)
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA query_only = ON`); err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn }) // never back in the pool writable
	}
	if err != nil {
		os.Remove(path) // a part-written copy is no backup
		return db.wrap(err, "vacuum into "+path)
	}
	return nil
}

// LoggedAccounts returns, in order, the ids of every account and of every
// log head (a head whose account row is gone is still a log to verify).
func (db *DB) LoggedAccounts(ctx context.Context) ([]int64, error) {
	seen := map[int64]bool{}
	for _, q := range []string{`SELECT id FROM accounts`, `SELECT account_id FROM log_heads`} {
		rows, err := db.rd.query(ctx, q)
		if err != nil {
			return nil, db.wrap(err, "list accounts")
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, db.wrap(err, "scan account id")
			}
			seen[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, db.wrap(err, "list accounts")
		}
	}
	ids := make([]int64, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}
