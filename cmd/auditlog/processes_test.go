package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestProcessesShareDatabase starts two real `auditlog serve` processes on
// one fresh database per engine (PostgreSQL and MariaDB/MySQL when their
// test URLs are set, see package sqltest; SQLite always), at the same time so
// that they migrate the empty database together, and drives both at once:
// accounts created on one process, sign-ins and user creation on both, with
// a session made on one process used on the other. Every request must
// succeed and each account's log must hold seq 1..N exactly once.
func TestProcessesShareDatabase(t *testing.T) {
	engines := sqltest.Engines(t)
	bin := buildAuditlog(t)
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			procs := startProcesses(t, bin, e.NewURL(t), 2)
			driveProcesses(t, procs[0].base, procs[1].base)
			for _, p := range procs {
				p.stop(t)
			}
		})
	}
}

// startProcesses starts n `auditlog serve` processes on the database at url
// and waits until each listens, its base URL set. All start before any is
// waited for, so that on an empty database they migrate it together.
func startProcesses(t *testing.T, bin, url string, n int) []*process {
	t.Helper()
	procs := make([]*process, n)
	for i := range procs {
		procs[i] = startProcess(t, bin, url)
	}
	for _, p := range procs {
		p.base = "http://" + waitListening(t, p.stdout)
	}
	return procs
}

// Deadlines of the process test: a build or a process still running at its
// deadline is killed and the test fails saying so.
const (
	buildDeadline   = 5 * time.Minute
	processDeadline = 5 * time.Minute
)

// buildAuditlog builds the auditlog binary into a temporary directory. The
// go command runs with the test's environment (it needs GOPATH, GOCACHE and
// the like); the binary never does, see startProcess.
func buildAuditlog(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "auditlog")
	ctx, cancel := context.WithTimeout(t.Context(), buildDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = packageDir
	if out, err := cmd.CombinedOutput(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("go build did not finish within %s", buildDeadline)
		}
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a running `auditlog serve`.
type process struct {
	cmd    *exec.Cmd
	stdout io.Reader
	base   string        // http://host:port, once it listens
	stderr *bytes.Buffer // its log, shown when the test fails
	exited chan struct{} // closed when the process has exited
	err    error         // how it exited, once exited is closed
}

// processSecretKey is shared by both processes, so that a session cookie
// made by one is valid on the other.
const processSecretKey = "a-test-secret-key-shared-by-both-processes"

// startProcess starts `auditlog serve` on the database. Its environment is
// exactly the settings listed here, none of the test's own, and it reads no
// .env file. It is killed when it runs longer than processDeadline, or when
// the test ends.
func startProcess(t *testing.T, bin, databaseURL string) *process {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), processDeadline)
	cmd := exec.CommandContext(ctx, bin, "serve", "--port", "0", "--env-file", "")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{
		"DATABASE_URL=" + databaseURL,
		"SECRET_KEY=" + processSecretKey,
		"AUDITLOG_ENV=production",
		"HOST=127.0.0.1",
		"LOG_LEVEL=warn",
	}
	p := &process{cmd: cmd, stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	// An io.Pipe, not StdoutPipe: Wait finishes copying into it before it
	// returns, so a reader sees everything the process wrote, then EOF.
	stdout, w := io.Pipe()
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		w.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill() // in case the test ended early; harmless after exit
		<-p.exited
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Errorf("process %d was still running after %s and was killed", cmd.Process.Pid, processDeadline)
		}
		cancel()
		if t.Failed() {
			t.Logf("log of process %d:\n%s", cmd.Process.Pid, p.stderr)
		}
	})
	p.stdout = stdout
	return p
}

// stop asks the process to shut down, as a service manager would, and
// checks that it exits cleanly.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("process %d exited with %v", p.cmd.Process.Pid, p.err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("process %d did not stop", p.cmd.Process.Pid)
	}
}

// client is one browser: a cookie jar and the JSON calls the test makes.
type client struct {
	http *http.Client
}

func newClient() *client {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &client{http: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
}

// call sends a JSON request and decodes the JSON reply into out (when not
// nil). It returns an error unless the status is want.
func (c *client) call(method, url string, body any, want int, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// driveProcesses runs the concurrent workload against processes a and b.
func driveProcesses(t *testing.T, a, b string) {
	const (
		workersPerProcess = 2 // per account
		usersPerWorker    = 2
		password          = "correct horse battery staple"
	)
	type account struct{ domain, owner string }
	accounts := []account{{"shop-one.example.com", "owner@shop-one.example.com"}, {"shop-two.example.com", "owner@shop-two.example.com"}}

	// Each account is created on its own process, both at once: two
	// events each (account_created, user_created).
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i, acct := range accounts {
		base := []string{a, b}[i]
		wg.Go(func() {
			err := newClient().call("POST", base+"/api/accounts", map[string]string{
				"name": "Shop " + acct.domain, "domain": acct.domain, "owner_email": acct.owner, "owner_password": password,
			}, http.StatusCreated, nil)
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()

	// Then, on both processes at once, for both accounts: each worker
	// fails one sign-in, signs in on one process, creates users on the
	// other with the same session, and signs out. One event per call.
	for ai, acct := range accounts {
		for pi, base := range []string{a, b} {
			other := []string{b, a}[pi]
			for w := range workersPerProcess {
				wg.Go(func() {
					c := newClient()
					if err := c.call("POST", base+"/api/auth/login", map[string]string{"email": acct.owner, "password": "wrong password"}, http.StatusUnauthorized, nil); err != nil {
						errs <- err
					}
					if err := c.call("POST", base+"/api/auth/login", map[string]string{"email": acct.owner, "password": password}, http.StatusOK, nil); err != nil {
						errs <- err
						return
					}
					for u := range usersPerWorker {
						email := fmt.Sprintf("user-%d-%d-%d-%d@%s", ai, pi, w, u, acct.domain)
						if err := c.call("POST", other+"/api/users", map[string]string{
							"email": email, "password": password, "role": "analyst",
						}, http.StatusCreated, nil); err != nil {
							errs <- err
						}
					}
					if err := c.call("POST", base+"/api/auth/logout", nil, http.StatusOK, nil); err != nil {
						errs <- err
					}
				})
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	want := int64(2 + 2*workersPerProcess*(3+usersPerWorker))
	for i, acct := range accounts {
		c := newClient()
		if err := c.call("POST", []string{b, a}[i]+"/api/auth/login", map[string]string{"email": acct.owner, "password": password}, http.StatusOK, nil); err != nil {
			t.Fatal(err)
		}
		// The sign-in just made is the last event of the log.
		checkSeqs(t, c, a, acct.domain, want+1)
	}
}

// checkSeqs reads the account's whole log through base and checks that it
// holds seq 1..want, each once.
func checkSeqs(t *testing.T, c *client, base, domain string, want int64) {
	t.Helper()
	var got []int64
	for page := 1; ; page++ {
		if page > 100 {
			t.Fatalf("%s: the log's pages did not end after 100", domain)
		}
		var body struct {
			Logs []struct {
				Seq int64 `json:"seq"`
			} `json:"audit_logs"`
			Pagination struct {
				Total   int64 `json:"total"`
				HasNext bool  `json:"has_next"`
			} `json:"pagination"`
		}
		if err := c.call("GET", fmt.Sprintf("%s/api/audit-logs?per_page=100&page=%d", base, page), nil, http.StatusOK, &body); err != nil {
			t.Fatal(err)
		}
		if body.Pagination.Total != want {
			t.Errorf("%s: total %d; want %d", domain, body.Pagination.Total, want)
		}
		for _, l := range body.Logs {
			got = append(got, l.Seq)
		}
		if !body.Pagination.HasNext {
			break
		}
	}
	slices.Sort(got)
	ok := int64(len(got)) == want
	for i, s := range got {
		ok = ok && s == int64(i+1)
	}
	if !ok {
		t.Errorf("%s: sorted seqs %v; want 1..%d, each once", domain, got, want)
	}
	// Both processes extended one Merkle tree: the server re-checks every
	// leaf, tree hash and checkpoint, and would report a fork.
	var v struct {
		OK       bool            `json:"ok"`
		TreeSize int64           `json:"tree_size"`
		Failure  json.RawMessage `json:"failure"`
	}
	if err := c.call("GET", base+"/api/audit-logs/verify", nil, http.StatusOK, &v); err != nil {
		t.Fatal(err)
	}
	if !v.OK || v.TreeSize != want {
		t.Errorf("%s: verify ok=%v size=%d failure=%s; want ok and size %d", domain, v.OK, v.TreeSize, v.Failure, want)
	}
}
