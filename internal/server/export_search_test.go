package server

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestExportSearch checks that an export takes the list's q as well as its
// filters, on every engine: the file holds exactly the events the search
// finds (each with its inclusion proof in NDJSON, which verifies offline),
// its audit record names the search, and a search the language refuses
// is a 400 naming q, before anything is recorded.
func TestExportSearch(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		e.appendEvents(exportEventsFor(tn.accountID)...)
		q := url.Values{"q": {"action:order_refunded"}}
		listed := tn.events(t, q.Encode()+"&per_page=100")
		want := len(listed.list("audit_logs"))
		if want == 0 {
			t.Fatal("the search finds nothing to export")
		}

		q.Set("format", "csv")
		x := fetchExport(t, tn.owner, q.Encode())
		if x.status != http.StatusOK {
			t.Fatalf("CSV export of a search: %d %s", x.status, x.body)
		}
		rows, err := csv.NewReader(bytes.NewReader(x.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows)-1 != want {
			t.Errorf("CSV export of a search holds %d events; the list finds %d", len(rows)-1, want)
		}
		for _, r := range rows[1:] {
			if !strings.Contains(strings.Join(r, ","), "order_refunded") {
				t.Errorf("CSV export of action:order_refunded holds %v", r)
			}
		}

		q.Set("format", "ndjson")
		x = fetchExport(t, tn.owner, q.Encode())
		vkey := tn.owner.do("GET", "/api/verifier-key", nil).want(t, http.StatusOK).body["verifier_key"].(string)
		rep, err := export.Verify(bytes.NewReader(x.body), vkey)
		if err != nil || rep.Complete || rep.Events != int64(want) || rep.Filter["q"] != "action:order_refunded" {
			t.Errorf("NDJSON export of a search: report %+v, err %v", rep, err)
		}
		recorded := tn.events(t, "action=audit_log_exported").list("audit_logs")
		if len(recorded) == 0 || !strings.Contains(recorded[0].(map[string]any)["details"].(string), "q=action:order_refunded") {
			t.Errorf("the export's record does not name its search: %v", recorded)
		}

		before := len(recorded)
		r := tn.owner.do("GET", "/api/audit-logs/export?"+url.Values{"q": {"acton:x"}}.Encode(), nil)
		r.wantError(t, http.StatusBadRequest, "invalid", "q")
		if after := len(tn.events(t, "action=audit_log_exported").list("audit_logs")); after != before {
			t.Error("a refused search was recorded as an export")
		}
	})
}
