package server

import (
	"encoding/base32"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/totp"
)

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// roomyLimit is the rate limit tests run under unless they test limits.
var roomyLimit = ratelimit.Rule{Limit: 100000, Period: time.Minute}

// withConfig changes the test server's configuration.
func withConfig(fn func(c *config.Config)) func(*testDeps) {
	return func(d *testDeps) { fn(&d.Config) }
}

// withLimiter makes the test server keep its buckets in l.
func withLimiter(l ratelimit.Limiter) func(*testDeps) {
	return func(d *testDeps) { d.Limiter = l }
}

// withLogger makes the test app and server log to l.
// withWriter makes the app ingest through w.
func withWriter(w *ingest.Writer) func(*testDeps) {
	return func(d *testDeps) { d.Ingest = w }
}

func withLogger(l *slog.Logger) func(*testDeps) {
	return func(d *testDeps) { d.Logger = l }
}

// testClock is a settable clock for the server (and its limiter).
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time          { return c.t }
func (c *testClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// useClock drives the server's time from a test clock starting now.
func (e *testEnv) useClock() *testClock {
	c := &testClock{t: time.Now().UTC()}
	e.now = c.now
	return c
}

// totpCode returns the current authenticator code for the base32 secret
// shown by MFA set-up.
func (e *testEnv) totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	raw, err := base32NoPad.DecodeString(secret)
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	return totp.Code(raw, totp.Step(at), totp.Digits)
}

// enrolMFA turns MFA on for the signed-in client with password pw and
// returns the TOTP secret and the recovery codes.
func (c *client) enrolMFA(t *testing.T, pw string) (secret string, codes []string) {
	t.Helper()
	r := c.do("POST", "/api/auth/mfa/setup", map[string]string{"password": pw}).want(t, http.StatusOK)
	secret, _ = r.body["secret"].(string)
	code := c.env.totpCode(t, secret, c.env.now())
	r = c.do("POST", "/api/auth/mfa/confirm", map[string]string{"code": code}).want(t, http.StatusOK)
	for _, v := range r.list("recovery_codes") {
		codes = append(codes, v.(string))
	}
	return secret, codes
}

// loginMFA runs the password step for an MFA user and returns the mfa_token.
func (c *client) loginMFA(t *testing.T, email, pw string) string {
	t.Helper()
	r := c.do("POST", "/api/auth/login", map[string]string{"email": email, "password": pw}).want(t, http.StatusOK)
	if r.body["mfa_required"] != true || r.body["user"] != nil {
		t.Fatalf("login of an MFA user: %s; want mfa_required and no user", r.raw)
	}
	if sc := r.header.Get("Set-Cookie"); sc != "" {
		t.Fatalf("password step set a cookie: %s", sc)
	}
	tok, _ := r.body["mfa_token"].(string)
	return tok
}

// eventsWith returns the tenant's events with the action, newest first.
func (tn *tenant) eventsWith(t *testing.T, action string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range tn.events(t, "per_page=100&action="+action).list("audit_logs") {
		out = append(out, e.(map[string]any))
	}
	return out
}

// userState returns the role and active state of user id in the tenant, as listed.
func (tn *tenant) userState(t *testing.T, id int64) (audit.Role, bool) {
	t.Helper()
	for _, u := range tn.owner.do("GET", "/api/users", nil).want(t, http.StatusOK).list("users") {
		m := u.(map[string]any)
		if num(m, "id") == id {
			return audit.Role(m["role"].(string)), m["is_active"].(bool)
		}
	}
	t.Fatalf("user %d not listed", id)
	return "", false
}

// cookie returns the client's session cookie value.
func (c *client) cookie(t *testing.T) string {
	t.Helper()
	for _, ck := range c.hc.Jar.Cookies(mustURL(c.env.ts.URL)) {
		if ck.Name == sessionCookie {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// setCookie makes the client send the session cookie value.
func (c *client) setCookie(t *testing.T, value string) {
	t.Helper()
	c.hc.Jar.SetCookies(mustURL(c.env.ts.URL), []*http.Cookie{{Name: sessionCookie, Value: value, Path: "/"}})
}
