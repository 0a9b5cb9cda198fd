package server

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func TestMFAEnrolment(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		clock := e.useClock()
		tn := e.newTenant("acme")
		c := tn.owner

		c.do("POST", "/api/auth/mfa/setup", map[string]string{}).wantError(t, 400, "invalid", "password")
		c.do("POST", "/api/auth/mfa/setup", map[string]string{"password": "wrong-password"}).wantError(t, 403, "forbidden", "password")
		c.do("POST", "/api/auth/mfa/confirm", map[string]string{"code": "123456"}).wantError(t, 409, "conflict", "")
		e.client().do("POST", "/api/auth/mfa/setup", map[string]string{"password": "owner-password"}).wantError(t, 401, "unauthorized", "")

		r := c.do("POST", "/api/auth/mfa/setup", map[string]string{"password": "owner-password"}).want(t, http.StatusOK)
		secret, _ := r.body["secret"].(string)
		uri, _ := r.body["otpauth_uri"].(string)
		qr, _ := r.body["qr_code"].(string)
		if len(secret) != 32 || !strings.HasPrefix(uri, "otpauth://totp/auditlog:owner@acme.example.com?") || !strings.Contains(uri, "secret="+secret) {
			t.Errorf("setup: secret %q, uri %q", secret, uri)
		}
		if !strings.HasPrefix(qr, "data:image/png;base64,iVBOR") {
			t.Errorf("qr_code %.40q…; want a PNG data URI", qr)
		}
		// Not on until confirmed: login is still one step.
		e.client().login("owner@acme.example.com", "owner-password")

		c.do("POST", "/api/auth/mfa/confirm", map[string]string{"code": "000000"}).wantError(t, 403, "forbidden", "code")
		c.do("POST", "/api/auth/mfa/confirm", map[string]string{"code": "12"}).wantError(t, 400, "invalid", "code")
		code := e.totpCode(t, secret, clock.now())
		r = c.do("POST", "/api/auth/mfa/confirm", map[string]string{"code": code[:3] + " " + code[3:]}).want(t, http.StatusOK)
		codes := r.list("recovery_codes")
		seen := map[string]bool{}
		for _, v := range codes {
			s := v.(string)
			if !regexp.MustCompile(`^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$`).MatchString(s) || seen[s] {
				t.Errorf("recovery code %q malformed or repeated", s)
			}
			seen[s] = true
		}
		if len(codes) != 10 {
			t.Errorf("%d recovery codes; want 10", len(codes))
		}
		c.do("POST", "/api/auth/mfa/setup", map[string]string{"password": "owner-password"}).wantError(t, 409, "conflict", "")
		c.do("POST", "/api/auth/mfa/confirm", map[string]string{"code": code}).wantError(t, 409, "conflict", "")
		for _, action := range []string{audit.ActionMFAEnrollmentStarted, audit.ActionMFAEnabled} {
			if n := len(tn.eventsWith(t, action)); n != 1 {
				t.Errorf("%d %s events; want 1", n, action)
			}
		}
		// Only hashes of the recovery codes are stored, and the secret is sealed.
		m, err := db.UserMFA(t.Context(), tn.accountID, tn.ownerID)
		if err != nil {
			t.Fatal(err)
		}
		stored := m.Secret
		if strings.Contains(stored, secret) || !strings.HasPrefix(stored, "v1:") {
			t.Errorf("stored secret %q is not sealed", stored)
		}
	})
}

func TestMFALogin(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		clock := e.useClock()
		tn := e.newTenant("acme")
		secret, recovery := tn.owner.enrolMFA(t, "owner-password")
		email := "owner@acme.example.com"
		verify := func(c *client, token, code string) *response {
			return c.do("POST", "/api/auth/mfa/verify", map[string]string{"mfa_token": token, "code": code})
		}

		// The password step gives no session: skipping the second step gets nowhere.
		c := e.client()
		token := c.loginMFA(t, email, "owner-password")
		c.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
		forged := e.client()
		forged.setCookie(t, token)
		forged.do("GET", "/api/users", nil).wantError(t, 401, "unauthorized", "")

		// The code used to confirm enrolment cannot be replayed.
		used := e.totpCode(t, secret, clock.now())
		verify(c, token, used).wantError(t, 401, "unauthorized", "code")

		clock.advance(30 * time.Second)
		fresh := e.totpCode(t, secret, clock.now())
		verify(c, "not-a-token", fresh).wantError(t, 401, "unauthorized", "")
		r := verify(c, token, fresh).want(t, http.StatusOK)
		if r.body["message"] != "Login successful" || num(r.obj("user"), "id") != tn.ownerID {
			t.Fatalf("verify response %s; want the seed's login response", r.raw)
		}
		c.do("GET", "/api/users", nil).want(t, http.StatusOK)
		// The pending login is spent, and so is the code.
		verify(c, token, fresh).wantError(t, 401, "unauthorized", "")
		c2 := e.client()
		verify(c2, c2.loginMFA(t, email, "owner-password"), fresh).wantError(t, 401, "unauthorized", "code")

		// A recovery code works once.
		c3 := e.client()
		verify(c3, c3.loginMFA(t, email, "owner-password"), strings.ToUpper(recovery[0])).want(t, http.StatusOK)
		c4 := e.client()
		tok4 := c4.loginMFA(t, email, "owner-password")
		verify(c4, tok4, recovery[0]).wantError(t, 401, "unauthorized", "code")
		if evs := tn.eventsWith(t, audit.ActionUserLogin); len(evs) == 0 || !strings.Contains(evs[0]["details"].(string), "recovery code, 9 left") {
			t.Errorf("latest user_login %v; want it to name the recovery code", evs[0])
		}

		// Five wrong codes end a pending login, even for a right code after.
		for range 4 {
			verify(c4, tok4, "000000").wantError(t, 401, "unauthorized", "code")
		}
		clock.advance(30 * time.Second)
		verify(c4, tok4, e.totpCode(t, secret, clock.now())).wantError(t, 401, "unauthorized", "")

		// A pending login expires.
		c5 := e.client()
		tok5 := c5.loginMFA(t, email, "owner-password")
		clock.advance(6 * time.Minute)
		verify(c5, tok5, e.totpCode(t, secret, clock.now())).wantError(t, 401, "unauthorized", "")

		if n := len(tn.eventsWith(t, audit.ActionLoginFailed)); n < 7 {
			t.Errorf("%d login_failed events; want one per wrong code (7)", n)
		}
	})
}

// TestMFAOtherUsersPendingLogin: neither user can finish the other's login
// with their own authenticator, and a wrong password never yields a token.
func TestMFAOtherUsersPendingLogin(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		clock := e.useClock()
		tn := e.newTenant("acme")
		admin, _ := e.addUser(tn, audit.RoleAdmin)
		ownerSecret, _ := tn.owner.enrolMFA(t, "owner-password")
		adminSecret, _ := admin.enrolMFA(t, "user-password")
		clock.advance(30 * time.Second)

		victim, attacker := e.client(), e.client()
		victimToken := victim.loginMFA(t, "owner@acme.example.com", "owner-password")
		attackerToken := attacker.loginMFA(t, "admin@acme.example.com", "user-password")
		attacker.do("POST", "/api/auth/mfa/verify", map[string]string{"mfa_token": victimToken, "code": e.totpCode(t, adminSecret, clock.now())}).wantError(t, 401, "unauthorized", "code")
		attacker.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
		// The victim's own code still finishes the victim's login, as the victim.
		r := victim.do("POST", "/api/auth/mfa/verify", map[string]string{"mfa_token": victimToken, "code": e.totpCode(t, ownerSecret, clock.now())}).want(t, http.StatusOK)
		if num(r.obj("user"), "id") != tn.ownerID {
			t.Errorf("verify signed in user %v; want the owner", r.obj("user"))
		}
		r = attacker.do("POST", "/api/auth/mfa/verify", map[string]string{"mfa_token": attackerToken, "code": e.totpCode(t, adminSecret, clock.now())}).want(t, http.StatusOK)
		if r.obj("user")["email"] != "admin@acme.example.com" {
			t.Errorf("attacker's own login signed in %v", r.obj("user"))
		}
		r = e.client().do("POST", "/api/auth/login", map[string]string{"email": "owner@acme.example.com", "password": "wrong-password"})
		r.wantError(t, 401, "unauthorized", "")
		if r.body["mfa_token"] != nil {
			t.Error("a wrong password returned an mfa_token")
		}
	})
}

func TestMFADisable(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		clock := e.useClock()
		tn := e.newTenant("acme")
		tn.owner.do("POST", "/api/auth/mfa/disable", map[string]string{"code": "123456"}).wantError(t, 409, "conflict", "")
		secret, _ := tn.owner.enrolMFA(t, "owner-password")
		// The confirming code is spent: disabling needs a fresh one.
		tn.owner.do("POST", "/api/auth/mfa/disable", map[string]string{"code": e.totpCode(t, secret, clock.now())}).wantError(t, 403, "forbidden", "code")
		tn.owner.do("POST", "/api/auth/mfa/disable", map[string]string{}).wantError(t, 400, "invalid", "code")
		clock.advance(30 * time.Second)
		tn.owner.do("POST", "/api/auth/mfa/disable", map[string]string{"code": e.totpCode(t, secret, clock.now())}).want(t, http.StatusOK)
		if n := len(tn.eventsWith(t, audit.ActionMFADisabled)); n != 1 {
			t.Errorf("%d mfa_disabled events; want 1", n)
		}
		// Login is one step again, with the seed's response.
		r := e.client().login("owner@acme.example.com", "owner-password")
		if r.body["message"] != "Login successful" || r.body["mfa_required"] != nil {
			t.Errorf("login after disabling MFA: %s", r.raw)
		}
	})
}

func TestRequireMFA(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		clock := e.useClock()
		tn := e.newTenant("acme")
		admin, _ := e.addUser(tn, audit.RoleAdmin)
		analyst, _ := e.addUser(tn, audit.RoleAnalyst)
		path := "/api/accounts/" + strconv.FormatInt(tn.accountID, 10) + "/security"
		other := e.newTenant("other")

		admin.do("PATCH", path, map[string]any{"require_mfa": true}).wantError(t, 403, "forbidden", "")
		other.owner.do("PATCH", path, map[string]any{"require_mfa": true}).wantError(t, 404, "not_found", "")
		tn.owner.do("PATCH", path, map[string]any{}).wantError(t, 400, "invalid", "require_mfa")
		ownerSecret, _ := tn.owner.enrolMFA(t, "owner-password")
		tn.owner.do("PATCH", path, map[string]any{"require_mfa": true}).want(t, http.StatusOK)
		if r := analyst.do("GET", path, nil).want(t, http.StatusOK); r.body["require_mfa"] != true {
			t.Errorf("GET security: %s", r.raw)
		}
		evs := tn.eventsWith(t, audit.ActionAccountMFAPolicy)
		if len(evs) != 1 || !strings.Contains(evs[0]["details"].(string), "require_mfa: false → true") {
			t.Errorf("policy events %v", evs)
		}

		// The admin without MFA is held to enrolment; the analyst is not affected.
		admin.do("GET", "/api/users", nil).wantError(t, 403, "mfa_required", "")
		admin.do("GET", "/api/audit-logs", nil).wantError(t, 403, "mfa_required", "")
		admin.do("GET", "/api/auth/me", nil).want(t, http.StatusOK)
		analyst.do("GET", "/api/accounts/"+strconv.FormatInt(tn.accountID, 10), nil).want(t, http.StatusOK)
		adminSecret, _ := admin.enrolMFA(t, "user-password")
		admin.do("GET", "/api/users", nil).want(t, http.StatusOK)
		// Nobody in a required role can turn MFA off.
		clock.advance(30 * time.Second)
		admin.do("POST", "/api/auth/mfa/disable", map[string]string{"code": e.totpCode(t, adminSecret, clock.now())}).wantError(t, 403, "mfa_required", "")
		tn.owner.do("POST", "/api/auth/mfa/disable", map[string]string{"code": e.totpCode(t, ownerSecret, clock.now())}).wantError(t, 403, "mfa_required", "")
	})
}
