package server

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/auditlog/auditlog/internal/sqlstore"
)

// TestDiskFull runs the service on SQLite on a small file system of its own
// (tmpfs, mounted by the test), fills the file system, and checks that
// writes then answer 507 storage_full with Retry-After and a clear message,
// not a 500; that reads and the liveness check still answer while the
// readiness check answers 507 too; and that once
// space is freed the service records again without a restart, with a log
// that verifies. Mounting needs root, as in CI; elsewhere the test skips,
// unless CI=true.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a tmpfs (CI runs as root): %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here (needs root): %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	db, err := sqlstore.Open(t.Context(), "sqlite:///"+filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := newTestEnv(t, db)
	tn := e.newTenant("full")
	svc, _ := e.newKey(tn, "svc", "events:write")
	batch := func() *response {
		events := make([]any, 200)
		for i := range events {
			events[i] = map[string]any{"action": "order.refunded", "resource_type": "order", "details": strings.Repeat("x", 500)}
		}
		return svc.do("POST", "/api/audit-logs/batch", map[string]any{"events": events})
	}

	// Fill the file system: a file takes all the space that is left.
	filler := filepath.Join(dir, "filler")
	fillUp(t, filler)
	var full *response
	for range 50 { // the log's files may hold some free pages still
		if r := batch(); r.status != http.StatusCreated {
			full = r
			break
		}
	}
	if full == nil {
		t.Fatal("50 batches fitted on a full file system")
	}
	full.wantError(t, http.StatusInsufficientStorage, "storage_full", "")
	if full.header.Get("Retry-After") == "" || !strings.Contains(full.body["error"].(string), "no space left") {
		t.Errorf("507 headers %v body %s", full.header, full.raw)
	}
	e.client().do("GET", "/healthz", nil).want(t, http.StatusOK) // alive
	ready := e.client().do("GET", "/readyz", nil)
	ready.wantError(t, http.StatusInsufficientStorage, "storage_full", "")
	if ready.header.Get("Retry-After") == "" {
		t.Errorf("/readyz 507 without Retry-After: %v", ready.header)
	}
	tn.owner.do("GET", "/api/audit-logs?per_page=5", nil).want(t, http.StatusOK)

	// Space comes back: the service records again, and its log verifies.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	e.client().do("GET", "/readyz", nil).want(t, http.StatusOK)
	batch().want(t, http.StatusCreated)
	if v := tn.owner.do("GET", "/api/audit-logs/verify", nil).want(t, http.StatusOK); v.body["ok"] != true {
		t.Errorf("verify after the disk filled: %s", v.raw)
	}
}

// fillUp writes path until its file system has no space left.
func fillUp(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			return
		}
	}
}
