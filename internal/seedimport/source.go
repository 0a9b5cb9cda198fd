package seedimport

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Source is an open database of the seed's Flask system, read only.
type Source struct {
	db     *sql.DB
	engine sqlstore.Engine
	// Safe describes the source without a password.
	Safe string
	// The names of its three tables: the seed's (accounts, users,
	// audit_logs) or Flask-SQLAlchemy's defaults for its models (account,
	// user, audit_log), quoted for the engine.
	accounts, users, logs string
}

// ErrSource wraps what is wrong with a source: unreachable, not the seed's
// schema. Its message never holds a password.
var ErrSource = errors.New("seed database")

// OpenSource opens the seed's database at a SQLAlchemy-style URL
// (sqlite:///rel.db, sqlite:////abs.db, postgresql[+driver]://…,
// mysql[+driver]://…), checks that it answers and that it has the seed's
// three tables. A SQLite file is opened read-only and must exist.
func OpenSource(ctx context.Context, rawURL string) (*Source, error) {
	src, err := sqlstore.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSource, err)
	}
	s := &Source{engine: src.Engine, Safe: src.Safe}
	switch src.Engine {
	case sqlstore.SQLite:
		if src.DSN == ":memory:" {
			return nil, fmt.Errorf("%w: %s: an in-memory database holds nothing to import", ErrSource, src.Safe)
		}
		if _, err := os.Stat(src.DSN); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSource, src.Safe, errors.Unwrap(err))
		}
		q := url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(10000)", "query_only(ON)"}}
		s.db, err = sql.Open("sqlite", "file:"+src.DSN+"?"+q.Encode())
	case sqlstore.Postgres:
		var cfg *pgx.ConnConfig
		if cfg, err = pgx.ParseConfig(src.DSN); err == nil {
			cfg.RuntimeParams["timezone"] = "UTC"
			cfg.RuntimeParams["application_name"] = "auditlog-import"
			if cfg.ConnectTimeout == 0 {
				cfg.ConnectTimeout = 10 * time.Second
			}
			s.db = stdlib.OpenDB(*cfg)
		}
	case sqlstore.MySQL:
		var cfg *mysql.Config
		if cfg, err = mysql.ParseDSN(src.DSN); err == nil {
			delete(cfg.Params, "sql_mode") // reading only; the seed's data may predate strict modes
			cfg.Timeout = 10 * time.Second
			var c driver.Connector
			if c, err = mysql.NewConnector(cfg); err == nil {
				s.db = sql.OpenDB(c)
			}
		}
	default:
		err = fmt.Errorf("engine %s", src.Engine)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSource, src.Safe, err)
	}
	s.db.SetMaxOpenConns(2)
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("%w: cannot reach %s: %v", ErrSource, src.Safe, scrub(err, rawURL))
	}
	if err := s.findTables(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// scrub returns err's text without the URL's password, should a driver
// quote it.
func scrub(err error, rawURL string) string {
	msg := err.Error()
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "***")
		}
	}
	return msg
}

// Close closes the source.
func (s *Source) Close() error { return s.db.Close() }

// quote quotes a table name for the engine (user is reserved in
// PostgreSQL and MySQL).
func (s *Source) quote(name string) string {
	if s.engine == sqlstore.MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// findTables finds the seed's tables under the seed's names or
// Flask-SQLAlchemy's defaults.
func (s *Source) findTables(ctx context.Context) error {
	find := func(names ...string) (string, error) {
		for _, n := range names {
			var one int
			err := s.db.QueryRowContext(ctx, `SELECT 1 FROM `+s.quote(n)+` WHERE 1 = 0`).Scan(&one)
			if err == nil || errors.Is(err, sql.ErrNoRows) {
				return s.quote(n), nil
			}
		}
		return "", fmt.Errorf("%w: %s has no table %s: is it the seed system's database?", ErrSource, s.Safe, strings.Join(names, " or "))
	}
	var err error
	if s.accounts, err = find("accounts", "account"); err != nil {
		return err
	}
	if s.users, err = find("users", "user"); err != nil {
		return err
	}
	s.logs, err = find("audit_logs", "audit_log")
	return err
}

// SeedAccount is a row of the seed's accounts table.
type SeedAccount struct {
	ID        int64
	Name      string
	Domain    string
	CreatedAt time.Time
}

// SeedUser is a row of the seed's users table.
type SeedUser struct {
	ID                        int64
	Email, PasswordHash       string
	FirstName, LastName, Role string
	AccountID                 int64
	IsActive                  bool
	CreatedAt                 time.Time
	problem                   string // what made a value unreadable
}

// SeedLog is a row of the seed's audit_logs table.
type SeedLog struct {
	ID, UserID, AccountID int64 // UserID 0 when NULL
	Action, ResourceType  string
	ResourceID, Details   string
	IPAddress, UserAgent  string
	CreatedAt             time.Time
	problem               string
}

// Accounts returns the seed's accounts in id order.
func (s *Source) Accounts(ctx context.Context) ([]SeedAccount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, domain, created_at FROM `+s.accounts+` ORDER BY id`)
	if err != nil {
		return nil, s.schemaError("accounts", err)
	}
	defer rows.Close()
	var out []SeedAccount
	for rows.Next() {
		var a SeedAccount
		var name, domain sql.NullString
		var created any
		if err := rows.Scan(&a.ID, &name, &domain, &created); err != nil {
			return nil, s.schemaError("accounts", err)
		}
		a.Name, a.Domain = name.String, domain.String
		a.CreatedAt, _ = toTime(created) // a zero time means now
		out = append(out, a)
	}
	return out, s.schemaError("accounts", rows.Err())
}

// Users returns the seed's users in id order.
func (s *Source) Users(ctx context.Context) ([]SeedUser, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, email, password_hash, first_name, last_name, role, account_id, is_active, created_at FROM `+s.users+` ORDER BY id`)
	if err != nil {
		return nil, s.schemaError("users", err)
	}
	defer rows.Close()
	var out []SeedUser
	for rows.Next() {
		var u SeedUser
		var email, hash, first, last, role sql.NullString
		var account sql.NullInt64
		var active, created any
		if err := rows.Scan(&u.ID, &email, &hash, &first, &last, &role, &account, &active, &created); err != nil {
			return nil, s.schemaError("users", err)
		}
		u.Email, u.PasswordHash, u.FirstName, u.LastName, u.Role, u.AccountID = email.String, hash.String, first.String, last.String, role.String, account.Int64
		var ok bool
		if u.IsActive, ok = toBool(active); !ok {
			u.problem = fmt.Sprintf("is_active: %v is not a boolean", active)
		}
		u.CreatedAt, _ = toTime(created)
		out = append(out, u)
	}
	return out, s.schemaError("users", rows.Err())
}

// CountLogs returns how many rows audit_logs holds.
func (s *Source) CountLogs(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+s.logs).Scan(&n)
	return n, s.schemaError("audit_logs", err)
}

// Logs calls fn with each row of audit_logs, account by account, each
// account's rows in their original order (created_at, then id). It stops
// at fn's first error and returns it.
func (s *Source) Logs(ctx context.Context, fn func(*SeedLog) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, account_id, action, resource_type, resource_id, details, ip_address, user_agent, created_at
		FROM `+s.logs+` ORDER BY account_id, created_at, id`)
	if err != nil {
		return s.schemaError("audit_logs", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l SeedLog
		var user, account sql.NullInt64
		var action, rtype, rid, details, ip, ua sql.NullString
		var created any
		if err := rows.Scan(&l.ID, &user, &account, &action, &rtype, &rid, &details, &ip, &ua, &created); err != nil {
			return s.schemaError("audit_logs", err)
		}
		l.UserID, l.AccountID = user.Int64, account.Int64
		l.Action, l.ResourceType, l.ResourceID, l.Details, l.IPAddress, l.UserAgent = action.String, rtype.String, rid.String, details.String, ip.String, ua.String
		var ok bool
		if l.CreatedAt, ok = toTime(created); !ok {
			l.problem = fmt.Sprintf("created_at: %v is not a date and time", created)
		}
		if err := fn(&l); err != nil {
			return err
		}
	}
	return s.schemaError("audit_logs", rows.Err())
}

// schemaError reports a failed read of a table as the source's problem.
func (s *Source) schemaError(table string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %s: reading %s (the seed's columns are expected): %v", ErrSource, s.Safe, table, err)
}

// timeLayouts are the forms a driver may hand a DATETIME column in as text:
// SQLAlchemy's SQLite storage, MySQL's text protocol, ISO 8601.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	time.RFC3339Nano,
	"2006-01-02",
}

// toTime reads a timestamp column. A time without a zone is UTC, as the
// seed writes datetime.utcnow(); ok is false for NULL or an unreadable
// value.
func toTime(v any) (t time.Time, ok bool) {
	var s string
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Truncate(time.Microsecond), !x.IsZero()
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return time.Time{}, false
	}
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Microsecond), true
		}
	}
	return time.Time{}, false
}

// toBool reads a boolean column: a bool, or 0/1 as a number or text (SQLite
// and MySQL store BOOLEAN as integers). NULL is false.
func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case nil:
		return false, true
	case bool:
		return x, true
	case int64:
		return x != 0, true
	case []byte:
		return toBool(string(x))
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "1", "true", "t":
			return true, true
		case "0", "false", "f":
			return false, true
		}
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return n != 0, true
		}
	}
	return false, false
}
