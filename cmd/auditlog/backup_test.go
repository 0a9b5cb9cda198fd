package main

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/sqlstore"
)

// TestBackupUnderLoad backs up a SQLite database with auditlog backup
// while four clients write events through a running serve, then checks
// each copy with restore-check: against the checkpoints it holds, and
// against checkpoints saved from GET /api/audit-logs/checkpoint before
// (checked) and after (newer than the copy: reported, not checked). A copy
// whose event was changed (one action) fails, naming the account and seq.
func TestBackupUnderLoad(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	env := envMap(map[string]string{"AUDITLOG_ENV": "development"})
	addr, stop := startServe(t, env, "http://")
	defer stop()
	base := "http://" + addr
	key := liveKey(t, base)
	post := func(body string) error {
		req, _ := http.NewRequest("POST", base+"/api/audit-logs", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := testHTTP.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("POST: %d %s", resp.StatusCode, b)
		}
		return nil
	}
	checkpoint := func(path string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/api/audit-logs/checkpoint", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := testHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET checkpoint: %d %s", resp.StatusCode, b)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		if err := post(fmt.Sprintf(`{"action":"order.created","metadata":{"n":%d}}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	kept := filepath.Join(dir, "kept")
	os.Mkdir(kept, 0o700)
	checkpoint(filepath.Join(kept, "before.json"))

	// Writers run during the backups.
	var wg sync.WaitGroup
	var done atomic.Bool
	var written atomic.Int64
	errc := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !done.Load(); i++ {
				if err := post(fmt.Sprintf(`{"action":"cart.updated","metadata":{"w":%d,"i":%d}}`, w, i)); err != nil {
					errc <- err
					return
				}
				written.Add(1)
			}
		}()
	}
	var copies []string
	for i := range 3 {
		for n := written.Load(); written.Load() < n+20; {
			time.Sleep(5 * time.Millisecond)
		}
		out := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		var stdout bytes.Buffer
		if err := run(t.Context(), []string{"backup", "--output", out}, env, &stdout, io.Discard); err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		copies = append(copies, out)
	}
	if err := run(t.Context(), []string{"backup", "--output", copies[0]}, env, io.Discard, io.Discard); err == nil {
		t.Errorf("backup over an existing file: no error")
	}
	for n := written.Load(); written.Load() < n+20; {
		time.Sleep(5 * time.Millisecond)
	}
	done.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("writer: %v", err)
	}
	checkpoint(filepath.Join(kept, "after.json"))

	restoreCheck := func(args ...string) (string, error) {
		var stdout bytes.Buffer
		err := run(t.Context(), append([]string{"restore-check"}, args...), env, &stdout, io.Discard)
		return stdout.String(), err
	}
	for _, c := range copies {
		out, err := restoreCheck("--checkpoints", kept, c)
		if err != nil {
			t.Fatalf("restore-check %s: %v\n%s", c, err, out)
		}
		if !strings.Contains(out, "OK: 1 accounts") || !strings.Contains(out, "(2 kept elsewhere)") ||
			!strings.Contains(out, "1 kept checkpoints are newer than the backup") {
			t.Errorf("restore-check %s:\n%s", c, out)
		}
	}
	// The copy holds what was committed: more than before the writers.
	var events int
	db, err := sql.Open("sqlite", copies[2])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&events); err != nil || events < 60 {
		t.Errorf("the last copy holds %d events (%v); want at least 60", events, err)
	}

	// Tampered: one event's action changed in the copy.
	var accountID int64
	if err := db.QueryRow(`SELECT account_id FROM events WHERE seq = 7`).Scan(&accountID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET action = 'order.refunded' WHERE account_id = ? AND seq = 7`, accountID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err := restoreCheck(copies[2])
	if !errors.Is(err, errVerifyFailed) {
		t.Fatalf("restore-check of a tampered copy: %v; want errVerifyFailed\n%s", err, out)
	}
	if want := fmt.Sprintf("FAILED: account %d: log index 6 (seq 7): ", accountID); !strings.Contains(out, want) {
		t.Errorf("restore-check of a tampered copy says\n%s\nwant %q", out, want)
	}

	// A kept checkpoint of another key fails.
	if err := os.WriteFile(filepath.Join(kept, "forged.txt"), []byte("auditlog/accounts/1\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— auditlog AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := restoreCheck("--checkpoints", kept, copies[0]); !errors.Is(err, errVerifyFailed) || !strings.Contains(out, "forged.txt: a checkpoint not signed") {
		t.Errorf("restore-check with a forged kept checkpoint: %v\n%s", err, out)
	}
}

// TestBackupServerEngines: backup refuses PostgreSQL and MySQL URLs,
// pointing at the guide, without connecting.
func TestBackupServerEngines(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, u := range []string{"postgres://nobody@127.0.0.1:1/x", "mysql://nobody@127.0.0.1:1/x"} {
		err := run(t.Context(), []string{"backup", "--output", "x.db", "--database-url", u}, envMap(map[string]string{"AUDITLOG_ENV": "development"}), io.Discard, io.Discard)
		if !errors.Is(err, sqlstore.ErrBackupEngine) || !strings.Contains(err.Error(), "docs/operations.md#backups") {
			t.Errorf("backup of %s: %v; want ErrBackupEngine", u, err)
		}
	}
}
