package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/ratelimit/redistest"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func tight(limit int, period time.Duration) ratelimit.Rule {
	return ratelimit.Rule{Limit: limit, Period: period}
}

// TestLoginBruteForce: guesses against one account are slowed to the
// account bucket's rate, audited, and never lock the real user out for
// longer than one token's time.
func TestLoginBruteForce(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db, withConfig(func(c *config.Config) { c.RateLimitLoginAccount = tight(5, 10*time.Minute) }))
		clock := e.useClock()
		tn := e.newTenant("acme")
		email := "owner@acme.example.com"
		attacker := e.client()
		guess := func(pw string) *response {
			return attacker.do("POST", "/api/auth/login", map[string]string{"email": email, "password": pw})
		}
		// newTenant's own login took one token: four wrong guesses are let through.
		for i := range 4 {
			r := guess("guess-" + strconv.Itoa(i))
			r.wantError(t, 401, "unauthorized", "")
			if !strings.Contains(r.header.Get("RateLimit-Policy"), `"login-account";q=5;w=600`) ||
				!strings.Contains(r.header.Get("RateLimit"), `"login-account";r=`+strconv.Itoa(3-i)) {
				t.Fatalf("attempt %d: RateLimit-Policy %q, RateLimit %q", i+1, r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit"))
			}
		}
		for i := range 20 {
			r := guess("guess-more-" + strconv.Itoa(i))
			r.wantError(t, 429, "rate_limited", "")
			if r.header.Get("Retry-After") != "120" || !strings.Contains(r.header.Get("RateLimit"), `"login-account";r=0`) {
				t.Fatalf("throttled attempt: Retry-After %q, RateLimit %q; want 120 s (10 min / 5)", r.header.Get("Retry-After"), r.header.Get("RateLimit"))
			}
		}
		// The right password is throttled too while the bucket is empty...
		guess("owner-password").wantError(t, 429, "rate_limited", "")
		// ...and the login bucket is per account: others sign in as usual.
		e.newTenant("other") // signs its owner in: 200
		// Throttled attempts reached no hashing and no per-attempt event:
		// four wrong passwords, plus one record of the throttling.
		evs := tn.eventsWith(t, audit.ActionLoginFailed)
		wrong, throttled := 0, 0
		for _, ev := range evs {
			switch d := ev["details"].(string); {
			case strings.Contains(d, "wrong password"):
				wrong++
			case strings.Contains(d, "throttled"):
				throttled++
			}
		}
		if wrong != 4 || throttled != 1 {
			t.Errorf("login_failed: %d wrong passwords, %d throttling records; want 4 and 1", wrong, throttled)
		}
		// Two minutes later the real user gets in.
		clock.advance(2 * time.Minute)
		e.client().login(email, "owner-password")

		// Unknown emails are limited the same way, so a 429 reveals nothing.
		for i := range 6 {
			r := attacker.do("POST", "/api/auth/login", map[string]string{"email": "nobody@acme.example.com", "password": "x"})
			if want := map[bool]int{true: 401, false: 429}[i < 5]; r.status != want {
				t.Fatalf("unknown email, attempt %d: status %d; want %d", i+1, r.status, want)
			}
		}
	})
}

func TestLoginIPLimit(t *testing.T) {
	t.Parallel()
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db, withConfig(func(c *config.Config) {
		c.RateLimitLoginIP = tight(3, time.Minute)
		c.TrustedProxies = mustPrefixes("127.0.0.1")
	}))
	clock := e.useClock()
	c := e.client()
	from := func(ip string, i int) *response {
		return c.do("POST", "/api/auth/login", map[string]string{"email": "user" + strconv.Itoa(i) + "@example.com", "password": "x"}, "X-Forwarded-For", ip)
	}
	for i := range 3 {
		from("198.51.100.7", i).wantError(t, 401, "unauthorized", "")
	}
	r := from("198.51.100.7", 3)
	r.wantError(t, 429, "rate_limited", "")
	if r.header.Get("Retry-After") != "20" || !strings.Contains(r.header.Get("RateLimit"), `"login-ip";r=0`) {
		t.Errorf("Retry-After %q, RateLimit %q", r.header.Get("Retry-After"), r.header.Get("RateLimit"))
	}
	from("198.51.100.8", 4).wantError(t, 401, "unauthorized", "")
	// The MFA step draws from the same IP bucket.
	c.do("POST", "/api/auth/mfa/verify", map[string]string{"mfa_token": "x", "code": "123456"}, "X-Forwarded-For", "198.51.100.7").wantError(t, 429, "rate_limited", "")
	clock.advance(20 * time.Second)
	from("198.51.100.7", 5).wantError(t, 401, "unauthorized", "")
}

func TestReadRateLimit(t *testing.T) {
	t.Parallel()
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db, withConfig(func(c *config.Config) { c.RateLimitReads = tight(3, time.Minute) }))
	clock := e.useClock()
	tn := e.newTenant("acme")
	for i := range 3 {
		r := tn.owner.do("GET", "/api/audit-logs", nil).want(t, http.StatusOK)
		if !strings.Contains(r.header.Get("RateLimit"), `"reads";r=`+strconv.Itoa(2-i)) {
			t.Fatalf("read %d: RateLimit %q", i+1, r.header.Get("RateLimit"))
		}
	}
	r := tn.owner.do("GET", "/api/users", nil)
	r.wantError(t, 429, "rate_limited", "")
	if r.header.Get("Retry-After") != "20" {
		t.Errorf("Retry-After %q; want 20", r.header.Get("Retry-After"))
	}
	// Writes are not reads, and each session has its own bucket.
	tn.owner.do("POST", "/api/users", map[string]string{"email": "a@acme.example.com", "password": "user-password", "role": "analyst"}).want(t, http.StatusCreated)
	e.client().login("owner@acme.example.com", "owner-password")
	second := e.client()
	second.login("owner@acme.example.com", "owner-password")
	second.do("GET", "/api/users", nil).want(t, http.StatusOK)
	clock.advance(20 * time.Second)
	tn.owner.do("GET", "/api/users", nil).want(t, http.StatusOK)
}

// TestRateLimitsSharedInRedis runs two servers (two processes of one
// deployment) over one database and one Redis: attempts through either draw
// from the same buckets.
func TestRateLimitsSharedInRedis(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.Client(t)
	db := sqltest.OpenSQLite(t)
	clock := &testClock{t: time.Now().UTC()}
	newServer := func() *testEnv {
		l := ratelimit.NewRedis(client, prefix)
		l.Now = clock.now
		e := newTestEnv(t, db, withLimiter(l), withConfig(func(c *config.Config) { c.RateLimitLoginAccount = tight(4, 4*time.Minute) }))
		e.now = clock.now
		return e
	}
	a, b := newServer(), newServer()
	a.newTenant("acme") // one token
	for i, e := range []*testEnv{a, b, a} {
		e.client().do("POST", "/api/auth/login", map[string]string{"email": "owner@acme.example.com", "password": "wrong-" + strconv.Itoa(i)}).wantError(t, 401, "unauthorized", "")
	}
	for _, e := range []*testEnv{a, b} {
		r := e.client().do("POST", "/api/auth/login", map[string]string{"email": "owner@acme.example.com", "password": "owner-password"})
		r.wantError(t, 429, "rate_limited", "")
		if r.header.Get("Retry-After") != "60" {
			t.Errorf("Retry-After %q; want 60", r.header.Get("Retry-After"))
		}
	}
	clock.advance(time.Minute)
	b.client().login("owner@acme.example.com", "owner-password")
}

// TestRateLimitRedisDown: when the shared limiter fails, each process goes
// on limiting by itself rather than not at all.
func TestRateLimitRedisDown(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.Client(t)
	broken := ratelimit.NewRedis(client, prefix)
	client.Close() // every call now fails
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db, withLimiter(broken), withConfig(func(c *config.Config) { c.RateLimitLoginAccount = tight(2, time.Minute) }))
	e.useClock()
	for i := range 2 {
		e.client().do("POST", "/api/auth/login", map[string]string{"email": "x@example.com", "password": "p" + strconv.Itoa(i)}).wantError(t, 401, "unauthorized", "")
	}
	e.client().do("POST", "/api/auth/login", map[string]string{"email": "x@example.com", "password": "p"}).wantError(t, 429, "rate_limited", "")
}
