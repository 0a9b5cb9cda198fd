package sqlstore

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// Engine names a supported database engine.
type Engine string

// The supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
	MySQL    Engine = "mysql"
)

// Source is a parsed DATABASE_URL: the engine, the driver's data source name,
// and a description that is safe to log (it never contains a password).
type Source struct {
	Engine Engine
	// DSN is what the engine's driver takes: a file path for SQLite, a
	// postgres:// URL or keyword/value string for pgx, a go-sql-driver DSN
	// for MySQL. It may contain a password: never log it.
	DSN string
	// Safe names the engine, the host and the database, never a password.
	Safe string
}

// Patterns that recognise the Go drivers' own DSN forms, which have no scheme.
var (
	// go-sql-driver/mysql: [user[:password]@][net[(addr)]]/dbname[?params]
	mysqlDSNPattern = regexp.MustCompile(`^(?:.*@)?(?:(?:tcp|tcp4|tcp6|unix)\([^)]*\))?/[^/]*$`)
	// pgx keyword/value: host=localhost dbname=audit ...
	pgKeywordPattern = regexp.MustCompile(`^[a-z_]+\s*=`)
)

// ParseURL parses a database URL. It accepts the URLs a user of the seed
// (SQLAlchemy) already has, and the native DSN forms of the Go drivers:
//
//   - SQLite: sqlite:///relative/path.db, sqlite:////absolute/path.db,
//     sqlite://:memory:, file:path.db, and a bare file path ending in .db,
//     .sqlite or .sqlite3.
//   - PostgreSQL: postgres://…, postgresql://…, postgresql+DRIVER://… (such
//     as postgresql+psycopg2://), and pgx's keyword/value form
//     "host=… dbname=… user=…". Query parameters are pgx's (sslmode and so on).
//   - MySQL and MariaDB: mysql://…, mysql+DRIVER://… (such as
//     mysql+pymysql://), mariadb://…, and go-sql-driver's form
//     "user:password@tcp(host:3306)/dbname". Query parameters are
//     go-sql-driver's, except charset (the service always uses utf8mb4) and
//     unix_socket (SQLAlchemy's way to name a socket).
//
// The service sets the session options it relies on (UTC, strict SQL mode,
// utf8mb4) itself. ParseURL does not connect; errors never contain a password.
func ParseURL(raw string) (Source, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Source{}, fmt.Errorf("database URL is empty")
	}
	scheme, rest, hasScheme := strings.Cut(raw, "://")
	if !hasScheme {
		switch {
		case strings.HasPrefix(raw, "file:"):
			return sqliteSource(strings.TrimPrefix(raw, "file:"))
		case strings.HasSuffix(raw, ".db"), strings.HasSuffix(raw, ".sqlite"), strings.HasSuffix(raw, ".sqlite3"):
			return sqliteSource(raw)
		case mysqlDSNPattern.MatchString(strings.SplitN(raw, "?", 2)[0]):
			cfg, err := mysql.ParseDSN(raw)
			if err != nil {
				return Source{}, fmt.Errorf("database URL %s: not a valid MySQL DSN: %v", redact(raw), err)
			}
			return mysqlSource(cfg)
		case pgKeywordPattern.MatchString(raw):
			return postgresSource(raw)
		}
		return Source{}, fmt.Errorf("database URL %q: want a URL such as sqlite:///audit_logs.db, postgresql://user@host/db or mysql://user@host/db", redact(raw))
	}
	base, _, _ := strings.Cut(strings.ToLower(scheme), "+") // postgresql+psycopg2 → postgresql
	switch base {
	case "sqlite", "sqlite3":
		// sqlite:///rel.db has rest "/rel.db"; sqlite:////abs.db has rest "//abs.db".
		path := strings.TrimPrefix(rest, "/")
		if path == "" {
			return Source{}, fmt.Errorf("database URL %q: missing file path, as in sqlite:///audit_logs.db", raw)
		}
		return sqliteSource(path)
	case "postgres", "postgresql":
		return postgresSource("postgres://" + rest)
	case "mysql", "mariadb":
		return mysqlURLSource(base + "://" + rest)
	}
	return Source{}, fmt.Errorf("database URL %s: unsupported engine %q on %s (supported: sqlite, postgresql, mysql)",
		redact(raw), scheme, hostOf(raw))
}

func sqliteSource(path string) (Source, error) {
	path, query, _ := strings.Cut(path, "?")
	if query != "" {
		return Source{}, fmt.Errorf("database URL: SQLite options in the URL are not supported; the service sets its own")
	}
	return Source{Engine: SQLite, DSN: path, Safe: "sqlite file " + path}, nil
}

// postgresSource checks a pgx connection string (URL or keyword/value) by
// parsing it as pgx will, and describes it without the password.
func postgresSource(dsn string) (Source, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		// pgconn's message already shows the string with the password masked.
		return Source{}, fmt.Errorf("database URL: invalid postgresql URL: %w", err)
	}
	database := cfg.Database
	if database == "" {
		database = cfg.User // the server's default, as with psql
	}
	host := cfg.Host
	if !strings.HasPrefix(host, "/") {
		host = net.JoinHostPort(host, fmt.Sprint(cfg.Port))
	}
	return Source{Engine: Postgres, DSN: dsn, Safe: fmt.Sprintf("postgres database %q on %s", database, host)}, nil
}

// mysqlURLSource converts a mysql:// (or SQLAlchemy mysql+pymysql://) URL
// into a go-sql-driver configuration.
func mysqlURLSource(raw string) (Source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Source{}, fmt.Errorf("database URL %s: not a valid URL", redact(raw))
	}
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "3306"
	}
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	q := u.Query()
	if sock := q.Get("unix_socket"); sock != "" {
		cfg.Net, cfg.Addr = "unix", sock
	}
	q.Del("unix_socket")
	q.Del("charset")
	if len(q) > 0 {
		// The rest are go-sql-driver's own parameters: let it parse them.
		parsed, err := mysql.ParseDSN("/?" + q.Encode())
		if err != nil {
			return Source{}, fmt.Errorf("database URL %s: %v", redact(raw), err)
		}
		parsed.User, parsed.Passwd, parsed.Net, parsed.Addr, parsed.DBName = cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName
		cfg = parsed
	}
	return mysqlSource(cfg)
}

// mysqlSource sets the session options the store relies on and formats the
// DSN. Times travel as UTC DATETIME(6) values; strict mode makes the server
// reject, not truncate, values that do not fit; utf8mb4 with a binary
// collation compares text byte for byte, as SQLite and PostgreSQL do.
func mysqlSource(cfg *mysql.Config) (Source, error) {
	if cfg.DBName == "" {
		return Source{}, fmt.Errorf("database URL for mysql on %s: missing database name, as in mysql://user@host:3306/audit_logs", cfg.Addr)
	}
	if err := cfg.Apply(mysql.Charset("utf8mb4", "utf8mb4_bin")); err != nil {
		return Source{}, fmt.Errorf("database URL for mysql on %s: %w", cfg.Addr, err)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.MultiStatements = false
	cfg.InterpolateParams = false
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Params["sql_mode"] = "'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,ONLY_FULL_GROUP_BY'"
	return Source{Engine: MySQL, DSN: cfg.FormatDSN(), Safe: fmt.Sprintf("mysql database %q on %s", cfg.DBName, cfg.Addr)}, nil
}

// hostOf returns the host part of a URL-shaped string, for error messages.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "an unknown host"
}

// redact removes any password from a URL-shaped string.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				return raw[:j+3] + "***" + raw[i:]
			}
			return "***" + raw[i:]
		}
		if strings.Contains(raw, "password=") {
			return "(connection string with a password)"
		}
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
