package server

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestHeaderBytesNeverPoisonTheLog sends a User-Agent holding bytes that are
// not UTF-8 through every endpoint that records the caller's origin, on
// every engine. No response is a 5xx; each recorded user agent is the
// header with every invalid byte replaced by U+FFFD; and the account's log
// verifies both on the server and offline, from a full export. (Before,
// SQLite stored the raw bytes, which an export rewrote, so every later
// export failed offline verification; PostgreSQL and MariaDB answered 500.)
func TestHeaderBytesNeverPoisonTheLog(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		const ua, want = "bot\xff\xfe/1.0 \xc3(", "bot\uFFFD\uFFFD/1.0 \uFFFD("
		h := []string{"User-Agent", ua}
		c := e.client()
		c.do("POST", "/api/accounts", map[string]string{
			"name": "Hostile Store", "domain": "hostile.example.com", "owner_email": "owner@hostile.example.com",
			"owner_password": "owner-password", "owner_first_name": "Olga", "owner_last_name": "Owner",
		}, h...).want(t, http.StatusCreated)
		c.do("POST", "/api/auth/login", map[string]string{"email": "owner@hostile.example.com", "password": "wrong-password"}, h...).
			wantError(t, http.StatusUnauthorized, "unauthorized", "")
		c.do("POST", "/api/auth/login", map[string]string{"email": "owner@hostile.example.com", "password": "owner-password"}, h...).
			want(t, http.StatusOK)
		c.do("POST", "/api/users", map[string]string{
			"email": "analyst@hostile.example.com", "password": "user-password", "role": "analyst",
		}, h...).want(t, http.StatusCreated)
		c.do("POST", "/api/api-keys", map[string]any{"name": "svc", "scopes": []string{"events:write"}}, h...).want(t, http.StatusCreated)
		c.do("POST", "/api/auth/password", map[string]string{"current_password": "owner-password", "new_password": "owner-password-2"}, h...).
			want(t, http.StatusOK)

		// Sign-in with bytes no stored email can hold is an unknown
		// email, not a database error.
		for _, email := range []string{`a\u0000b@hostile.example.com`, `a\u007fb@hostile.example.com`} {
			c.do("POST", "/api/auth/login", `{"email": "`+email+`", "password": "whatever-it-is"}`).
				wantError(t, http.StatusUnauthorized, "unauthorized", "")
		}
		e.client().do("GET", "/api/audit-logs", nil, "Authorization", "Bearer alk_\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4_x").
			wantError(t, http.StatusUnauthorized, "unauthorized", "")

		if err := e.app.Flush(t.Context()); err != nil { // the failed sign-in's login_failed
			t.Fatal(err)
		}
		list := c.do("GET", "/api/audit-logs?per_page=100", nil).want(t, http.StatusOK)
		n := 0
		for _, ev := range list.list("audit_logs") {
			got, _ := ev.(map[string]any)["user_agent"].(string)
			if got != want {
				t.Errorf("%v recorded user agent %q; want %q", ev.(map[string]any)["action"], got, want)
			}
			n++
		}
		if n < 7 {
			t.Errorf("%d events recorded; want at least 7", n)
		}
		if r := c.do("GET", "/api/audit-logs/verify", nil).want(t, http.StatusOK); r.body["ok"] != true {
			t.Errorf("server verify: %s", r.raw)
		}
		vkey := c.do("GET", "/api/verifier-key", nil).want(t, http.StatusOK).body["verifier_key"].(string)
		file := download(t, &tenant{owner: c}, "")
		if _, err := export.Verify(bytes.NewReader(file), vkey); err != nil {
			t.Errorf("offline verification of a full export: %v", err)
		}
		c.do("POST", "/api/auth/logout", nil, h...).want(t, http.StatusOK)
	})
}
