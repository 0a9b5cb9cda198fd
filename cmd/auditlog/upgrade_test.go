package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestRollingUpgrade runs one rolling upgrade on PostgreSQL with two
// versions of the service (docs/upgrades.md): the binary of the previous
// schema, built from git, serves a fresh database; the current binary then
// starts on the same database, applies the newer migrations while the old
// process serves ingest and reads, and both serve side by side afterwards.
// No request fails, each process reads the other's events, a session made
// on the old process works on the new one, both verify the log, and
// `migrate --status` shows every migration applied.
func TestRollingUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the service twice")
	}
	var pg sqltest.Engine
	for _, e := range sqltest.Engines(t) {
		if e.Name == string(sqlstore.Postgres) {
			pg = e
		}
	}
	pg.Require(t)
	oldBin := buildPrevious(t)
	newBin := buildAuditlog(t)
	url := pg.NewURL(t)

	old := startProcess(t, oldBin, url)
	old.base = "http://" + waitListening(t, old.stdout)
	owner := newClient()
	const domain, email, password = "upgrade.example.com", "owner@upgrade.example.com", "correct horse battery staple"
	if err := owner.call("POST", old.base+"/api/accounts", map[string]string{
		"name": "Upgrade Shop", "domain": domain, "owner_email": email, "owner_password": password,
	}, http.StatusCreated, nil); err != nil {
		t.Fatal(err)
	}
	if err := owner.call("POST", old.base+"/api/auth/login", map[string]string{"email": email, "password": password}, http.StatusOK, nil); err != nil {
		t.Fatal(err)
	}
	var created struct {
		Key string `json:"key"`
	}
	if err := owner.call("POST", old.base+"/api/api-keys", map[string]any{"name": "svc", "scopes": []string{"events:write", "events:read"}}, http.StatusCreated, &created); err != nil {
		t.Fatal(err)
	}

	// Load on every process that serves, from before the new one starts
	// until after it has migrated.
	var bases atomic.Value
	bases.Store([]string{old.base})
	var sent atomic.Int64
	stop := make(chan struct{})
	errs := make(chan error, 100)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				bs := bases.Load().([]string)
				base := bs[i%len(bs)]
				var evs []map[string]any
				for j := range 20 {
					evs = append(evs, map[string]any{"event_id": fmt.Sprintf("w%d-%d-%d", w, i, j), "action": "order.shipped", "resource_type": "order", "resource_id": fmt.Sprint(j)})
				}
				if err := keyCall(created.Key, "POST", base+"/api/audit-logs/batch", map[string]any{"events": evs}, http.StatusCreated); err != nil {
					errs <- err
					return
				}
				sent.Add(int64(len(evs)))
				if err := keyCall(created.Key, "GET", base+"/api/audit-logs?per_page=10", nil, http.StatusOK); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	waitSent := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); sent.Load() < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) || len(errs) > 0 {
				t.Errorf("load stopped at %d events, before %d", sent.Load(), n)
				return
			}
		}
	}
	waitSent(100)
	// The old process migrated the database as far as it knows: the new
	// binary has migrations to apply.
	if st := migrateStatus(t, newBin, url); !strings.Contains(st, " pending ") {
		t.Fatalf("the previous version left nothing pending; migrate --status:\n%s", st)
	}
	cur := startProcess(t, newBin, url)
	cur.base = "http://" + waitListening(t, cur.stdout)
	bases.Store([]string{old.base, cur.base})
	waitSent(sent.Load() + 200)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The old process's session works on the new one, and each reads the
	// whole log and verifies it.
	total := map[string]int64{}
	for _, base := range []string{old.base, cur.base} {
		var page struct {
			Pagination struct {
				Total int64 `json:"total"`
			} `json:"pagination"`
		}
		if err := owner.call("GET", base+"/api/audit-logs?per_page=1", nil, http.StatusOK, &page); err != nil {
			t.Fatal(err)
		}
		total[base] = page.Pagination.Total
		var v struct {
			OK      bool `json:"ok"`
			Checked struct {
				Events int64 `json:"events"`
			} `json:"checked"`
		}
		if err := owner.call("GET", base+"/api/audit-logs/verify", nil, http.StatusOK, &v); err != nil {
			t.Fatal(err)
		}
		if !v.OK || v.Checked.Events != page.Pagination.Total {
			t.Errorf("verify on %s: ok %v, %d events checked; want ok, %d", base, v.OK, v.Checked.Events, page.Pagination.Total)
		}
	}
	// 3 events of the account's set-up (account, owner, key) and the sign-in.
	if total[old.base] != total[cur.base] || total[cur.base] < sent.Load() {
		t.Errorf("totals %v; want equal, at least the %d events sent", total, sent.Load())
	}
	old.stop(t)
	cur.stop(t)

	if s := migrateStatus(t, newBin, url); strings.Contains(s, " pending ") || strings.Contains(s, "unknown (") || !strings.Contains(s, " 0 pending, 0 unknown") {
		t.Errorf("migrate --status after the upgrade:\n%s\nwant every migration applied", s)
	}
}

// migrateStatus runs `bin migrate --status` on the database and returns
// what it printed.
func migrateStatus(t *testing.T, bin, url string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.CommandContext(t.Context(), bin, "migrate", "--status", "--env-file", "")
	cmd.Env = []string{"DATABASE_URL=" + url, "AUDITLOG_ENV=development"}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("migrate --status: %v\n%s", err, &out)
	}
	return out.String()
}

// keyCall sends a JSON request with an API key and checks the status.
func keyCall(key, method, url string, body any, want int) error {
	c := newClient()
	c.http.Transport = bearer{key}
	return c.call(method, url, body, want, nil)
}

// bearer adds an API key to each request.
type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// previousBuildDeadline bounds the build of the previous version: its
// first build compiles every package of the service afresh.
const previousBuildDeadline = 20 * time.Minute

// buildPrevious builds the service as it was before the newest migration:
// the parent of the commit that added the highest-numbered migration, or
// the checked-out commit itself while that migration is not committed yet.
// It skips the test outside a git checkout.
func buildPrevious(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(previousBuildDeadline)
	if d, ok := t.Deadline(); ok && d.Add(-time.Minute).Before(deadline) {
		deadline = d.Add(-time.Minute) // leave the test a minute to say why
	}
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	dir := packageDir
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("git %s: %v: the previous version cannot be built here", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	top := git("rev-parse", "--show-toplevel")
	dir = top // paths below are the repository's
	ms, err := sqlstore.Migrations(sqlstore.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	newest := "internal/sqlstore/migrations/postgres/" + ms[len(ms)-1].Name + ".sql"
	rev := "HEAD"
	if added := git("log", "-1", "--format=%H", "--diff-filter=A", "HEAD", "--", newest); added != "" {
		rev = added + "^"
	}
	rev = git("rev-parse", rev)
	// The source goes to a directory named by the commit, kept between
	// runs: the go command's build cache keys packages by their directory
	// too, so only the first run compiles the previous version.
	src := filepath.Join(os.TempDir(), "auditlog-previous-"+rev)
	if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
		tmp, err := os.MkdirTemp(os.TempDir(), "auditlog-previous-")
		if err != nil {
			t.Fatal(err)
		}
		archive := exec.CommandContext(ctx, "sh", "-c", `git archive --format=tar "$1" | tar -x -C "$2"`, "sh", rev, tmp)
		archive.Dir = top
		if out, err := archive.CombinedOutput(); err != nil {
			os.RemoveAll(tmp)
			t.Fatalf("git archive %s: %v\n%s", rev, err, out)
		}
		if err := os.Rename(tmp, src); err != nil { // another run made it meanwhile
			os.RemoveAll(tmp)
		}
	}
	bin := filepath.Join(t.TempDir(), "auditlog-previous")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/auditlog")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("go build of %s did not finish by %s (its first build compiles the whole service; run the test again, or with more -timeout)", rev, deadline.Format(time.TimeOnly))
		}
		t.Fatalf("go build of %s: %v\n%s", rev, err, out)
	}
	t.Logf("previous version: %s (before %s)", rev[:12], newest)
	return bin
}
