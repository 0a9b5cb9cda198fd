package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/password/werkzeugtest"
	"github.com/auditlog/auditlog/internal/seedimport/seedtest"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestImportRate measures auditlog import on a seed-shaped source of
// AUDITLOG_IMPORT_BENCH_EVENTS rows (10 accounts, the first with half of
// them, 40 users), on the engine AUDITLOG_IMPORT_BENCH_ENGINE (sqlite, or
// postgres with AUDITLOG_TEST_POSTGRES_URL, or mysql with
// AUDITLOG_TEST_MYSQL_URL: source and target are new databases
// auditlog_import_bench_src and _dst, dropped afterwards). It is
// skipped unless the count is set: docs/performance.md ("Import").
func TestImportRate(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("AUDITLOG_IMPORT_BENCH_EVENTS"))
	if n == 0 {
		t.Skip("set AUDITLOG_IMPORT_BENCH_EVENTS to measure the import")
	}
	ctx := context.Background()
	var source, target string
	switch engine := os.Getenv("AUDITLOG_IMPORT_BENCH_ENGINE"); engine {
	case "", "sqlite":
		dir := t.TempDir()
		source, target = "sqlite:///"+filepath.Join(dir, "flask.db"), "sqlite:///"+filepath.Join(dir, "audit.db")
	case "postgres":
		admin := os.Getenv(sqltest.PostgresURLVar)
		if admin == "" {
			t.Skip("set " + sqltest.PostgresURLVar)
		}
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() }) // after the drops below (cleanups run last first)
		for _, name := range []string{"auditlog_import_bench_src", "auditlog_import_bench_dst"} {
			db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
			if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`) })
		}
		base, _, _ := strings.Cut(admin, "?")
		base = base[:strings.LastIndex(base, "/")+1]
		q := "?sslmode=disable"
		source, target = base+"auditlog_import_bench_src"+q, base+"auditlog_import_bench_dst"+q
	case "mysql":
		admin := os.Getenv(sqltest.MySQLURLVar)
		if admin == "" {
			t.Skip("set " + sqltest.MySQLURLVar)
		}
		src, err := sqlstore.ParseURL(admin)
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("mysql", src.DSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		for _, name := range []string{"auditlog_import_bench_src", "auditlog_import_bench_dst"} {
			db.Exec(`DROP DATABASE IF EXISTS ` + name)
			if _, err := db.Exec(`CREATE DATABASE ` + name + ` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Exec(`DROP DATABASE IF EXISTS ` + name) })
		}
		base, q, _ := strings.Cut(admin, "?")
		if q != "" {
			q = "?" + q
		}
		base = base[:strings.LastIndex(base, "/")+1]
		source, target = base+"auditlog_import_bench_src"+q, base+"auditlog_import_bench_dst"+q
	default:
		t.Fatalf("AUDITLOG_IMPORT_BENCH_ENGINE %q: want sqlite, postgres or mysql", engine)
	}
	start := time.Now()
	sdb, err := seedtest.Create(ctx, source)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	r := rand.New(rand.NewPCG(18, 2))
	end := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	var accounts []seedtest.Account
	var users []seedtest.User
	hash := werkzeugtest.PBKDF2("bench-password", "BenchSaltBench12", 1000)
	for a := int64(1); a <= 10; a++ {
		domain := fmt.Sprintf("shop-%d.example", a)
		accounts = append(accounts, seedtest.Account{ID: a, Name: fmt.Sprintf("Shop %d", a), Domain: domain, CreatedAt: end.AddDate(-2, 0, 0)})
		for u := int64(1); u <= 4; u++ {
			users = append(users, seedtest.User{ID: (a-1)*4 + u, Email: fmt.Sprintf("staff%d@%s", u, domain), PasswordHash: hash,
				FirstName: "Staff", LastName: strconv.FormatInt(u, 10), Role: []string{"owner", "admin", "analyst", "content_creator"}[u-1], AccountID: a, IsActive: true, CreatedAt: end.AddDate(-2, 0, 0)})
		}
	}
	if err := sdb.AddAccounts(ctx, accounts...); err != nil {
		t.Fatal(err)
	}
	if err := sdb.AddUsers(ctx, users...); err != nil {
		t.Fatal(err)
	}
	actions := []string{"user_login", "product_created", "product_updated", "order_created", "order_fulfilled", "order_refunded", "inventory_adjusted", "user_logout"}
	const chunk = 20000
	logs := make([]seedtest.Log, 0, chunk)
	for i := 1; i <= n; i++ {
		a := int64(1)
		if i%2 == 0 {
			a = 2 + int64(r.IntN(9))
		}
		act := actions[r.IntN(len(actions))]
		u := (a-1)*4 + 1 + int64(r.IntN(4))
		logs = append(logs, seedtest.Log{ID: int64(i), UserID: u, AccountID: a, Action: act, ResourceType: strings.Split(act, "_")[0],
			ResourceID: strconv.Itoa(1000 + r.IntN(90000)), Details: fmt.Sprintf("%s by staff %d on item %d", act, u, r.IntN(5000)),
			IPAddress: fmt.Sprintf("203.0.113.%d", u%250), UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
			CreatedAt: end.Add(-time.Duration(n-i) * 30 * time.Second)})
		if len(logs) == chunk || i == n {
			if err := sdb.AddLogs(ctx, logs...); err != nil {
				t.Fatal(err)
			}
			logs = logs[:0]
		}
	}
	t.Logf("built a seed source of %d rows in %s", n, time.Since(start).Round(time.Second))
	env := envMap(map[string]string{"AUDITLOG_ENV": "development", "DATABASE_URL": target, "LOG_LEVEL": "error"})
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start = time.Now()
	var out bytes.Buffer
	if err := run(ctx, []string{"import", "--from", source, "--progress", "never"}, env, &out, &out); err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	wall := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	t.Logf("%s", out.String())
	t.Logf("import of %d rows: wall %s (%.0f events/s), CPU of the auditlog process %s (%.1f µs per event)",
		n, wall.Round(100*time.Millisecond), float64(n)/wall.Seconds(), cpu.Round(100*time.Millisecond), float64(cpu.Microseconds())/float64(n))
	start = time.Now()
	out.Reset()
	if err := run(ctx, []string{"import", "--from", source, "--progress", "never"}, env, &out, &out); err != nil {
		t.Fatalf("second import: %v\n%s", err, out.String())
	}
	t.Logf("second run (nothing new): %s\n%s", time.Since(start).Round(100*time.Millisecond), out.String())
}
