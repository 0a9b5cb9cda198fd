package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func TestUnknownRoutes(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	c := e.client()
	tests := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/nope", 404, "not_found", ""},
		{"GET", "/api/audit-logs/1/2/3", 404, "not_found", ""},
		{"DELETE", "/api/users", 405, "not_allowed", "GET, HEAD, POST"},
		{"PUT", "/api/auth/login", 405, "not_allowed", "POST"},
		{"GET", "/api/auth/login", 405, "not_allowed", "POST"},
		{"PUT", "/api/audit-logs", 405, "not_allowed", "GET, HEAD, POST"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := c.do(tt.method, tt.path, nil)
			r.wantError(t, tt.status, tt.code, "")
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q; want %q", got, tt.allow)
			}
		})
	}
}

// TestHealthAndReadiness: /healthz is liveness and answers 200 whatever the
// database's state; /readyz answers 200 while the database does and 503
// unavailable with Retry-After once it cannot be reached.
func TestHealthAndReadiness(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db)
	c := e.client()
	c.do("GET", "/healthz", nil).want(t, 200)
	if r := c.do("GET", "/readyz", nil).want(t, 200); r.body["status"] != "ready" {
		t.Errorf("/readyz body %s", r.raw)
	}
	db.Close()
	c.do("GET", "/healthz", nil).want(t, 200)
	r := c.do("GET", "/readyz", nil)
	r.wantError(t, 503, "unavailable", "")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After: %v", r.header)
	}
}

// TestInternalErrorsStayInternal breaks the database under a signed-in user
// and checks that the client sees a generic message, never driver text.
func TestInternalErrorsStayInternal(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db)
	tn := e.newTenant("acme")
	sqltest.Exec(t, db, `DROP TABLE events`)
	r := tn.owner.do("GET", "/api/audit-logs", nil)
	r.wantError(t, 500, "internal", "")
	if r.body["error"] != "Internal error." {
		t.Errorf("500 body %s; want the generic message", r.raw)
	}
	for _, leak := range []string{"events", "sqlite", "SQL", "table"} {
		if strings.Contains(string(r.raw), leak) {
			t.Errorf("500 body leaks %q: %s", leak, r.raw)
		}
	}
}

func TestCrossOriginRefused(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	tn := e.newTenant("acme")
	body := map[string]string{"email": "x@acme.example.com", "password": "password-1", "role": "analyst"}
	tn.owner.do("POST", "/api/users", body, "Sec-Fetch-Site", "cross-site").wantError(t, 403, "forbidden", "")
	tn.owner.do("POST", "/api/users", body, "Origin", "https://evil.example").wantError(t, 403, "forbidden", "")
	// Same-origin browser requests and non-browser clients pass.
	tn.owner.do("POST", "/api/users", body, "Sec-Fetch-Site", "same-origin").want(t, http.StatusCreated)
	// Reads are never refused.
	tn.owner.do("GET", "/api/users", nil, "Sec-Fetch-Site", "cross-site").want(t, 200)
}

func TestSecurityHeaders(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	r := e.client().do("GET", "/healthz", nil)
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
		"X-Frame-Options":        "DENY",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
}
