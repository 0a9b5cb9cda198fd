package app_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestExport checks that an export records itself first (format, filter,
// count, checkpoint and actor), and that each format holds the events up
// to the checkpoint it read.
func TestExport(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		exportTo := func(p *app.Principal, req app.ExportRequest) (*app.Export, []byte) {
			t.Helper()
			var buf bytes.Buffer
			var x *app.Export
			err := f.app.Export(f.ctx, p, origin, req, func(e *app.Export) io.Writer { x = e; return &buf })
			if err != nil {
				t.Fatal(err)
			}
			return x, buf.Bytes()
		}
		x, file := exportTo(tn.p, app.ExportRequest{})
		size := x.Checkpoint.Size
		e := f.wantEvent(tn.account.ID, audit.ActionLogExported, fmt.Sprintf("Exported the audit log as NDJSON: %d events up to checkpoint %d", size, size), tn.owner)
		if e.ResourceType != audit.ResourceAuditLog || e.ResourceID != "" || e.Seq != size+1 {
			t.Errorf("log_exported resource %q %q seq %d; want the event after checkpoint %d", e.ResourceType, e.ResourceID, e.Seq, size)
		}
		vkey, _ := f.app.VerifierKey()
		rep, err := export.Verify(bytes.NewReader(file), vkey)
		if err != nil || !rep.Complete || rep.TreeSize != size || rep.Events != size || !x.Complete || x.Events != size {
			t.Fatalf("complete export: report %+v, err %v; export %+v", rep, err, x)
		}
		if want := "audit-log-acme.example.com-size-" + fmt.Sprint(size) + ".ndjson"; x.Filename() != want {
			t.Errorf("Filename() = %q; want %q", x.Filename(), want)
		}

		x, file = exportTo(tn.p, app.ExportRequest{Filter: audit.EventFilter{Action: "user_login", UserID: 7}})
		f.wantEvent(tn.account.ID, audit.ActionLogExported, fmt.Sprintf("Exported the audit log as NDJSON filtered by user_id=7 action=user_login: 0 events up to checkpoint %d", x.Checkpoint.Size), tn.owner)
		if rep, err := export.Verify(bytes.NewReader(file), vkey); err != nil || rep.Complete || x.Complete || rep.Events != 0 || x.Events != 0 {
			t.Fatalf("filtered export: report %+v, err %v", rep, err)
		}

		// CSV: the count in the record is the rows in the file.
		x, file = exportTo(tn.p, app.ExportRequest{Format: app.FormatCSV, Filter: audit.EventFilter{Action: audit.ActionLogExported}})
		rows, err := csv.NewReader(bytes.NewReader(file)).ReadAll()
		if err != nil || int64(len(rows)-1) != x.Events || x.Events != 2 {
			t.Fatalf("csv export: %d rows, err %v; export counts %d, want 2", len(rows)-1, err, x.Events)
		}
		f.wantEvent(tn.account.ID, audit.ActionLogExported, fmt.Sprintf("Exported the audit log as CSV filtered by action=audit_log_exported: 2 events up to checkpoint %d", x.Checkpoint.Size), tn.owner)
		if x.ContentType() != "text/csv; charset=utf-8" || !strings.HasSuffix(x.Filename(), "-filtered.csv") {
			t.Errorf("csv export: type %q name %q", x.ContentType(), x.Filename())
		}

		// PDF: built whole, then written.
		x, file = exportTo(tn.p, app.ExportRequest{Format: app.FormatPDF})
		if !bytes.HasPrefix(file, []byte("%PDF-")) || x.ContentType() != "application/pdf" {
			t.Errorf("pdf export starts %q, type %q", file[:min(len(file), 8)], x.ContentType())
		}
		f.wantEvent(tn.account.ID, audit.ActionLogExported, fmt.Sprintf("Exported the audit log as PDF: %d events up to checkpoint %d", x.Checkpoint.Size, x.Checkpoint.Size), tn.owner)
		// Over the cap, still a report, with the notice and every event
		// counted.
		x, file = exportTo(tn.p, app.ExportRequest{Format: app.FormatPDF, PDF: export.PDFOptions{MaxRows: 2}})
		if text := pdfText(t, file); text != "" {
			want := fmt.Sprintf("%d more events in range are not listed: the table stops at 2 rows. The summary counts all %d events.", x.Events-2, x.Events)
			if !strings.Contains(text, want) || !strings.Contains(text, "Olga acme") || !strings.Contains(text, "acme.example.com") {
				t.Errorf("pdf over the cap lacks %q, the owner or the domain:\n%s", want, text)
			}
		}

		// A service exporting with a key is the actor by the key's prefix.
		key, k, err := f.app.CreateAPIKey(f.ctx, tn.p, origin, app.NewAPIKey{Name: "siem", Scopes: []string{audit.ScopeEventsRead}})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := f.app.AuthenticateKey(f.ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		exportTo(svc, app.ExportRequest{})
		e = f.events(tn.account.ID, audit.ActionLogExported)[0]
		if e.ActorType != audit.ActorAPIKey || e.ActorID != k.Prefix || e.ActorName != "siem" || e.APIKeyID != k.ID || e.UserID != 0 {
			t.Errorf("export by key: actor %q %q %q key %d user %d; want the key", e.ActorType, e.ActorID, e.ActorName, e.APIKeyID, e.UserID)
		}
		// An operator on the command line is a system actor by name.
		exportTo(app.OperatorPrincipal(tn.account.ID, "auditlog export"), app.ExportRequest{Format: app.FormatCSV})
		e = f.events(tn.account.ID, audit.ActionLogExported)[0]
		if e.ActorType != audit.ActorSystem || e.ActorName != "auditlog export" || e.UserID != 0 || e.APIKeyID != 0 {
			t.Errorf("export by operator: actor %q %q user %d key %d; want system", e.ActorType, e.ActorName, e.UserID, e.APIKeyID)
		}

		// Analysts and content creators may not export, and nothing is
		// recorded for trying; nor is an unknown format.
		before := len(f.events(tn.account.ID, audit.ActionLogExported))
		for _, role := range []audit.Role{audit.RoleAnalyst, audit.RoleContentCreator} {
			_, p := f.addUser(tn, role, string(role))
			err = f.app.Export(f.ctx, p, origin, app.ExportRequest{}, func(*app.Export) io.Writer { t.Error("started"); return io.Discard })
			wantCode(t, string(role)+" export", err, audit.EFORBIDDEN, "")
		}
		err = f.app.Export(f.ctx, tn.p, origin, app.ExportRequest{Format: "xlsx"}, func(*app.Export) io.Writer { t.Error("started"); return io.Discard })
		wantCode(t, "xlsx export", err, audit.EINVALID, "format")
		if n := len(f.events(tn.account.ID, audit.ActionLogExported)); n != before {
			t.Errorf("%d exports recorded after refusals; want %d", n, before)
		}
	})
}

// cancelWriter cancels a context at the first write, and counts the bytes
// written.
type cancelWriter struct {
	n      int
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.cancel()
	return len(p), nil
}

// TestExportStopsWhenCancelled checks that an export whose context ends
// (the client went away) stops reading the log instead of running to the
// end, in every format, and that its record stays.
func TestExportStopsWhenCancelled(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		const n = 5000
		events := make([]*audit.Event, n)
		for i := range events {
			events[i] = &audit.Event{AccountID: tn.account.ID, Action: "order_created", ResourceType: "order", Details: strings.Repeat("x", 200)}
		}
		if err := db.Update(f.ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.AppendEvents(f.ctx, sqltest.Signer(t), events...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, req := range []app.ExportRequest{
			{Format: app.FormatNDJSON}, {Format: app.FormatCSV}, {Format: app.FormatPDF},
			{Format: app.FormatNDJSON, Filter: audit.EventFilter{Action: "order_created"}},
			{Format: app.FormatCSV, Filter: audit.EventFilter{ResourceType: "order"}},
		} {
			format := req.Format
			ctx, cancel := context.WithCancel(f.ctx)
			var x *app.Export
			// NDJSON and CSV buffer 256 kB and 64 kB: the cancel comes at
			// the first flush, and the export stops within a few hundred
			// events of it, far from the 5,000 events' 1.5 MB. The PDF is
			// cancelled before it starts: it writes nothing.
			w := &cancelWriter{cancel: cancel}
			if format == app.FormatPDF {
				cancel()
			}
			err := f.app.Export(ctx, tn.p, origin, req, func(e *app.Export) io.Writer { x = e; return w })
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s %+v: cancelled export returned %v; want context.Canceled (%d bytes, export %+v)", format, req.Filter, err, w.n, x)
			}
			if w.n > 600<<10 {
				t.Errorf("%s: %d bytes written after the cancel; want the export to stop", format, w.n)
			}
			if format == app.FormatPDF && x != nil {
				t.Errorf("pdf: started after cancel")
			}
		}
		// The four that started recorded themselves first, and it stays.
		if got := len(f.events(tn.account.ID, audit.ActionLogExported)); got != 4 {
			t.Errorf("%d exports recorded; want 4", got)
		}
	})
}

// pdfText returns the text pdftotext extracts from a PDF, its spaces and
// line breaks folded, or "" when pdftotext is not installed (outside CI).
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
