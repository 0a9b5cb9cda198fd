package server

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestCanonicalIDs checks that an ID in a path or a query is only ever the
// one way the API writes it: "01", "+1" and the like name nothing.
func TestCanonicalIDs(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	tn := e.newTenant("acme")
	tn.owner.do("POST", "/api/api-keys", map[string]any{"name": "svc", "scopes": []string{"events:write"}}).want(t, http.StatusCreated)
	_, analystID := e.addUser(tn, "analyst")
	if analystID != 2 {
		t.Fatalf("analyst has id %d; this test wants 2", analystID)
	}
	for _, id := range []string{"01", "+1", "1.0", "1e0", "0x1", "%201", "-1", "0"} {
		tn.owner.do("DELETE", "/api/api-keys/"+id, nil).wantError(t, http.StatusNotFound, "not_found", "")
		tn.owner.do("PATCH", "/api/users/"+id, map[string]any{"is_active": false}).wantError(t, http.StatusNotFound, "not_found", "")
		tn.owner.do("GET", "/api/accounts/"+id, nil).wantError(t, http.StatusNotFound, "not_found", "")
	}
	for _, q := range []string{"user_id=02", "user_id=%2B2", "page=01", "per_page=+5"} {
		tn.owner.do("GET", "/api/audit-logs?"+q, nil).wantError(t, http.StatusBadRequest, "invalid", "")
	}
	// The key and the analyst are untouched, and the canonical forms work.
	if r := tn.owner.do("GET", "/api/api-keys", nil).want(t, http.StatusOK); r.list("api_keys")[0].(map[string]any)["revoked_at"] != nil {
		t.Error("a non-canonical id revoked a key")
	}
	tn.owner.do("GET", "/api/audit-logs?user_id=2&page=1&per_page=5", nil).want(t, http.StatusOK)
	tn.owner.do("DELETE", "/api/api-keys/1", nil).want(t, http.StatusOK)
}

// TestNoRedirects checks that a path that is not in its clean form is a
// JSON 404, never a redirect (which would turn a POST into a GET elsewhere).
func TestNoRedirects(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	tn := e.newTenant("acme")
	for _, p := range []string{"//api/users", "/api//users", "/api/./users", "/api/x/../users", "/api/users/"} {
		tn.owner.do("GET", p, nil).wantError(t, http.StatusNotFound, "not_found", "")
	}
	tn.owner.do("GET", "/api/users", nil).want(t, http.StatusOK)
}

// TestDateBoundsEveryEngine checks that every accepted date bound is a
// valid instant on every engine, with the same answer on each: the latest
// instant rounds past year 9999 and is refused, the earliest end matches
// nothing, and the earliest start matches everything.
func TestDateBoundsEveryEngine(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		all := int64(len(tn.events(t, "per_page=100").list("audit_logs")))
		if all == 0 {
			t.Fatal("no events to filter")
		}
		for _, tt := range []struct {
			query string
			want  int64 // events matched; -1 for a 400 naming field
			field string
		}{
			{"start_date=" + url.QueryEscape("9999-12-31T23:59:59.999999999Z"), -1, "start_date"},
			{"end_date=" + url.QueryEscape("10000-01-01"), -1, "end_date"},
			{"start_date=9999-12-31", 0, ""},
			{"end_date=9999-12-31", all, ""},
			{"end_date=" + url.QueryEscape("0001-01-01T00:00:00Z"), 0, ""},
			{"end_date=0001-01-01", 0, ""},
			{"end_date=1969-12-31", 0, ""},
			{"start_date=0001-01-01", all, ""},
			{"start_date=0001-01-01&end_date=0001-01-02", 0, ""},
			{"start_date=1000-01-01&end_date=9999-12-31", all, ""},
		} {
			t.Run(tt.query, func(t *testing.T) {
				if tt.want < 0 {
					tn.owner.do("GET", "/api/audit-logs?"+tt.query, nil).wantError(t, http.StatusBadRequest, "invalid", tt.field)
					return
				}
				r := tn.events(t, tt.query)
				if got := num(r.obj("pagination"), "total"); got != tt.want {
					t.Errorf("total %d; want %d", got, tt.want)
				}
			})
		}
	})
}
