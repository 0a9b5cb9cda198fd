package faults

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/redis/go-redis/v9"
)

// TestPostgres runs the PostgreSQL cases on one private cluster.
func TestPostgres(t *testing.T) {
	pg := startPostgres(t)
	t.Run("restart during ingest", func(t *testing.T) { postgresRestart(t, pg) })
	t.Run("connections killed", func(t *testing.T) { postgresConnectionsKilled(t, pg) })
}

// postgresRestart stops the service's PostgreSQL at once (as a crash would)
// while clients send events, keeps it down for a while, starts it again,
// and repeats. While it is down, writes and readiness answer 503 with
// Retry-After; once it is back the same service records again; every event
// is in the log exactly once and the log verifies.
func postgresRestart(t *testing.T, pg *pgServer) {
	s := newService(t, pg.url(t, "restart"), nil)
	loadFor, cycles := plan()
	l, stop := s.startLoad(4)
	for range cycles {
		time.Sleep(loadFor)
		pg.stop(t)
		time.Sleep(loadFor / 2)
		if code, hdr, out := s.send(http.DefaultClient, "", "GET", "/readyz", ""); code != 503 || hdr.Get("Retry-After") == "" {
			t.Errorf("/readyz with PostgreSQL down: %d %v %s; want 503 with Retry-After", code, hdr, out)
		}
		if code, _, _ := s.send(http.DefaultClient, "", "GET", "/healthz", ""); code != 200 {
			t.Errorf("/healthz with PostgreSQL down: %d; want 200 (the process is alive)", code)
		}
		pg.start(t)
	}
	time.Sleep(loadFor)
	stop()
	if code, _, out := s.send(http.DefaultClient, "", "GET", "/readyz", ""); code != 200 {
		t.Errorf("/readyz once PostgreSQL is back: %d %s", code, out)
	}
	l.settle(t)
	if l.refused[503] == 0 {
		t.Errorf("no request was refused while PostgreSQL was down: the fault did not happen (%v)", l.refused)
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

// TestRedisGone runs the rate limits in a private Redis, kills it during
// ingest and sign-ins, and starts it again: every bucket falls back to the
// process's own (docs/operations.md), so requests are served, never a 5xx,
// and the log is intact.
func TestRedisGone(t *testing.T) {
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
