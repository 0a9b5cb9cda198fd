package sqlstore

import (
	"fmt"
	"net/url"
	"strings"
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
	DSN    string
	Safe   string
}

// ParseURL parses a database URL. For SQLite it accepts the forms
// sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite://:memory:,
// file:path.db and a bare file path ending in .db, .sqlite or .sqlite3.
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
		}
		return Source{}, fmt.Errorf("database URL %q: want a URL such as sqlite:///audit_logs.db or postgresql://user@host/db", redact(raw))
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
	}
	return Source{}, fmt.Errorf("database URL %s: unsupported engine %q (supported: sqlite)", redact(raw), scheme)
}

func sqliteSource(path string) (Source, error) {
	path, query, _ := strings.Cut(path, "?")
	if query != "" {
		return Source{}, fmt.Errorf("database URL: SQLite options in the URL are not supported; the service sets its own")
	}
	return Source{Engine: SQLite, DSN: path, Safe: "sqlite file " + path}, nil
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
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
