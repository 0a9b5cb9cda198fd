package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func TestCreateAccount(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		c := e.client()
		// The seed's own example, verbatim.
		r := c.do("POST", "/api/accounts", `{
			"name": "My Store",
			"domain": "mystore.com",
			"owner_email": "owner@mystore.com",
			"owner_password": "store-password-1",
			"owner_first_name": "John",
			"owner_last_name": "Owner"
		}`).want(t, http.StatusCreated)
		acct, user := r.obj("account"), r.obj("user")
		if acct["name"] != "My Store" || acct["domain"] != "mystore.com" || acct["id"] == nil || acct["created_at"] == nil {
			t.Errorf("account %v", acct)
		}
		if user["email"] != "owner@mystore.com" || user["role"] != "owner" || user["account_id"] != acct["id"] {
			t.Errorf("owner %v", user)
		}
		// Names are trimmed; a long non-ASCII email that was accepted can sign in.
		long := strings.Repeat("é", 150) + "@spacey.example.com"
		r = c.do("POST", "/api/accounts", map[string]string{
			"name": "  Spacey  ", "domain": "spacey.example.com", "owner_email": long, "owner_password": "store-password-1",
			"owner_first_name": " Ann ", "owner_last_name": " Lee ",
		}).want(t, http.StatusCreated)
		if r.obj("account")["name"] != "Spacey" || r.obj("user")["first_name"] != "Ann" || r.obj("user")["last_name"] != "Lee" {
			t.Errorf("names not trimmed: %s", r.raw)
		}
		e.client().login(long, "store-password-1")

		if c.hc.Jar.Cookies(mustURL(e.ts.URL)) != nil {
			t.Error("creating an account signed the caller in")
		}
		c.login("owner@mystore.com", "store-password-1")
		got := actions(c.do("GET", "/api/audit-logs", nil).want(t, 200))
		if want := "user_login,user_created,account_created"; strings.Join(got, ",") != want {
			t.Errorf("events %v; want %s", got, want)
		}
	})
}

func TestCreateAccountErrors(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		e.newTenant("taken")
		// An address at a domain no account has claimed, held by the
		// account above, as accounts made before the domain rule may hold.
		e.insertUser(1, "old@legacy.example.com")
		valid := func(change func(m map[string]any)) map[string]any {
			m := map[string]any{
				"name": "Shop", "domain": "shop.example.com", "owner_email": "o@shop.example.com",
				"owner_password": "long-enough", "owner_first_name": "A", "owner_last_name": "B",
			}
			change(m)
			return m
		}
		tests := []struct {
			name   string
			body   any
			status int
			code   string
			field  string
		}{
			{"duplicate domain", valid(func(m map[string]any) { m["domain"], m["owner_email"] = "TAKEN.example.com", "o@taken.example.com" }), 409, "conflict", "domain"},
			// A taken owner email gets the taken domain's answer: whether
			// the email exists is not told apart from any other address
			// at the domain.
			{"duplicate owner email", valid(func(m map[string]any) { m["domain"], m["owner_email"] = "taken.example.com", "owner@taken.example.com" }), 409, "conflict", "domain"},
			{"domain with users from before the domain rule", valid(func(m map[string]any) { m["domain"], m["owner_email"] = "legacy.example.com", "old@legacy.example.com" }), 409, "conflict", "domain"},
			{"domain with users, another address", valid(func(m map[string]any) { m["domain"], m["owner_email"] = "legacy.example.com", "new@legacy.example.com" }), 409, "conflict", "domain"},
			{"owner email at another domain", valid(func(m map[string]any) { m["owner_email"] = "o@gmail.com" }), 400, "invalid", "owner_email"},
			{"owner email at a subdomain", valid(func(m map[string]any) { m["owner_email"] = "o@eu.shop.example.com" }), 400, "invalid", "owner_email"},
			{"owner email of another account", valid(func(m map[string]any) { m["owner_email"] = "owner@taken.example.com" }), 400, "invalid", "owner_email"},
			{"missing name", valid(func(m map[string]any) { delete(m, "name") }), 400, "invalid", "name"},
			{"blank name", valid(func(m map[string]any) { m["name"] = "   " }), 400, "invalid", "name"},
			{"missing domain", valid(func(m map[string]any) { delete(m, "domain") }), 400, "invalid", "domain"},
			{"bad domain", valid(func(m map[string]any) { m["domain"] = "not a domain" }), 400, "invalid", "domain"},
			{"one-label domain", valid(func(m map[string]any) { m["domain"] = "localhost" }), 400, "invalid", "domain"},
			{"bad email", valid(func(m map[string]any) { m["owner_email"] = "nope" }), 400, "invalid", "owner_email"},
			{"email with name", valid(func(m map[string]any) { m["owner_email"] = "Bob <b@x.com>" }), 400, "invalid", "owner_email"},
			{"short password", valid(func(m map[string]any) { m["owner_password"] = "short" }), 400, "invalid", "owner_password"},
			{"missing password", valid(func(m map[string]any) { delete(m, "owner_password") }), 400, "invalid", "owner_password"},
			{"name wrong type", valid(func(m map[string]any) { m["name"] = 42 }), 400, "invalid", "name"},
			{"100 KB field", valid(func(m map[string]any) { m["owner_first_name"] = strings.Repeat("x", 100<<10) }), 413, "too_large", ""},
			{"long first name", valid(func(m map[string]any) { m["owner_first_name"] = strings.Repeat("x", 101) }), 400, "invalid", "owner_first_name"},
			{"control character", valid(func(m map[string]any) { m["owner_last_name"] = "a\x00b" }), 400, "invalid", "owner_last_name"},
			{"wrong content type", "name=x", 415, "unsupported", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				hdr := []string{}
				if tt.status == 415 {
					hdr = []string{"Content-Type", "application/x-www-form-urlencoded"}
				}
				e.client().do("POST", "/api/accounts", tt.body, hdr...).wantError(t, tt.status, tt.code, tt.field)
			})
		}
		// Nothing was written by any failed request: one account, and its
		// log holds only its creation events and the owner's sign-in.
		size, err := db.LogSize(t.Context(), 1)
		if err != nil || size != 3 {
			t.Errorf("log size of the one account = %d, %v; want 3", size, err)
		}
		if _, err := db.Account(t.Context(), 2); err != audit.ErrNotFound {
			t.Errorf("a failed request created account 2 (err %v)", err)
		}
	})
}

func TestGetAccount(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		a, b := e.newTenant("alpha"), e.newTenant("beta")
		r := a.owner.do("GET", fmt.Sprintf("/api/accounts/%d", a.accountID), nil).want(t, 200)
		if r.body["domain"] != "alpha.example.com" || num(r.body, "id") != a.accountID {
			t.Errorf("account %s", r.raw)
		}
		// Another account, a missing one and a malformed ID look the same.
		for _, path := range []string{
			fmt.Sprintf("/api/accounts/%d", b.accountID), "/api/accounts/999999", "/api/accounts/abc", "/api/accounts/-1",
		} {
			a.owner.do("GET", path, nil).wantError(t, 404, "not_found", "")
		}
		e.client().do("GET", fmt.Sprintf("/api/accounts/%d", a.accountID), nil).wantError(t, 401, "unauthorized", "")
	})
}

// TestRoleTable checks every row of the seed's role table for every role.
func TestRoleTable(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		clients := map[audit.Role]*client{audit.RoleOwner: tn.owner}
		for _, role := range []audit.Role{audit.RoleAdmin, audit.RoleAnalyst, audit.RoleContentCreator} {
			clients[role], _ = e.addUser(tn, role)
		}
		n := 0
		endpoints := []struct {
			name    string
			method  string
			path    string
			body    func() any
			allowed map[audit.Role]bool
			ok      int
		}{
			{"view audit logs", "GET", "/api/audit-logs", nil, map[audit.Role]bool{"owner": true, "admin": true}, 200},
			{"create users", "POST", "/api/users", func() any {
				n++
				return map[string]string{"email": fmt.Sprintf("new%d@acme.example.com", n), "password": "password-1", "role": "analyst"}
			}, map[audit.Role]bool{"owner": true, "admin": true}, 201},
			{"view users", "GET", "/api/users", nil, map[audit.Role]bool{"owner": true, "admin": true}, 200},
			{"view account", "GET", fmt.Sprintf("/api/accounts/%d", tn.accountID), nil, map[audit.Role]bool{"owner": true, "admin": true, "analyst": true, "content_creator": true}, 200},
		}
		for _, ep := range endpoints {
			for _, role := range audit.Roles {
				t.Run(ep.name+"/"+string(role), func(t *testing.T) {
					var body any
					if ep.body != nil {
						body = ep.body()
					}
					r := clients[role].do(ep.method, ep.path, body)
					if ep.allowed[role] {
						r.want(t, ep.ok)
					} else {
						r.wantError(t, 403, "forbidden", "")
					}
				})
			}
			t.Run(ep.name+"/anonymous", func(t *testing.T) {
				var body any
				if ep.body != nil {
					body = ep.body()
				}
				r := e.client().do(ep.method, ep.path, body)
				r.wantError(t, 401, "unauthorized", "")
				if r.header.Get("Location") != "" {
					t.Error("401 carries a redirect")
				}
			})
		}
	})
}

// TestSignUpRateLimit checks the client IP's sign-up bucket: requests with
// valid fields draw from it, with the RateLimit headers; invalid ones don't.
func TestSignUpRateLimit(t *testing.T) {
	t.Parallel()
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db, withConfig(func(c *config.Config) {
		c.RateLimitSignUp = tight(2, time.Hour)
		c.TrustedProxies = mustPrefixes("127.0.0.1")
	}))
	clock := e.useClock()
	c := e.client()
	signUp := func(ip, name, email string) *response {
		return c.do("POST", "/api/accounts", map[string]string{
			"name": name, "domain": name + ".example.com", "owner_email": email, "owner_password": "owner-password",
		}, "X-Forwarded-For", ip)
	}
	for i, name := range []string{"one", "two"} {
		r := signUp("198.51.100.7", name, "o@"+name+".example.com").want(t, http.StatusCreated)
		if r.header.Get("RateLimit-Policy") != `"signup-ip";q=2;w=3600` || !strings.Contains(r.header.Get("RateLimit"), `"signup-ip";r=`+strconv.Itoa(1-i)) {
			t.Errorf("sign-up %d: RateLimit-Policy %q, RateLimit %q", i+1, r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit"))
		}
	}
	// An invalid request draws no token.
	signUp("198.51.100.7", "x", "o@gmail.com").wantError(t, 400, "invalid", "owner_email")
	r := signUp("198.51.100.7", "three", "o@three.example.com")
	r.wantError(t, 429, "rate_limited", "")
	if r.header.Get("Retry-After") != "1800" || !strings.Contains(r.header.Get("RateLimit"), `"signup-ip";r=0`) {
		t.Errorf("Retry-After %q, RateLimit %q", r.header.Get("Retry-After"), r.header.Get("RateLimit"))
	}
	signUp("198.51.100.8", "four", "o@four.example.com").want(t, http.StatusCreated)
	clock.advance(30 * time.Minute)
	signUp("198.51.100.7", "three", "o@three.example.com").want(t, http.StatusCreated)
}

// TestSignUpClosed checks PUBLIC_SIGNUP=false: every sign-up gets the same
// 403, whatever its body, and nothing is created.
func TestSignUpClosed(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db, withConfig(func(c *config.Config) { c.PublicSignUp = false }))
		for _, body := range []any{
			map[string]string{"name": "Shop", "domain": "shop.example.com", "owner_email": "o@shop.example.com", "owner_password": "owner-password"},
			map[string]string{"name": "Shop"},
			"{not json",
		} {
			r := e.client().do("POST", "/api/accounts", body)
			r.wantError(t, http.StatusForbidden, "forbidden", "")
			if msg := r.body["error"]; msg != "Public sign-up is turned off on this service: its operator creates accounts (auditlog create-account)." {
				t.Errorf("error %q", msg)
			}
		}
		if _, err := db.Account(t.Context(), 1); err != audit.ErrNotFound {
			t.Errorf("a refused sign-up created an account (err %v)", err)
		}
	})
}
