package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// envMap returns a lookupEnv over m. Tests give run only such an
// environment, never the process's own, so exported settings such as
// DATABASE_URL or SECRET_KEY cannot change what a test does.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Deadlines of the tests that run the command. A command still running at
// its deadline is stopped and the test fails saying so, instead of hanging
// (as a serve started by mistake would).
const (
	runDeadline    = time.Minute      // one call of run that is not serve
	serveDeadline  = 3 * time.Minute  // one in-process serve, start to stop
	listenDeadline = 30 * time.Second // serve's start, until it listens
	stopDeadline   = 15 * time.Second // serve's return once stopped
)

// testHTTP is the HTTP client of the tests: no request waits forever.
var testHTTP = &http.Client{Timeout: 30 * time.Second}

// packageDir is the directory the test binary starts in: the package's
// source directory, where a developer's .env may be.
var packageDir, _ = os.Getwd()

// insulated fails the test unless it has left the package directory (with
// t.Chdir(t.TempDir())), so that the default --env-file .env is one the
// test wrote itself, or none, and never a developer's.
func insulated(t *testing.T) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if wd == packageDir {
		t.Fatal("the test runs the command in the package directory, where it would read a .env left there: call t.Chdir(t.TempDir()) first")
	}
}

// runTest calls run with args and env in the test's working directory (see
// insulated). A call that has not returned after runDeadline is stopped and
// fails the test.
func runTest(t *testing.T, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	t.Helper()
	insulated(t)
	ctx, cancel := context.WithTimeout(t.Context(), runDeadline)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, env, stdout, stderr) }()
	select {
	case err := <-done:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("auditlog %s was still running after %s and was stopped (returned %v)", strings.Join(args, " "), runDeadline, err)
		}
		return err
	case <-time.After(runDeadline + stopDeadline):
		t.Fatalf("auditlog %s did not return within %s, even when stopped", strings.Join(args, " "), runDeadline+stopDeadline)
		return nil
	}
}

func TestHelp(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, args := range [][]string{{"help"}, {"--help"}} {
		var out bytes.Buffer
		if err := runTest(t, args, envMap(nil), &out, &out); err != nil {
			t.Fatalf("run %v: %v", args, err)
		}
		for _, cmd := range []string{"serve", "migrate", "init-db"} {
			if !strings.Contains(out.String(), cmd) {
				t.Errorf("run %v does not mention %s:\n%s", args, cmd, out.String())
			}
		}
	}
	for _, cmd := range []string{"serve", "migrate", "init-db"} {
		var out bytes.Buffer
		if err := runTest(t, []string{cmd, "-h"}, envMap(nil), &out, &out); err != nil {
			t.Errorf("%s -h: %v", cmd, err)
		}
		if !strings.Contains(out.String(), "-database-url") {
			t.Errorf("%s -h does not list its flags:\n%s", cmd, out.String())
		}
		out.Reset()
		if err := runTest(t, []string{"help", cmd}, envMap(nil), &out, &out); err != nil || !strings.Contains(out.String(), "Usage: auditlog "+cmd) {
			t.Errorf("help %s = %v:\n%s", cmd, err, out.String())
		}
	}
	var out bytes.Buffer
	if err := runTest(t, []string{"frobnicate"}, envMap(nil), &out, &out); err == nil || !strings.Contains(out.String(), "unknown command") {
		t.Errorf("unknown command: err %v, output %q", err, out.String())
	}
}

func TestSecretKeyRequiredInProduction(t *testing.T) {
	t.Chdir(t.TempDir())
	var out bytes.Buffer
	err := runTest(t, []string{"serve", "--port", "0"}, envMap(nil), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "SECRET_KEY is not set") {
		t.Fatalf("serve without SECRET_KEY: %v; want a clear SECRET_KEY error", err)
	}
	err = runTest(t, []string{"serve", "--port", "0"}, envMap(map[string]string{"SECRET_KEY": "short"}), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("serve with a short SECRET_KEY: %v; want a length error", err)
	}
}

func TestInitDBSample(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	env := envMap(map[string]string{"AUDITLOG_ENV": "development"})
	for i, want := range []string{"loaded sample data", "sample data already present"} {
		var out bytes.Buffer
		if err := runTest(t, []string{"init-db", "--sample"}, env, &out, io.Discard); err != nil {
			t.Fatalf("init-db --sample (run %d): %v", i+1, err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("run %d output %q; want %q", i+1, out.String(), want)
		}
	}
	// The seed's default URL is relative to the working directory.
	if _, err := os.Stat(filepath.Join(dir, "audit_logs.db")); err != nil {
		t.Errorf("default database file: %v", err)
	}
}

// TestServe runs the service as a user would: settings from a .env file,
// flags over them, the sample data, then the seed's login over HTTP.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	dotenv := "SECRET_KEY=a-test-secret-key-that-is-long-enough\nDATABASE_URL=sqlite:///from-dotenv.db\nPORT=1\n"
	if err := os.WriteFile(".env", []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, stop := startServe(t, envMap(nil), "http://", "--sample")

	resp, err := testHTTP.Post("http://"+addr+"/api/auth/login", "application/json",
		strings.NewReader(`{"email": "owner@sample-store.com", "password": "owner123"}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Message string `json:"message"`
		User    struct {
			Role string `json:"role"`
		} `json:"user"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body.Message != "Login successful" || body.User.Role != "owner" {
		t.Errorf("login: %d %+v", resp.StatusCode, body)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-dotenv.db")); err != nil {
		t.Errorf("DATABASE_URL from .env not used: %v", err)
	}
	// The console answers beside the API, and the API keeps its JSON 404.
	for path, want := range map[string]string{"/signin": "text/html", "/api/nope": "application/json"} {
		resp, err := testHTTP.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, want) {
			t.Errorf("GET %s: %d %s; want %s", path, resp.StatusCode, ct, want)
		}
	}

	stop()
}

// startServe runs `auditlog serve --port 0 args…` in this process with the
// environment env, waits until it listens, and returns its address (after
// scheme) and a func that stops it and fails the test unless serve then
// returns nil within stopDeadline. Serve is stopped when the test ends in
// any case, and fails the test if it runs longer than serveDeadline.
func startServe(t *testing.T, env func(string) (string, bool), scheme string, args ...string) (addr string, stop func()) {
	t.Helper()
	insulated(t)
	ctx, cancel := context.WithTimeout(t.Context(), serveDeadline)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"serve", "--port", "0"}, args...), env, pw, io.Discard)
		pw.CloseWithError(err) // nil: EOF
		done <- err
	}()
	var once sync.Once
	stop = func() {
		t.Helper()
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					t.Errorf("serve was still running at its %s deadline and was stopped", serveDeadline)
				}
				if err != nil {
					t.Errorf("serve after shutdown: %v", err)
				}
			case <-time.After(stopDeadline):
				t.Errorf("serve did not shut down within %s", stopDeadline)
			}
		})
	}
	t.Cleanup(stop) // when the test ended before it called stop
	addr = waitListeningScheme(t, pr, scheme)
	return addr, stop
}

// waitListening reads serve's output until it names its http:// address.
func waitListening(t *testing.T, r io.Reader) string {
	t.Helper()
	return waitListeningScheme(t, r, "http://")
}

// TestRefusedFlagValues checks that a flag value a command refuses after
// parsing is reported on standard error, not only in the exit status.
func TestRefusedFlagValues(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--account", "1", "--format", "xml"}, `auditlog export: --format "xml": want ndjson, csv or pdf`},
		{[]string{"export", "--account", "1", "--progress", "sometimes"}, `auditlog export: --progress "sometimes": want auto, always or never`},
		{[]string{"export", "--url", "http://127.0.0.1:1"}, "auditlog export: --url needs --api-key"},
		{[]string{"verify", "--key", "k", "--witness", "not-a-key", "f.ndjson"}, "auditlog verify: --witness:"},
		{[]string{"bench", "--soak", "1s", "--soak-interval", "0s"}, "auditlog bench: --soak-interval and --soak-verify-size must be positive"},
	} {
		var stdout, stderr bytes.Buffer
		err := runTest(t, tc.args, envMap(nil), &stdout, &stderr)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("%v: err %v, want a usage error", tc.args, err)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: stderr %q does not say %q", tc.args, stderr.String(), tc.want)
		}
	}
}
