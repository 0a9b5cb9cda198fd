// Package seedtest builds databases shaped like the seed's Flask system
// (its tables accounts, users and audit_logs, as Flask-SQLAlchemy creates
// them from the seed's documented models) on SQLite, PostgreSQL and MySQL,
// for tests and measurements of the import.
package seedtest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Account, User and Log are rows of the seed's tables. A zero UserID is
// NULL.
type Account struct {
	ID        int64
	Name      string
	Domain    string
	CreatedAt time.Time
}

// User is a row of users.
type User struct {
	ID                        int64
	Email, PasswordHash       string
	FirstName, LastName, Role string
	AccountID                 int64
	IsActive                  bool
	CreatedAt                 time.Time
}

// Log is a row of audit_logs.
type Log struct {
	ID, UserID, AccountID                     int64
	Action, ResourceType, ResourceID, Details string
	IPAddress, UserAgent                      string
	CreatedAt                                 time.Time
}

// schema is the DDL Flask-SQLAlchemy emits for the seed's models, per
// engine.
var schema = map[sqlstore.Engine][]string{
	sqlstore.SQLite: {
		`CREATE TABLE accounts (id INTEGER NOT NULL, name VARCHAR(100) NOT NULL, domain VARCHAR(100) NOT NULL,
			created_at DATETIME, PRIMARY KEY (id), UNIQUE (domain))`,
		`CREATE TABLE users (id INTEGER NOT NULL, email VARCHAR(120) NOT NULL, password_hash VARCHAR(255) NOT NULL,
			first_name VARCHAR(50), last_name VARCHAR(50), role VARCHAR(20) NOT NULL, account_id INTEGER NOT NULL,
			is_active BOOLEAN, created_at DATETIME, PRIMARY KEY (id), UNIQUE (email),
			FOREIGN KEY(account_id) REFERENCES accounts (id))`,
		`CREATE TABLE audit_logs (id INTEGER NOT NULL, user_id INTEGER, account_id INTEGER NOT NULL,
			action VARCHAR(100) NOT NULL, resource_type VARCHAR(50), resource_id VARCHAR(100), details TEXT,
			ip_address VARCHAR(45), user_agent TEXT, created_at DATETIME, PRIMARY KEY (id),
			FOREIGN KEY(user_id) REFERENCES users (id), FOREIGN KEY(account_id) REFERENCES accounts (id))`,
	},
	sqlstore.Postgres: {
		`CREATE TABLE accounts (id SERIAL NOT NULL, name VARCHAR(100) NOT NULL, domain VARCHAR(100) NOT NULL,
			created_at TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY (id), UNIQUE (domain))`,
		`CREATE TABLE users (id SERIAL NOT NULL, email VARCHAR(120) NOT NULL, password_hash VARCHAR(255) NOT NULL,
			first_name VARCHAR(50), last_name VARCHAR(50), role VARCHAR(20) NOT NULL, account_id INTEGER NOT NULL,
			is_active BOOLEAN, created_at TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY (id), UNIQUE (email),
			FOREIGN KEY(account_id) REFERENCES accounts (id))`,
		`CREATE TABLE audit_logs (id SERIAL NOT NULL, user_id INTEGER, account_id INTEGER NOT NULL,
			action VARCHAR(100) NOT NULL, resource_type VARCHAR(50), resource_id VARCHAR(100), details TEXT,
			ip_address VARCHAR(45), user_agent TEXT, created_at TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY (id),
			FOREIGN KEY(user_id) REFERENCES users (id), FOREIGN KEY(account_id) REFERENCES accounts (id))`,
	},
	sqlstore.MySQL: {
		`CREATE TABLE accounts (id INTEGER NOT NULL AUTO_INCREMENT, name VARCHAR(100) NOT NULL, domain VARCHAR(100) NOT NULL,
			created_at DATETIME, PRIMARY KEY (id), UNIQUE (domain))`,
		`CREATE TABLE users (id INTEGER NOT NULL AUTO_INCREMENT, email VARCHAR(120) NOT NULL, password_hash VARCHAR(255) NOT NULL,
			first_name VARCHAR(50), last_name VARCHAR(50), role VARCHAR(20) NOT NULL, account_id INTEGER NOT NULL,
			is_active BOOL, created_at DATETIME, PRIMARY KEY (id), UNIQUE (email),
			FOREIGN KEY(account_id) REFERENCES accounts (id))`,
		`CREATE TABLE audit_logs (id INTEGER NOT NULL AUTO_INCREMENT, user_id INTEGER, account_id INTEGER NOT NULL,
			action VARCHAR(100) NOT NULL, resource_type VARCHAR(50), resource_id VARCHAR(100), details TEXT,
			ip_address VARCHAR(45), user_agent TEXT, created_at DATETIME, PRIMARY KEY (id),
			FOREIGN KEY(user_id) REFERENCES users (id), FOREIGN KEY(account_id) REFERENCES accounts (id))`,
	},
}

// DB is a seed-shaped database being written.
type DB struct {
	db     *sql.DB
	engine sqlstore.Engine
}

// Create creates the seed's tables in the (empty) database at databaseURL,
// a URL sqlstore.ParseURL reads; a SQLite file is created.
func Create(ctx context.Context, databaseURL string) (*DB, error) {
	src, err := sqlstore.ParseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	driver := map[sqlstore.Engine]string{sqlstore.SQLite: "sqlite", sqlstore.Postgres: "pgx", sqlstore.MySQL: "mysql"}[src.Engine]
	db, err := sql.Open(driver, src.DSN)
	if err != nil {
		return nil, err
	}
	for _, stmt := range schema[src.Engine] {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("seed schema: %w", err)
		}
	}
	return &DB{db: db, engine: src.Engine}, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Exec runs a statement (with ? placeholders) on the seed database.
func (d *DB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := d.db.ExecContext(ctx, d.rebind(query), args...)
	return err
}

func (d *DB) rebind(q string) string {
	if d.engine != sqlstore.Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// t renders a time as each engine's SQLAlchemy stores it: text with
// microseconds in SQLite, a timestamp in PostgreSQL, a DATETIME (whole
// seconds) in MySQL; the zero time is NULL.
func (d *DB) t(v time.Time) any {
	if v.IsZero() {
		return nil
	}
	switch d.engine {
	case sqlstore.SQLite:
		return v.UTC().Format("2006-01-02 15:04:05.000000")
	case sqlstore.MySQL:
		return v.UTC().Format("2006-01-02 15:04:05")
	}
	return v.UTC()
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// AddAccounts inserts accounts.
func (d *DB) AddAccounts(ctx context.Context, as ...Account) error {
	return d.insert(ctx, "accounts", "id, name, domain, created_at", len(as), func(i int) []any {
		a := as[i]
		return []any{a.ID, a.Name, a.Domain, d.t(a.CreatedAt)}
	})
}

// AddUsers inserts users.
func (d *DB) AddUsers(ctx context.Context, us ...User) error {
	return d.insert(ctx, "users", "id, email, password_hash, first_name, last_name, role, account_id, is_active, created_at", len(us), func(i int) []any {
		u := us[i]
		return []any{u.ID, u.Email, u.PasswordHash, u.FirstName, u.LastName, u.Role, u.AccountID, u.IsActive, d.t(u.CreatedAt)}
	})
}

// AddLogs inserts audit logs.
func (d *DB) AddLogs(ctx context.Context, ls ...Log) error {
	return d.insert(ctx, "audit_logs", "id, user_id, account_id, action, resource_type, resource_id, details, ip_address, user_agent, created_at", len(ls), func(i int) []any {
		l := ls[i]
		return []any{l.ID, nullID(l.UserID), l.AccountID, l.Action, l.ResourceType, l.ResourceID, l.Details, l.IPAddress, l.UserAgent, d.t(l.CreatedAt)}
	})
}

// insert writes n rows in multi-row INSERTs of up to 500 rows, in one
// transaction.
func (d *DB) insert(ctx context.Context, table, cols string, n int, row func(int) []any) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ncol := strings.Count(cols, ",") + 1
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncol), ", ") + ")"
	for start := 0; start < n; start += 500 {
		end := min(start+500, n)
		var args []any
		for i := start; i < end; i++ {
			args = append(args, row(i)...)
		}
		q := "INSERT INTO " + table + " (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", end-start), ", ")
		if _, err := tx.ExecContext(ctx, d.rebind(q), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return tx.Commit()
}
