package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestMigrateStatus runs `auditlog migrate --status` on every engine: on an
// empty database every migration is pending and nothing is created; after
// `auditlog migrate` every one is applied, with its time; a migration that
// a newer binary recorded is listed as unknown, and opening the database
// then warns about it without refusing.
func TestMigrateStatus(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			url := e.NewURL(t)
			env := envMap(map[string]string{"AUDITLOG_ENV": "development", "DATABASE_URL": url})
			ms, err := sqlstore.Migrations(sqlstore.Engine(e.Name))
			if err != nil {
				t.Fatal(err)
			}
			status := func() (lines []string, summary string) {
				t.Helper()
				var out bytes.Buffer
				if err := runTest(t, []string{"migrate", "--status"}, env, &out, io.Discard); err != nil {
					t.Fatalf("migrate --status: %v", err)
				}
				lines = strings.Split(strings.TrimSpace(out.String()), "\n")
				if len(lines) < 2 || !strings.HasPrefix(lines[0], "MIGRATION") {
					t.Fatalf("migrate --status printed:\n%s", &out)
				}
				return lines[1 : len(lines)-1], lines[len(lines)-1]
			}
			want := func(lines []string, i int, name, state string, at *regexp.Regexp) {
				t.Helper()
				f := strings.Fields(lines[i])
				if len(f) < 3 || f[0] != name || f[1] != state || !at.MatchString(f[len(f)-1]) {
					t.Errorf("line %d: %q; want %s %s and a time matching %s", i+1, lines[i], name, state, at)
				}
			}
			none := regexp.MustCompile(`^-$`)
			applied := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

			lines, summary := status()
			if len(lines) != len(ms) {
				t.Fatalf("%d migrations listed on an empty database; want %d", len(lines), len(ms))
			}
			for i, m := range ms {
				want(lines, i, m.Name, "pending", none)
			}
			if !strings.HasSuffix(summary, fmt.Sprintf(": 0 applied, %d pending, 0 unknown", len(ms))) {
				t.Errorf("summary %q", summary)
			}
			// --status created nothing: migrate still applies every one.
			var out bytes.Buffer
			if err := runTest(t, []string{"migrate"}, env, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(out.String(), "applied "); n != len(ms) {
				t.Errorf("migrate after --status applied %d; want %d:\n%s", n, len(ms), &out)
			}

			lines, summary = status()
			for i, m := range ms {
				want(lines, i, m.Name, "applied", applied)
			}
			if !strings.HasSuffix(summary, fmt.Sprintf(": %d applied, 0 pending, 0 unknown", len(ms))) {
				t.Errorf("summary %q", summary)
			}

			next := ms[len(ms)-1].Version + 1
			name := fmt.Sprintf("%04d_from_a_newer_binary", next)
			sqltest.ExecURL(t, url, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, next, name, "2030-01-01T00:00:00.000000Z")
			lines, summary = status()
			if len(lines) != len(ms)+1 || !strings.HasPrefix(lines[len(ms)], name+" ") || !strings.Contains(lines[len(ms)], "unknown (applied by a newer binary)") {
				t.Errorf("after a newer binary's migration:\n%s", strings.Join(lines, "\n"))
			}
			if !strings.HasSuffix(summary, fmt.Sprintf(": %d applied, 0 pending, 1 unknown", len(ms))) {
				t.Errorf("summary %q", summary)
			}
			var logs bytes.Buffer
			if err := runTest(t, []string{"migrate"}, env, io.Discard, &logs); err != nil {
				t.Fatalf("migrate on a newer schema: %v", err)
			}
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), name) {
				t.Errorf("migrate on a newer schema logged:\n%s\nwant a warning naming %s", &logs, name)
			}
		})
	}
}

// TestMigrateRecountActors runs `auditlog migrate --recount-actors` on a
// database whose week and month actor counts miss appends (as after a
// rolling upgrade to 0017, whose older processes add to the per-day rows
// only): it rebuilds them as the write path had left them.
func TestMigrateRecountActors(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	url := "sqlite:///" + dir + "/audit.db"
	env := envMap(map[string]string{"AUDITLOG_ENV": "development", "DATABASE_URL": url, "LOG_LEVEL": "error"})
	if err := runTest(t, []string{"init-db", "--sample"}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := runTest(t, []string{"generate", "--account", "1", "--events", "400", "--span", "60d"}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	src, err := sqlstore.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", src.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The rows, their counts and their buckets, in one figure each.
	state := func() (s [3]int64) {
		t.Helper()
		if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*), COALESCE(SUM(n), 0),
			COALESCE(SUM(n * (bucket / 86400) + LENGTH(value) + LENGTH(grain)), 0) FROM event_actor_counts`).Scan(&s[0], &s[1], &s[2]); err != nil {
			t.Fatal(err)
		}
		return s
	}
	written := state()
	if written[0] == 0 {
		t.Fatal("generate left no week or month actor counts")
	}
	sqltest.ExecURL(t, url, `UPDATE event_actor_counts SET n = n - 1 WHERE grain = 'week'`)
	sqltest.ExecURL(t, url, `DELETE FROM event_actor_counts WHERE grain = 'month' AND bucket = (SELECT MAX(bucket) FROM event_actor_counts)`)
	if state() == written {
		t.Fatal("the damage changed nothing")
	}
	var out bytes.Buffer
	if err := runTest(t, []string{"migrate", "--recount-actors"}, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := state(); got != written {
		t.Errorf("after migrate --recount-actors: %v; the write path had left %v", got, written)
	}
	if want := fmt.Sprintf(": %d rows", written[0]); !strings.Contains(out.String(), "recounted the week and month actor counts of") || !strings.Contains(out.String(), want) {
		t.Errorf("migrate --recount-actors said:\n%s\nwant %q", &out, want)
	}
}
