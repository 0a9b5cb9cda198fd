package web

import (
	"net/http"
	"time"

	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
)

// TestPagePermissions opens every page as every role, and as nobody: the
// console refuses exactly what the API refuses.
func TestPagePermissions(t *testing.T) {
	e := newTestEnv(t)
	ev := "/events/" + strconv.FormatInt(e.detailed, 10)
	pages := []struct {
		path string
		// allowed lists the roles that may open the page.
		allowed []audit.Role
	}{
		{"/events", []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/events?range=24h", []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{ev, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/people", []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/keys", []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account", audit.Roles},
		{"/account/mfa", audit.Roles},
		{"/account/password", audit.Roles},
		{"/account/streams", []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/alerts", []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/data", []audit.Role{audit.RoleOwner}},
		{"/dashboard", []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/dashboard?range=24h", []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/chat", []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
	}
	for _, role := range audit.Roles {
		c := e.client()
		c.signIn(role)
		for _, pg := range pages {
			want := http.StatusForbidden
			for _, r := range pg.allowed {
				if r == role {
					want = http.StatusOK
				}
			}
			if got := c.get(pg.path); got.status != want {
				t.Errorf("%s GET %s: status %d; want %d", role, pg.path, got.status, want)
			}
		}
		home := c.get("/")
		wantHome := "/account"
		if role.Can(audit.PermViewAuditLogs) {
			wantHome = "/events"
		}
		if home.status != http.StatusSeeOther || home.header.Get("Location") != wantHome {
			t.Errorf("%s GET /: %d to %q; want 303 to %s", role, home.status, home.header.Get("Location"), wantHome)
		}
	}
	anon := e.client()
	for _, pg := range pages {
		got := anon.get(pg.path)
		if got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), "/signin?next=") {
			t.Errorf("signed out GET %s: %d to %q; want the sign-in page", pg.path, got.status, got.header.Get("Location"))
		}
	}
}

// TestFormPermissions sends every form as the roles that may not send it.
func TestFormPermissions(t *testing.T) {
	e := newTestEnv(t)
	forms := []struct {
		path    string
		form    url.Values
		allowed []audit.Role
	}{
		{"/people", url.Values{"email": {"x@example.com"}, "password": {"Long-enough-pass-1"}, "role": {"analyst"}}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/people/3", url.Values{"change": {"role"}, "role": {"content_creator"}}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/keys", url.Values{"name": {"k"}, "scopes": {"events:write"}}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/keys/1/revoke", url.Values{}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/security", url.Values{"require_mfa": {"false"}}, []audit.Role{audit.RoleOwner}},
		{"/chat", url.Values{"message": {"How many failed logins yesterday?"}}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/chat/1/delete", url.Values{}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/streams", url.Values{"name": {"s"}, "type": {"webhook"}, "url": {"https://siem.example/hook"}}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/streams/1/edit", url.Values{"name": {"s"}, "url": {"https://siem.example/hook"}}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/streams/1/pause", url.Values{}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/streams/1/test", url.Values{}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/streams/1/delete", url.Values{}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/alerts", url.Values{"default": {"failed_logins"}}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/alerts/1/edit", url.Values{"name": {"x"}}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/alerts/1/disable", url.Values{}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/alerts/1/delete", url.Values{}, []audit.Role{audit.RoleOwner, audit.RoleAdmin}},
		{"/account/retention", url.Values{"retention_days": {"90"}}, []audit.Role{audit.RoleOwner}},
		{"/account/erasures", url.Values{"kind": {"email"}, "subject": {"x@example.com"}, "confirm": {"yes"}}, []audit.Role{audit.RoleOwner}},
		// A user's own credentials: every role may (TestMFAEnrolmentPage,
		// TestPasswordPage); signed out, the forms send to sign-in.
		{"/account/mfa/setup", url.Values{"password": {"x"}}, audit.Roles},
		{"/account/mfa/confirm", url.Values{"code": {"123456"}}, audit.Roles},
		{"/account/mfa/disable", url.Values{"code": {"123456"}}, audit.Roles},
		{"/account/password", url.Values{"current_password": {"x"}, "new_password": {"y"}}, audit.Roles},
	}
	anon := e.client()
	for _, f := range forms {
		if got := anon.post(f.path, f.form); got.status != http.StatusSeeOther || got.header.Get("Location") != "/signin" {
			t.Errorf("signed out POST %s: %d to %q; want the sign-in page", f.path, got.status, got.header.Get("Location"))
		}
	}
	for _, role := range audit.Roles {
		c := e.client()
		c.signIn(role)
		for _, f := range forms {
			allowed := false
			for _, r := range f.allowed {
				allowed = allowed || r == role
			}
			if allowed {
				continue
			}
			if got := c.post(f.path, f.form); got.status != http.StatusForbidden {
				t.Errorf("%s POST %s: status %d; want 403", role, f.path, got.status)
			}
		}
	}
}

// TestMount checks that the API keeps its answers under the console.
func TestMount(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	for _, tt := range []struct {
		method, path string
		status       int
		json         bool
	}{
		{"GET", "/api/nope", 404, true},
		{"GET", "/api", 404, true},
		{"DELETE", "/api/auth/login", 405, true},
		{"GET", "/api/verifier-key", 200, true},
		{"GET", "/healthz", 200, true},
		{"GET", "/readyz", 200, true},
		{"POST", "/mcp", 401, true}, // the API's MCP endpoint: an API key is needed
		{"GET", "/mcp", 405, true},
		{"GET", "/nope", 404, false},
		{"GET", "/signin", 200, false},
	} {
		got := c.do(tt.method, tt.path, nil)
		isJSON := strings.HasPrefix(got.header.Get("Content-Type"), "application/json")
		if got.status != tt.status || isJSON != tt.json {
			t.Errorf("%s %s: %d %s; want %d (JSON %t)", tt.method, tt.path, got.status, got.header.Get("Content-Type"), tt.status, tt.json)
		}
	}
}

// TestCrossOriginForm refuses a form posted from another site.
func TestCrossOriginForm(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	c.signIn(audit.RoleOwner)
	req, _ := http.NewRequest("POST", e.ts.URL+"/keys", strings.NewReader("name=evil&scopes=events:write"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST /keys: %d; want 403", resp.StatusCode)
	}
}

// TestSignIn covers the sign-in form's errors, the next parameter and
// sign-out.
func TestSignIn(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	bad := c.post("/signin", url.Values{"email": {"owner@sample-store.com"}, "password": {"wrong"}})
	if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, "Invalid email or password.") || !strings.Contains(bad.body, `id="password-error"`) {
		t.Errorf("wrong password: %d\n%s", bad.status, bad.body)
	}
	for next, want := range map[string]string{"/people": "/people", "//evil.example/": "/", "https://evil.example/": "/", "/\\evil": "/"} {
		cred := credential(audit.RoleOwner)
		got := e.client().post("/signin", url.Values{"email": {cred.Email}, "password": {cred.Password}, "next": {next}})
		if got.header.Get("Location") != want {
			t.Errorf("next=%q: Location %q; want %q", next, got.header.Get("Location"), want)
		}
	}
	c.signIn(audit.RoleAdmin)
	if got := c.get("/signin"); got.status != http.StatusSeeOther {
		t.Errorf("GET /signin signed in: %d; want a redirect home", got.status)
	}
	out := c.post("/signout", url.Values{})
	if out.status != http.StatusSeeOther || !strings.Contains(out.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("sign out: %d, Set-Cookie %q", out.status, out.header.Get("Set-Cookie"))
	}
	if got := c.get("/events"); got.status != http.StatusSeeOther {
		t.Errorf("GET /events after sign-out: %d; want the sign-in redirect", got.status)
	}
}

// TestHeaders checks the console's CSP and the page weight.
func TestHeaders(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	c.signIn(audit.RoleOwner)
	for _, path := range []string{"/signin", "/events", "/dashboard", "/dashboard?range=24h", "/dashboard?range=30d", "/people", "/keys", "/account", "/account/mfa", "/account/password", "/account/streams", "/account/alerts", "/account/data", "/chat", "/events/" + strconv.FormatInt(e.detailed, 10)} {
		p := c.get(path)
		if p.header.Get("Content-Security-Policy") != contentSecurityPolicy {
			t.Errorf("%s: CSP %q", path, p.header.Get("Content-Security-Policy"))
		}
		if len(p.body) > 100<<10 {
			t.Errorf("%s: %d bytes; want at most 100 KB", path, len(p.body))
		}
		if strings.Contains(p.body, "<script>") || strings.Contains(p.body, "style=") || strings.Contains(p.body, "<style") {
			t.Errorf("%s: inline script or style", path)
		}
	}
}

// TestSignInRateLimited shows a throttled sign-in on the form, with
// Retry-After.
func TestSignInRateLimited(t *testing.T) {
	e := newTestEnv(t, func(cfg *config.Config) {
		cfg.RateLimitLoginAccount = ratelimit.Rule{Limit: 3, Period: time.Hour}
	})
	c := e.client()
	var last response
	for range 4 {
		last = c.post("/signin", url.Values{"email": {"analyst@sample-store.com"}, "password": {"wrong"}})
	}
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("fourth sign-in of three allowed: %d", last.status)
	}
	if last.header.Get("Retry-After") == "" || !strings.Contains(last.body, `class="error banner"`) || !strings.Contains(last.body, `id="password"`) {
		t.Errorf("throttled sign-in: %s\n%s", last.header, last.body)
	}
}
