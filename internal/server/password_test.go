package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sample"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func TestChangePassword(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		email := "owner@acme.example.com"
		other := e.client() // a second session of the same user
		other.login(email, "owner-password")
		oldCookie := tn.owner.cookie(t)

		tests := []struct {
			name   string
			body   any
			status int
			code   string
			field  string
		}{
			{"missing current password", map[string]string{"new_password": "a-new-passphrase"}, 400, "invalid", "current_password"},
			{"missing new password", map[string]string{"current_password": "owner-password"}, 400, "invalid", "new_password"},
			{"new password too short", map[string]string{"current_password": "owner-password", "new_password": "short"}, 400, "invalid", "new_password"},
			{"new password breached", map[string]string{"current_password": "owner-password", "new_password": "password123"}, 400, "invalid", "new_password"},
			{"new password unchanged", map[string]string{"current_password": "owner-password", "new_password": "owner-password"}, 400, "invalid", "new_password"},
			{"wrong current password", map[string]string{"current_password": "not-my-password", "new_password": "a-new-passphrase"}, 403, "forbidden", "current_password"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tn.owner.do("POST", "/api/auth/password", tt.body).wantError(t, tt.status, tt.code, tt.field)
			})
		}
		if evs := tn.eventsWith(t, audit.ActionLoginFailed); len(evs) != 1 || !strings.Contains(evs[0]["details"].(string), "wrong current password") {
			t.Errorf("login_failed events %v; want one for the wrong current password", evs)
		}
		e.client().do("POST", "/api/auth/password", map[string]string{"current_password": "owner-password", "new_password": "a-new-passphrase"}).wantError(t, 401, "unauthorized", "")

		r := tn.owner.do("POST", "/api/auth/password", map[string]string{"current_password": "owner-password", "new_password": "a-new-passphrase"}).want(t, http.StatusOK)
		if r.body["message"] != "Password changed successfully" || !strings.Contains(r.header.Get("Set-Cookie"), "session=") {
			t.Fatalf("response %s, Set-Cookie %q; want success and a fresh session cookie", r.raw, r.header.Get("Set-Cookie"))
		}
		// The caller goes on with the fresh cookie; the old cookie and the
		// other session are dead.
		tn.owner.do("GET", "/api/auth/me", nil).want(t, http.StatusOK)
		other.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
		stale := e.client()
		stale.setCookie(t, oldCookie)
		stale.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
		// Only the new password signs in.
		e.client().do("POST", "/api/auth/login", map[string]string{"email": email, "password": "owner-password"}).wantError(t, 401, "unauthorized", "")
		e.client().login(email, "a-new-passphrase")
		evs := tn.eventsWith(t, audit.ActionPasswordChanged)
		if len(evs) != 1 || !strings.Contains(evs[0]["details"].(string), "1 other session(s) ended") {
			t.Errorf("password_changed events %v; want one noting the other session", evs)
		}
	})
}

func TestBreachedPasswords(t *testing.T) {
	t.Parallel()
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db)
	tn := e.newTenant("acme")
	// The seed's example password is on the list: a clear 400.
	r := e.client().do("POST", "/api/accounts", map[string]string{
		"name": "My Store", "domain": "mystore.com", "owner_email": "owner@mystore.com", "owner_password": "password123",
	})
	r.wantError(t, 400, "invalid", "owner_password")
	if msg := r.body["error"].(string); !strings.Contains(msg, "most common passwords found in data breaches") {
		t.Errorf("message %q does not say why", msg)
	}
	tn.owner.do("POST", "/api/users", map[string]string{"email": "a@acme.example.com", "password": "Password123", "role": "analyst"}).wantError(t, 400, "invalid", "password")
	// Long passphrases with any characters are fine: no composition rules.
	tn.owner.do("POST", "/api/users", map[string]string{"email": "b@acme.example.com", "password": strings.Repeat("long passphrase ", 8), "role": "analyst"}).want(t, http.StatusCreated)

	// The operator may turn the list off.
	off := newTestEnv(t, db, withConfig(func(c *config.Config) { c.AllowBreachedPasswords = true }))
	off.client().do("POST", "/api/accounts", map[string]string{
		"name": "My Store", "domain": "mystore.com", "owner_email": "owner@mystore.com", "owner_password": "password123",
	}).want(t, http.StatusCreated)
}

// TestSampleUsersKeepDocumentedPasswords loads the sample data (as init-db
// --sample and serve --demo do) and signs in with the documented passwords,
// although admin123 is on the breached list: the loader writes the seed's
// fixtures directly and is not subject to the policy for new passwords.
func TestSampleUsersKeepDocumentedPasswords(t *testing.T) {
	t.Parallel()
	db := sqltest.OpenSQLite(t)
	if _, err := sample.Load(t.Context(), db, sqltest.Signer(t), password.NewHasher(testParams), time.Now()); err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, db)
	for _, u := range sample.Users {
		e.client().login(u.Email, u.Password)
	}
	if !password.Breached("admin123") {
		t.Fatal("admin123 is not on the list; this test no longer shows the bypass")
	}
}
