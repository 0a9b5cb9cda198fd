package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func TestLogin(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")

		c := e.client()
		r := c.do("POST", "/api/auth/login", map[string]string{"email": "Owner@ACME.example.com ", "password": "owner-password"}).want(t, http.StatusOK)
		if r.body["message"] != "Login successful" {
			t.Errorf("message %v; want Login successful", r.body["message"])
		}
		u := r.obj("user")
		for key, want := range map[string]any{
			"id": float64(tn.ownerID), "email": "owner@acme.example.com", "first_name": "Olga", "last_name": "acme",
			"role": "owner", "account_id": float64(tn.accountID),
		} {
			if u[key] != want {
				t.Errorf("user.%s = %v; want %v", key, u[key], want)
			}
		}
		cookie := r.header.Get("Set-Cookie")
		for _, attr := range []string{"session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("Set-Cookie %q lacks %s", cookie, attr)
			}
		}
		if strings.Contains(cookie, "Secure") {
			t.Errorf("Set-Cookie %q is Secure without TLS configured", cookie)
		}
		c.do("GET", "/api/auth/me", nil).want(t, http.StatusOK)
	})
}

func TestLoginFailures(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		tests := []struct {
			name  string
			body  any
			code  int
			field string
		}{
			{"wrong password", map[string]string{"email": "owner@acme.example.com", "password": "wrong-password"}, 401, ""},
			{"unknown email", map[string]string{"email": "nobody@acme.example.com", "password": "owner-password"}, 401, ""},
			{"missing email", map[string]string{"password": "x"}, 400, "email"},
			{"missing password", map[string]string{"email": "owner@acme.example.com"}, 400, "password"},
			{"email not a string", `{"email": 5, "password": "x"}`, 400, "email"},
			{"not JSON", `{"email":`, 400, ""},
			{"array body", `[]`, 400, ""},
			{"empty body", ``, 400, ""},
			{"huge password", map[string]string{"email": "owner@acme.example.com", "password": strings.Repeat("p", 2000)}, 400, "password"},
			{"body over 64 KiB", map[string]string{"email": "owner@acme.example.com", "password": strings.Repeat("p", 100<<10)}, 413, ""},
		}
		var unauthorized []string
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.client().do("POST", "/api/auth/login", tt.body)
				code := map[int]string{400: "invalid", 401: "unauthorized", 413: "too_large"}[tt.code]
				r.wantError(t, tt.code, code, tt.field)
				if r.header.Get("Set-Cookie") != "" && !strings.Contains(r.header.Get("Set-Cookie"), "Max-Age=0") {
					t.Errorf("failed login set a cookie: %s", r.header.Get("Set-Cookie"))
				}
				if tt.code == 401 {
					unauthorized = append(unauthorized, string(r.raw))
				}
			})
		}
		// Wrong password and unknown email must be indistinguishable.
		if len(unauthorized) == 2 && unauthorized[0] != unauthorized[1] {
			t.Errorf("wrong password and unknown email differ:\n%s\n%s", unauthorized[0], unauthorized[1])
		}
		// Only the failure for a known email is audited.
		r := tn.events(t, "action=login_failed")
		if got := num(r.obj("pagination"), "total"); got != 1 {
			t.Fatalf("%d login_failed events; want 1 (known email only)", got)
		}
		ev := r.list("audit_logs")[0].(map[string]any)
		if ev["user_id"] != float64(tn.ownerID) || ev["ip_address"] != "127.0.0.1" || ev["user_agent"] == nil {
			t.Errorf("login_failed event %v lacks actor, IP or user agent", ev)
		}
	})
}

func TestLogoutEndsSession(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		// Copy the session cookie into a second client before logging out.
		thief := e.client()
		thief.hc.Jar.SetCookies(mustURL(e.ts.URL), tn.owner.hc.Jar.Cookies(mustURL(e.ts.URL)))
		thief.do("GET", "/api/auth/me", nil).want(t, http.StatusOK)

		r := tn.owner.do("POST", "/api/auth/logout", nil).want(t, http.StatusOK)
		if r.body["message"] != "Logout successful" {
			t.Errorf("logout message %v", r.body["message"])
		}
		tn.owner.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
		thief.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
		thief.do("POST", "/api/auth/logout", nil).wantError(t, 401, "unauthorized", "")

		again := e.client()
		again.login("owner@acme.example.com", "owner-password")
		got := actions(again.do("GET", "/api/audit-logs?per_page=3", nil).want(t, 200))
		want := []string{"user_login", "user_logout", "user_login"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("newest events %v; want %v", got, want)
		}
	})
}

func TestLoginRotatesSession(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		e.newTenant("acme")
		c := e.client()
		c.login("owner@acme.example.com", "owner-password")
		before := c.hc.Jar.Cookies(mustURL(e.ts.URL))
		old := e.client()
		old.hc.Jar.SetCookies(mustURL(e.ts.URL), before)

		c.login("owner@acme.example.com", "owner-password")
		after := c.hc.Jar.Cookies(mustURL(e.ts.URL))
		if len(before) != 1 || len(after) != 1 || before[0].Value == after[0].Value {
			t.Fatalf("login did not issue a fresh token: before %v after %v", before, after)
		}
		old.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
		c.do("GET", "/api/auth/me", nil).want(t, 200)

		// A cookie the server never issued is refused.
		forged := e.client()
		forged.hc.Jar.SetCookies(mustURL(e.ts.URL), []*http.Cookie{{Name: "session", Value: "attacker-chosen"}})
		forged.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
	})
}

func TestSessionExpiry(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		start := time.Now()
		idle, maxAge := e.cfg.SessionIdle, e.cfg.SessionMaxAge

		// Used regularly, the session lives until its absolute expiry.
		for at := start; at.Before(start.Add(maxAge - time.Minute)); at = at.Add(idle / 2) {
			e.setNow(at)
			tn.owner.do("GET", "/api/auth/me", nil).want(t, 200)
		}
		e.setNow(start.Add(maxAge + time.Second))
		tn.owner.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")

		// With a short idle timeout, a session used every second never idles out.
		short := newTestEnv(t, db, withConfig(func(c *config.Config) { c.SessionIdle = 3 * time.Second }))
		busy := short.client()
		busy.login("owner@acme.example.com", "owner-password")
		for i := range 10 {
			short.setNow(time.Now().Add(time.Duration(i) * time.Second))
			busy.do("GET", "/api/auth/me", nil).want(t, 200)
		}

		// Left idle, it ends after the idle timeout.
		e.setNow(time.Now())
		c := e.client()
		c.login("owner@acme.example.com", "owner-password")
		e.setNow(time.Now().Add(idle + time.Second))
		c.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
	})
}

func TestForwardedFor(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		e.newTenant("acme")
		c := e.client()
		// The test server's peer is 127.0.0.1, which is not a trusted proxy:
		// the header is ignored.
		c.do("POST", "/api/auth/login", map[string]string{"email": "owner@acme.example.com", "password": "owner-password"},
			"X-Forwarded-For", "198.51.100.7", "User-Agent", "test-agent/1.0").want(t, 200)
		ev := c.do("GET", "/api/audit-logs?action=user_login&per_page=1", nil).want(t, 200).list("audit_logs")[0].(map[string]any)
		if ev["ip_address"] != "127.0.0.1" || ev["user_agent"] != "test-agent/1.0" {
			t.Errorf("event IP %v UA %v; want 127.0.0.1 (untrusted X-Forwarded-For ignored) and test-agent/1.0", ev["ip_address"], ev["user_agent"])
		}
	})
}

func TestClientIP(t *testing.T) {
	e := &Server{}
	e.cfg.TrustedProxies = mustPrefixes("10.0.0.0/8", "192.0.2.1")
	tests := []struct {
		remote, xff, want string
	}{
		{"203.0.113.9:1234", "", "203.0.113.9"},
		{"203.0.113.9:1234", "198.51.100.1", "203.0.113.9"},                // untrusted peer: header ignored
		{"10.1.2.3:80", "198.51.100.1", "198.51.100.1"},                    // trusted proxy
		{"10.1.2.3:80", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // spoofed left entry ignored
		{"10.1.2.3:80", "192.0.2.1, 10.0.0.5", "192.0.2.1"},                // all trusted: the furthest hop sent it
		{"10.1.2.3:80", "garbage, 198.51.100.1", "198.51.100.1"},
		{"10.1.2.3:80", "garbage", "10.1.2.3"},
		{"[::ffff:203.0.113.9]:1", "", "203.0.113.9"},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := e.clientIP(r); got != tt.want {
			t.Errorf("clientIP(remote %s, XFF %q) = %s; want %s", tt.remote, tt.xff, got, tt.want)
		}
	}
}
