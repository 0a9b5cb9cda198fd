package main

import (
	"bytes"
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
