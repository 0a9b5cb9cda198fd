package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sample"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// TestExportCommand runs auditlog export both ways on the sample data: from
// the database as an operator (recorded as a system actor) and through the
// API with a key; each format lands whole in its file, verifies where it
// can, and a failed or refused export leaves no file behind.
func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	dbURL := "sqlite:///" + filepath.Join(dir, "audit.db")
	env := envMap(map[string]string{"AUDITLOG_ENV": "development", "DATABASE_URL": dbURL, "LOG_LEVEL": "error", "USER": "olivia"})
	if err := runTest(t, []string{"init-db", "--sample"}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	// The signing key is made by the first command that appends: this one.
	var stdout, stderr bytes.Buffer
	if err := runTest(t, []string{"export", "--account", "1", "--format", "ndjson"}, env, &stdout, &stderr); err != nil {
		t.Fatalf("export to stdout: %v\n%s", err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("export to a pipe wrote to stderr: %q", stderr.String())
	}
	var vkey bytes.Buffer
	if err := runTest(t, []string{"verifier-key"}, env, &vkey, io.Discard); err != nil {
		t.Fatal(err)
	}
	ndjson := filepath.Join(dir, "log.ndjson")
	os.WriteFile(ndjson, stdout.Bytes(), 0o600)
	var out bytes.Buffer
	if err := runTest(t, []string{"verify", "--key", strings.TrimSpace(vkey.String()), ndjson}, envMap(nil), &out, &out); err != nil {
		t.Fatalf("verify the command's export: %v\n%s", err, out.String())
	}

	// CSV of one action to a file, with a progress bar asked for.
	csvFile := filepath.Join(dir, "refunds.csv")
	stderr.Reset()
	err := runTest(t, []string{"export", "--account", "1", "--format", "csv", "--action", "order_refunded", "--bom", "--output", csvFile, "--progress", "always"}, env, io.Discard, &stderr)
	if err != nil {
		t.Fatalf("csv export: %v\n%s", err, stderr.String())
	}
	data, err := os.ReadFile(csvFile)
	if err != nil || !bytes.HasPrefix(data, []byte("\uFEFFid,seq,")) {
		t.Fatalf("csv file: %v, starts %q", err, data[:min(len(data), 16)])
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	for _, r := range rows[1:] {
		if r[4] != "order_refunded" {
			t.Errorf("csv row of action %q", r[4])
		}
	}
	n := len(rows) - 1
	if s := stderr.String(); !strings.Contains(s, "100%") || !strings.Contains(s, fmt.Sprintf("%d/%d events", n, n)) || !strings.Contains(s, "events/s") || !strings.Contains(s, "wrote "+csvFile) {
		t.Errorf("progress output:\n%q", s)
	}

	// The exports are recorded as the operator's, with the count.
	db, err := sqlstore.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	page, err := db.Events(context.Background(), 1, audit.EventFilter{Action: audit.ActionLogExported}, audit.PageRequest{Page: 1, PerPage: 10})
	db.Close()
	if err != nil || len(page.Events) != 2 {
		t.Fatalf("export records: %v, %v", page, err)
	}
	e := page.Events[0]
	if e.ActorType != audit.ActorSystem || e.ActorName != "auditlog export by olivia" || e.UserID != 0 ||
		!strings.HasPrefix(e.Details, fmt.Sprintf("Exported the audit log as CSV filtered by action=order_refunded: %d events up to checkpoint", n)) {
		t.Errorf("operator's export record: actor %q %q user %d, details %q", e.ActorType, e.ActorName, e.UserID, e.Details)
	}

	// A search (--q) selects as the API's q does, both ways.
	searchedActions := func(ndjson string) map[string]int {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(ndjson), "\n")
		if len(lines) < 3 || !strings.Contains(lines[0], `"filter":{"q":"action:order_refunded"}`) {
			t.Fatalf("searched export: %d lines, header %.300s", len(lines), lines[0])
		}
		actions := map[string]int{}
		for _, l := range lines[1 : len(lines)-1] {
			var ev struct{ Action string }
			json.Unmarshal([]byte(l), &ev)
			actions[ev.Action]++
		}
		return actions
	}
	stdout.Reset()
	if err := runTest(t, []string{"export", "--account", "1", "--q", "action:order_refunded"}, env, &stdout, io.Discard); err != nil {
		t.Fatalf("export with --q: %v", err)
	}
	if got := searchedActions(stdout.String()); len(got) != 1 || got["order_refunded"] != n {
		t.Errorf("export with --q from the database: actions %v; want %d order_refunded", got, n)
	}

	// Refusals leave no file, nor a temporary one.
	for _, args := range [][]string{
		{"export", "--account", "999", "--output", "x.ndjson"},
		{"export", "--account", "1", "--start-date", "never", "--output", "x.ndjson"},
		{"export", "--account", "1", "--format", "xlsx", "--output", "x.ndjson"},
		{"export", "--output", "x.ndjson"},
		{"export", "--account", "1", "--url", "http://127.0.0.1:1", "--output", "x.ndjson"},
	} {
		if err := runTest(t, args, env, io.Discard, io.Discard); err == nil {
			t.Errorf("%q succeeded", args)
		}
	}
	// An interrupted export (Ctrl-C cancels run's context) leaves none
	// either.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(ctx, []string{"export", "--account", "1", "--output", "x.ndjson"}, env, io.Discard, io.Discard); err == nil {
		t.Error("an interrupted export succeeded")
	}
	wantFiles(t, dir, "audit.db", "log.ndjson", "refunds.csv")

	// Through the API, with a key that may read events.
	addr, stop := startServe(t, env, "http://")
	defer stop()
	base := "http://" + addr
	key := readKey(t, base)
	apiEnv := envMap(map[string]string{"AUDITLOG_API_KEY": key})
	for _, format := range []string{"ndjson", "csv", "pdf"} {
		file := filepath.Join(dir, "api."+format)
		stderr.Reset()
		if err := runTest(t, []string{"export", "--url", base, "--format", format, "--resource-type", "order", "--output", file}, apiEnv, io.Discard, &stderr); err != nil {
			t.Fatalf("%s export through the API: %v\n%s", format, err, stderr.String())
		}
		data := mustRead(t, file)
		switch format {
		case "ndjson":
			out.Reset()
			if err := runTest(t, []string{"verify", "--key", strings.TrimSpace(vkey.String()), file}, envMap(nil), &out, &out); err != nil || !strings.Contains(out.String(), "filter: resource_type=order") {
				t.Errorf("verify the API export: %v\n%s", err, out.String())
			}
		case "csv":
			if !strings.HasPrefix(data, "id,seq,") {
				t.Errorf("csv through the API starts %q", data[:20])
			}
		case "pdf":
			if !strings.HasPrefix(data, "%PDF-") {
				t.Errorf("pdf through the API starts %q", data[:8])
			}
		}
		if strings.Contains(stderr.String(), "\r") {
			t.Errorf("%s: a progress bar on a pipe: %q", format, stderr.String())
		}
	}
	stdout.Reset()
	if err := runTest(t, []string{"export", "--url", base, "--q", "action:order_refunded"}, apiEnv, &stdout, io.Discard); err != nil {
		t.Fatalf("export with --q through the API: %v", err)
	}
	if got := searchedActions(stdout.String()); len(got) != 1 || got["order_refunded"] != n {
		t.Errorf("export with --q through the API: actions %v; want %d order_refunded", got, n)
	}
	searched := filepath.Join(dir, "searched.ndjson")
	os.WriteFile(searched, stdout.Bytes(), 0o600)
	out.Reset()
	if err := runTest(t, []string{"verify", "--key", strings.TrimSpace(vkey.String()), searched}, envMap(nil), &out, &out); err != nil || !strings.Contains(out.String(), "(filter: q=action:order_refunded)") {
		t.Errorf("verify the searched export: %v\n%s", err, out.String())
	}
	os.Remove(searched)
	if err := runTest(t, []string{"export", "--url", base, "--api-key", "alk_wrong", "--output", "denied.ndjson"}, envMap(nil), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("export with a wrong key: %v; want the 401", err)
	}
	wantFiles(t, dir, "api.csv", "api.ndjson", "api.pdf", "audit.db", "log.ndjson", "refunds.csv")
}

// TestExportCommandCutShort checks that a download the server cuts short
// (an NDJSON file without its end line) fails and leaves no file.
func TestExportCommandCutShort(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Export-Events", "3")
		io.WriteString(w, `{"type":"header"}`+"\n"+`{"type":"event"}`+"\n")
	}))
	defer ts.Close()
	err := runTest(t, []string{"export", "--url", ts.URL, "--api-key", "k", "--output", "cut.ndjson"}, envMap(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "end line") {
		t.Errorf("a cut download: %v; want an error about the end line", err)
	}
	wantFiles(t, dir)
}

// wantFiles checks that dir holds exactly the named files.
func wantFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "audit.db-") { // SQLite's WAL, while open
			got = append(got, e.Name())
		}
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("files in the directory: %q; want %q", got, names)
	}
}

// readKey signs in as the sample admin and creates an API key that may
// read events.
func readKey(t *testing.T, base string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: testHTTP.Timeout}
	admin := sample.Users[1]
	resp, err := hc.Post(base+"/api/auth/login", "application/json", strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, admin.Email, admin.Password)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = hc.Post(base+"/api/api-keys", "application/json", strings.NewReader(`{"name":"siem","scopes":["events:read"]}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create key: %v %v", resp, err)
	}
	defer resp.Body.Close()
	var k struct {
		Key string `json:"key"`
	}
	json.NewDecoder(resp.Body).Decode(&k)
	return k.Key
}
