package server

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func TestStrictHeadersAndHSTS(t *testing.T) {
	t.Parallel()
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db)
	want := map[string]string{
		"Content-Security-Policy":      "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "no-referrer",
		"X-Frame-Options":              "DENY",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
		"Cache-Control":                "no-store",
	}
	c := e.client()
	for _, r := range []*response{
		c.do("GET", "/healthz", nil),
		c.do("GET", "/api/users", nil),    // 401
		c.do("GET", "/api/nope", nil),     // 404
		c.do("DELETE", "/api/users", nil), // 405
	} {
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("%d response: %s = %q; want %q", r.status, k, got, v)
			}
		}
		if r.header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS sent over plain HTTP")
		}
	}

	// Over TLS the same handler adds HSTS.
	ts := httptest.NewTLSServer(e.srv)
	defer ts.Close()
	hc := ts.Client()
	hc.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	resp, err := hc.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
		t.Errorf("HSTS over TLS: %q", got)
	}
}

// TestCSRF sends state-changing requests with the victim's cookie as a
// forged cross-site page would, and checks that none gets through, that
// same-origin and non-browser clients are unaffected, and that safe methods
// pass.
func TestCSRF(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		_, analystID := e.addUser(tn, audit.RoleAnalyst)
		host := strings.TrimPrefix(e.ts.URL, "http://")
		userPath := "/api/users/" + strconv.FormatInt(analystID, 10)
		forged := []struct {
			name string
			hdr  []string
		}{
			{"Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site"}},
			{"Sec-Fetch-Site same-site", []string{"Sec-Fetch-Site", "same-site"}},
			{"foreign Origin without Sec-Fetch-Site", []string{"Origin", "https://evil.example"}},
			{"foreign Origin on the same host name, other port", []string{"Origin", "http://" + strings.Split(host, ":")[0] + ":1"}},
			{"null Origin", []string{"Origin", "null"}},
			{"cross-site even with a same-origin Origin", []string{"Sec-Fetch-Site", "cross-site", "Origin", e.ts.URL}},
		}
		requests := []struct {
			method, path string
			body         any
		}{
			{"PATCH", userPath, map[string]any{"role": "admin"}},
			{"POST", "/api/users", map[string]string{"email": "csrf@acme.example.com", "password": "user-password", "role": "admin"}},
			{"POST", "/api/auth/password", map[string]string{"current_password": "owner-password", "new_password": "csrf-new-password"}},
			{"POST", "/api/auth/mfa/setup", map[string]string{"password": "owner-password"}},
			{"PATCH", "/api/accounts/" + strconv.FormatInt(tn.accountID, 10) + "/security", map[string]any{"require_mfa": true}},
			{"POST", "/api/auth/logout", nil},
			{"POST", "/api/auth/login", map[string]string{"email": "owner@acme.example.com", "password": "owner-password"}},
		}
		for _, f := range forged {
			for _, req := range requests {
				t.Run(f.name+" "+req.method+" "+req.path, func(t *testing.T) {
					r := tn.owner.do(req.method, req.path, req.body, f.hdr...)
					r.wantError(t, 403, "forbidden", "")
					if r.body["error"] != "Cross-origin request refused." {
						t.Errorf("error %v", r.body["error"])
					}
				})
			}
		}
		// Nothing changed: the session is alive, the analyst is an analyst,
		// no user was created, and no event beyond set-up was recorded.
		tn.owner.do("GET", "/api/auth/me", nil).want(t, http.StatusOK)
		if role, _ := tn.userState(t, analystID); role != audit.RoleAnalyst {
			t.Errorf("analyst is now %s", role)
		}
		for _, action := range []string{audit.ActionUserRoleChanged, audit.ActionPasswordChanged, audit.ActionMFAEnrollmentStarted, audit.ActionAccountMFAPolicy, audit.ActionUserLogout} {
			if n := len(tn.eventsWith(t, action)); n != 0 {
				t.Errorf("%d %s events after forged requests", n, action)
			}
		}

		// Safe methods pass whatever the headers say.
		tn.owner.do("GET", "/api/users", nil, "Sec-Fetch-Site", "cross-site").want(t, http.StatusOK)
		// Same-origin browser requests pass.
		tn.owner.do("PATCH", userPath, map[string]any{"role": "content_creator"}, "Sec-Fetch-Site", "same-origin").want(t, http.StatusOK)
		tn.owner.do("PATCH", userPath, map[string]any{"role": "analyst"}, "Origin", e.ts.URL).want(t, http.StatusOK)
		// Clients that are not browsers (curl, platform services with API
		// keys) send neither header and pass the check; an API key is then
		// judged on its own (here: no such key, 401, not 403).
		e.client().do("POST", "/api/audit-logs", map[string]string{"action": "x"}, "Authorization", "Bearer al_nosuchkey_0000").wantError(t, 401, "unauthorized", "")
		tn.owner.do("PATCH", userPath, map[string]any{"role": "analyst"}).want(t, http.StatusOK)
	})
}

// TestSessionFixation plants session cookies before sign-in: an invented
// token, and the attacker's own valid session. Neither becomes the victim's
// session, and the planted valid one ends.
func TestSessionFixation(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		attacker, _ := e.addUser(tn, audit.RoleAnalyst)
		attackerCookie := attacker.cookie(t)

		for _, planted := range []string{"attacker-chosen-token", attackerCookie} {
			victim := e.client()
			victim.setCookie(t, planted)
			r := victim.login("owner@acme.example.com", "owner-password")
			got := victim.cookie(t)
			if got == planted || !strings.Contains(r.header.Get("Set-Cookie"), "session="+got) {
				t.Fatalf("login kept the planted cookie %q", planted)
			}
			if me := victim.do("GET", "/api/auth/me", nil).want(t, http.StatusOK); num(me.obj("user"), "id") != tn.ownerID {
				t.Fatalf("victim is %v after login", me.obj("user"))
			}
			probe := e.client()
			probe.setCookie(t, planted)
			probe.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
		}
		// The attacker's own planted session was ended by the victim's sign-in.
		attacker.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
	})
}

func TestOldCookieAfterLogout(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		copyOf := e.client()
		copyOf.setCookie(t, tn.owner.cookie(t))
		copyOf.do("GET", "/api/auth/me", nil).want(t, http.StatusOK)
		tn.owner.do("POST", "/api/auth/logout", nil).want(t, http.StatusOK)
		copyOf.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
		copyOf.do("POST", "/api/auth/password", map[string]string{"current_password": "owner-password", "new_password": "another-password"}).wantError(t, 401, "unauthorized", "")
	})
}
