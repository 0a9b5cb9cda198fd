package sqlstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url    string
		engine Engine
		dsn    string // for SQLite and PostgreSQL: the exact DSN
		safe   string
	}{
		// SQLite, as the seed's SQLAlchemy URLs and bare paths.
		{"sqlite:///audit_logs.db", SQLite, "audit_logs.db", "sqlite file audit_logs.db"},
		{"sqlite:////var/lib/auditlog/audit.db", SQLite, "/var/lib/auditlog/audit.db", "sqlite file /var/lib/auditlog/audit.db"},
		{"sqlite://:memory:", SQLite, ":memory:", "sqlite file :memory:"},
		{"file:data/audit.db", SQLite, "data/audit.db", "sqlite file data/audit.db"},
		{"audit.sqlite3", SQLite, "audit.sqlite3", "sqlite file audit.sqlite3"},
		{"  /srv/audit.db  ", SQLite, "/srv/audit.db", "sqlite file /srv/audit.db"},

		// PostgreSQL URLs, with any SQLAlchemy driver suffix.
		{"postgres://app:secret@db.example.com:5433/audit?sslmode=require", Postgres,
			"postgres://app:secret@db.example.com:5433/audit?sslmode=require", `postgres database "audit" on db.example.com:5433`},
		{"postgresql://app@db.example.com/audit", Postgres, "postgres://app@db.example.com/audit", `postgres database "audit" on db.example.com:5432`},
		{"postgresql+psycopg2://app:secret@10.0.0.5/audit", Postgres, "postgres://app:secret@10.0.0.5/audit", `postgres database "audit" on 10.0.0.5:5432`},
		{"POSTGRESQL+ASYNCPG://app@[2001:db8::5]:6432/audit", Postgres, "postgres://app@[2001:db8::5]:6432/audit", `postgres database "audit" on [2001:db8::5]:6432`},
		{"postgresql://app@/audit?host=/var/run/postgresql", Postgres, "postgres://app@/audit?host=/var/run/postgresql", `postgres database "audit" on /var/run/postgresql`},
		// pgx's keyword/value form.
		{"host=db.example.com port=5433 dbname=audit user=app password=secret sslmode=disable", Postgres,
			"host=db.example.com port=5433 dbname=audit user=app password=secret sslmode=disable", `postgres database "audit" on db.example.com:5433`},

		// MySQL and MariaDB URLs, with any SQLAlchemy driver suffix.
		{"mysql://app:secret@db.example.com:3307/audit", MySQL, "", `mysql database "audit" on db.example.com:3307`},
		{"mysql+pymysql://app:secret@db.example.com/audit?charset=utf8mb4", MySQL, "", `mysql database "audit" on db.example.com:3306`},
		{"mariadb+mariadbconnector://app@db.example.com/audit?tls=skip-verify&readTimeout=5s", MySQL, "", `mysql database "audit" on db.example.com:3306`},
		{"mysql://app@localhost/audit?unix_socket=/run/mysqld/mysqld.sock", MySQL, "", `mysql database "audit" on /run/mysqld/mysqld.sock`},
		{"mysql://app:p%40ss%2Fword@[::1]:3306/audit", MySQL, "", `mysql database "audit" on [::1]:3306`},
		// go-sql-driver's own form.
		{"app:secret@tcp(db.example.com:3306)/audit?timeout=5s", MySQL, "", `mysql database "audit" on db.example.com:3306`},
		{"app:se/cr@t@unix(/run/mysqld/mysqld.sock)/audit", MySQL, "", `mysql database "audit" on /run/mysqld/mysqld.sock`},
		{"tcp(127.0.0.1)/audit", MySQL, "", `mysql database "audit" on 127.0.0.1:3306`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			src, err := ParseURL(tt.url)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if src.Engine != tt.engine || src.Safe != tt.safe || (tt.dsn != "" && src.DSN != tt.dsn) {
				t.Errorf("ParseURL = {%s %q %q}; want {%s %q %q}", src.Engine, src.DSN, src.Safe, tt.engine, tt.dsn, tt.safe)
			}
			if strings.Contains(src.Safe, "secret") || strings.Contains(src.Safe, "se/cr") {
				t.Errorf("Safe %q shows the password", src.Safe)
			}
			if src.Engine == MySQL {
				checkMySQLDSN(t, src.DSN)
			}
		})
	}
}

// checkMySQLDSN checks the session settings the store relies on.
func checkMySQLDSN(t *testing.T, dsn string) {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("DSN %q does not parse: %v", dsn, err)
	}
	if !cfg.ParseTime || cfg.Loc != time.UTC || cfg.MultiStatements || cfg.InterpolateParams || cfg.Collation != "utf8mb4_bin" {
		t.Errorf("DSN %q: parseTime %v, loc %v, multiStatements %v, interpolateParams %v, collation %q; want true, UTC, false, false, utf8mb4_bin",
			dsn, cfg.ParseTime, cfg.Loc, cfg.MultiStatements, cfg.InterpolateParams, cfg.Collation)
	}
	if cfg.Params["time_zone"] != "'+00:00'" || !strings.Contains(cfg.Params["sql_mode"], "STRICT_ALL_TABLES") {
		t.Errorf("DSN %q: params %v; want time_zone '+00:00' and a strict sql_mode", dsn, cfg.Params)
	}
	if _, ok := cfg.Params["charset"]; ok {
		t.Errorf("DSN %q keeps the URL's charset", dsn)
	}
}

func TestParseURLMySQLFields(t *testing.T) {
	src, err := ParseURL("mysql+pymysql://app:p%40ss%2Fword@db.example.com:3307/audit?tls=skip-verify&readTimeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(src.DSN)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "app" || cfg.Passwd != "p@ss/word" || cfg.Net != "tcp" || cfg.Addr != "db.example.com:3307" || cfg.DBName != "audit" ||
		cfg.TLSConfig != "skip-verify" || cfg.ReadTimeout != 5*time.Second {
		t.Errorf("config = user %q pass %q net %s addr %s db %s tls %q readTimeout %v; want app, p@ss/word, tcp, db.example.com:3307, audit, skip-verify, 5s",
			cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName, cfg.TLSConfig, cfg.ReadTimeout)
	}
}

// TestParseURLMySQLTLS checks that TLS verifies the host the URL names.
func TestParseURLMySQLTLS(t *testing.T) {
	src, err := ParseURL("mysql://app@db.example.com/audit?tls=true")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(src.DSN)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS == nil || cfg.TLS.ServerName != "db.example.com" {
		t.Errorf("TLS config %+v; want one verifying db.example.com", cfg.TLS)
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		url  string
		want []string // substrings of the error
	}{
		{"", []string{"empty"}},
		{"mssql://sa:secret@sql.example.com:1433/audit", []string{`unsupported engine "mssql"`, "sql.example.com:1433"}},
		{"oracle+cx_oracle://scott:secret@ora.example.com/audit", []string{`unsupported engine "oracle+cx_oracle"`, "ora.example.com"}},
		{"mongodb://app:secret@mongo.example.com/audit", []string{"unsupported engine", "mongo.example.com"}},
		{"sqlite://", []string{"missing file path"}},
		{"sqlite:///audit.db?mode=ro", []string{"SQLite options"}},
		{"mysql://app:secret@db.example.com/", []string{"missing database name", "db.example.com:3306"}},
		{"mysql://app:secret@db.example.com/audit?tls=bogus-name", []string{"tls"}},
		{"postgres://app:secret@db.example.com:notaport/audit", []string{"postgresql URL"}},
		{"postgresql://app:secret@db.example.com/audit?sslmode=sometimes", []string{"postgresql URL", "sslmode"}},
		{"audit_logs", []string{"want a URL"}},
		{"app:secret@tcp(db.example.com:3306)/audit?timeout=soon", []string{"MySQL DSN"}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := ParseURL(tt.url)
			if err == nil {
				t.Fatalf("ParseURL succeeded; want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// TestOpenUnreachable checks that a server that does not answer gets an
// error naming the engine and the host, without the password. Port 1 on
// the loopback address refuses connections at once.
func TestOpenUnreachable(t *testing.T) {
	tests := []struct{ url, want string }{
		{"postgres://app:secret@127.0.0.1:1/audit?sslmode=disable", `cannot reach postgres database "audit" on 127.0.0.1:1`},
		{"mysql://app:secret@127.0.0.1:1/audit", `cannot reach mysql database "audit" on 127.0.0.1:1`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			db, err := Open(ctx, tt.url)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded; want an error")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q; want it to contain %q and no password", err, tt.want)
			}
		})
	}
}

func TestRebindDollar(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2"},
		{"SELECT '?', \"?\" FROM t WHERE x = ? LIMIT ? OFFSET ?", "SELECT '?', \"?\" FROM t WHERE x = $1 LIMIT $2 OFFSET $3"},
		{"SELECT 'it''s ?' WHERE y = ?", "SELECT 'it''s ?' WHERE y = $1"},
	}
	for _, tt := range tests {
		if got := rebindDollar(tt.in); got != tt.want {
			t.Errorf("rebindDollar(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
