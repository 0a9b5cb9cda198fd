package faults

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// TestPostgres runs the PostgreSQL cases on one private cluster. The
// engines' tests run in parallel: each has its own server and port.
func TestPostgres(t *testing.T) {
	t.Parallel()
	pg := startPostgres(t)
	t.Run("restart during ingest", func(t *testing.T) { postgresRestart(t, pg) })
	t.Run("connections killed", func(t *testing.T) { postgresConnectionsKilled(t, pg) })
	t.Run("commit held past the deadline", func(t *testing.T) { postgresCommitHeld(t, pg) })
}

// postgresRestart stops the service's PostgreSQL at once (as a crash would)
// while clients send events, keeps it down for a while, starts it again,
// and repeats.
func postgresRestart(t *testing.T, pg *pgServer) {
	s := newService(t, pg.url(t, "restart"), nil)
	restartDuringIngest(t, s, "PostgreSQL", func() { pg.stop(t) }, func() { pg.start(t) })
}

// restartDuringIngest drives s with clients sending events and, for each
// fault cycle, stops its database with stop, keeps it down for a while and
// starts it again with start. While it is down, writes and readiness answer
// 503 with Retry-After and liveness stays 200; once it is back the same
// service records again; every event is in the log exactly once and the
// log verifies.
func restartDuringIngest(t *testing.T, s *service, engine string, stop, start func()) {
	t.Helper()
	loadFor, cycles := plan()
	l, stopLoad := s.startLoad(4)
	for range cycles {
		time.Sleep(loadFor)
		stop()
		time.Sleep(loadFor / 2)
		if code, hdr, out := s.send(http.DefaultClient, "", "GET", "/readyz", ""); code != 503 || hdr.Get("Retry-After") == "" {
			t.Errorf("/readyz with %s down: %d %v %s; want 503 with Retry-After", engine, code, hdr, out)
		}
		if code, _, _ := s.send(http.DefaultClient, "", "GET", "/healthz", ""); code != 200 {
			t.Errorf("/healthz with %s down: %d; want 200 (the process is alive)", engine, code)
		}
		start()
	}
	time.Sleep(loadFor)
	stopLoad()
	if code, _, out := s.send(http.DefaultClient, "", "GET", "/readyz", ""); code != 200 {
		t.Errorf("/readyz once %s is back: %d %s", engine, code, out)
	}
	l.settle(t)
	if l.refused[503] == 0 {
		t.Errorf("no request was refused while %s was down: the fault did not happen (%v)", engine, l.refused)
	}
}

// postgresConnectionsKilled terminates every connection of the service to
// PostgreSQL (pg_terminate_backend) again and again during ingest: the pool
// replaces them, refused requests are 503s, and the log holds every event
// exactly once.
func postgresConnectionsKilled(t *testing.T, pg *pgServer) {
	s := newService(t, pg.url(t, "killed"), nil)
	loadFor, cycles := plan()
	l, stop := s.startLoad(4)
	for range cycles * 5 {
		time.Sleep(loadFor / 5)
		pg.psql(t, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'killed' AND pid <> pg_backend_pid()`)
	}
	time.Sleep(loadFor)
	stop()
	l.settle(t)
}

// postgresCommitHeld holds a lock on the events table from another session
// for longer than the service waits for a commit (10 s), during ingest:
// the waiting requests answer 503 with Retry-After ("may or may not be
// stored"), readiness stays 200 (the database answers), and once the lock
// is released the writer commits what it held, so the clients' retries with
// the same event IDs find those events stored (200, replayed) and the log
// holds every event exactly once.
func postgresCommitHeld(t *testing.T, pg *pgServer) {
	s := newService(t, pg.url(t, "held"), nil)
	l, stop := s.startLoad(2)
	time.Sleep(500 * time.Millisecond)
	hold := exec.Command(filepath.Join(pg.bin, "psql"), "-h", "127.0.0.1", "-p", strconv.Itoa(pgPort), "-U", "postgres", "-d", "held", "-Atqc",
		"BEGIN; LOCK TABLE events IN EXCLUSIVE MODE; SELECT pg_sleep(13); COMMIT;")
	out := &strings.Builder{}
	hold.Stdout, hold.Stderr = out, out
	if err := hold.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(11 * time.Second)
	if code, _, body := s.send(http.DefaultClient, "", "GET", "/readyz", ""); code != 200 {
		t.Errorf("/readyz while a commit waits on a lock: %d %s; want 200 (the database answers)", code, body)
	}
	if err := hold.Wait(); err != nil {
		t.Fatalf("the session holding the lock: %v\n%s", err, out)
	}
	time.Sleep(time.Second)
	stop()
	l.settle(t)
	if l.refused[503] == 0 {
		t.Errorf("no request was refused while the commit was held: the fault did not happen (%v)", l.refused)
	}
}

// TestMariaDB runs the MariaDB cases on one private server.
func TestMariaDB(t *testing.T) {
	t.Parallel()
	// The driver logs every connection the fault breaks; the test counts
	// what clients see instead.
	mysql.SetLogger(log.New(io.Discard, "", 0))
	m := startMariaDB(t)
	t.Run("restart during ingest", func(t *testing.T) {
		s := newService(t, m.url(t, "restart"), nil)
		restartDuringIngest(t, s, "MariaDB", m.kill, func() { m.start(t) })
	})
	t.Run("connections killed", func(t *testing.T) { mariaConnectionsKilled(t, m) })
}

// mariaConnectionsKilled ends every session of the service on MariaDB
// (KILL CONNECTION) again and again during ingest: the pool replaces them,
// refused requests are 503s, and the log holds every event exactly once.
func mariaConnectionsKilled(t *testing.T, m *mariaServer) {
	s := newService(t, m.url(t, "killed"), nil)
	loadFor, cycles := plan()
	l, stop := s.startLoad(4)
	killed := 0
	for range cycles * 5 {
		time.Sleep(loadFor / 5)
		ids := strings.Fields(m.sql(t, "SELECT id FROM information_schema.processlist WHERE db = 'killed' AND id <> CONNECTION_ID()", false))
		if len(ids) == 0 {
			continue
		}
		var kill strings.Builder
		for _, id := range ids {
			fmt.Fprintf(&kill, "KILL CONNECTION %s;", id)
		}
		m.sql(t, kill.String(), true) // a session may end by itself in between
		killed += len(ids)
	}
	time.Sleep(loadFor)
	stop()
	if killed == 0 {
		t.Fatal("no session of the service was found to kill: the fault did not happen")
	}
	l.settle(t)
}

// TestRedisGone runs the rate limits in a private Redis, kills it during
// ingest and sign-ins, and starts it again: every bucket falls back to the
// process's own (docs/operations.md), so requests are served, never a 5xx,
// and the log is intact.
func TestRedisGone(t *testing.T) {
	t.Parallel()
	rs := startRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(redisPort), MaxRetries: -1})
	t.Cleanup(func() { rc.Close() })
	s := newService(t, "sqlite:///"+t.TempDir()+"/audit.db", ratelimit.NewRedis(rc, "faults:"))
	loadFor, _ := plan()
	l, stop := s.startLoad(2)
	time.Sleep(loadFor / 2)
	rs.kill()
	for i := range 5 { // sign-ins draw from the login buckets, reads from the session's
		if code, _, out := s.send(s.owner, "", "GET", "/api/audit-logs?per_page=1", ""); code != 200 {
			t.Errorf("read with Redis gone: %d %s", code, out)
		}
		code, _, out := s.send(http.DefaultClient, "", "POST", "/api/auth/login", fmt.Sprintf(`{"email":"nobody%d@example.com","password":"wrong-password"}`, i))
		if code != 401 {
			t.Errorf("sign-in with Redis gone: %d %s; want 401", code, out)
		}
	}
	time.Sleep(loadFor)
	startRedis(t)
	time.Sleep(loadFor / 2)
	stop()
	l.settle(t)
	if n := l.refused[503] + l.refused[507]; n > 0 {
		t.Errorf("%d writes refused with Redis gone; want none (the limits fall back to the process)", n)
	}
}
