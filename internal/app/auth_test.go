package app_test

import (
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestLogin checks sign-in outcomes and what each records.
func TestLogin(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		gone, _ := f.addUser(tn, audit.RoleAnalyst, "gone")
		if _, err := f.app.UpdateUser(f.ctx, tn.p, origin, gone.ID, app.UserChange{IsActive: active(false)}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, email, password string
			code, field           string
			action, details       string // recorded; "" when nothing is
			actor                 *audit.User
		}{
			{name: "success", email: tn.owner.Email, password: ownerPassword, action: audit.ActionUserLogin, details: "User logged in successfully", actor: tn.owner},
			{name: "email normalized", email: "  OWNER@Acme.Example.com ", password: ownerPassword, action: audit.ActionUserLogin, details: "User logged in successfully", actor: tn.owner},
			{name: "wrong password", email: tn.owner.Email, password: "not-the-password", code: audit.EUNAUTHORIZED,
				action: audit.ActionLoginFailed, details: "Failed login attempt: wrong password", actor: tn.owner},
			{name: "deactivated", email: gone.Email, password: userPassword, code: audit.EUNAUTHORIZED,
				action: audit.ActionLoginFailed, details: "Failed login attempt: user is deactivated", actor: gone},
			{name: "unknown email", email: "nobody@acme.example.com", password: ownerPassword, code: audit.EUNAUTHORIZED},
			{name: "no email", email: "", password: "x", code: audit.EINVALID, field: "email"},
			{name: "no password", email: tn.owner.Email, password: "", code: audit.EINVALID, field: "password"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := len(f.events(tn.account.ID, ""))
				res, err := f.app.Login(f.ctx, origin, app.Credentials{Email: tc.email, Password: tc.password})
				switch {
				case tc.code != "":
					wantCode(t, "Login", err, tc.code, tc.field)
					if tc.code == audit.EUNAUTHORIZED && audit.ErrorMessage(err) != "Invalid email or password." {
						t.Errorf("Login message %q; want the one answer to every failure", audit.ErrorMessage(err))
					}
				case err != nil:
					t.Fatalf("Login: %v", err)
				default:
					p := f.session(res.Token)
					if p.User.ID != tc.actor.ID || p.AccountID != tn.account.ID || p.Session == nil {
						t.Errorf("session principal %+v; want user %d", p, tc.actor.ID)
					}
				}
				after := len(f.events(tn.account.ID, ""))
				if tc.action == "" {
					if after != before {
						t.Errorf("recorded %d events; want none", after-before)
					}
					return
				}
				if after != before+1 {
					t.Errorf("recorded %d events; want 1", after-before)
				}
				f.wantEvent(tn.account.ID, tc.action, tc.details, tc.actor)
			})
		}
	})
}

// TestLoginEndsOldSession checks that signing in ends the session the
// client held before (no fixation).
func TestLoginEndsOldSession(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		old := f.login(tn.owner.Email, ownerPassword)
		res, err := f.app.Login(f.ctx, origin, app.Credentials{Email: tn.owner.Email, Password: ownerPassword, OldToken: old})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.app.AuthenticateSession(f.ctx, old)
		wantIs(t, "old session", err, app.ErrUnauthorized)
		f.session(res.Token)
		for _, forged := range []string{"", "attacker-chosen", old + "x"} {
			_, err := f.app.AuthenticateSession(f.ctx, forged)
			wantIs(t, "AuthenticateSession("+forged+")", err, app.ErrUnauthorized)
		}
	})
}

// TestLogout checks that the session ends and logout is recorded.
func TestLogout(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		token := f.login(tn.owner.Email, ownerPassword)
		if err := f.app.Logout(f.ctx, f.session(token), origin); err != nil {
			t.Fatal(err)
		}
		_, err := f.app.AuthenticateSession(f.ctx, token)
		wantIs(t, "after logout", err, app.ErrUnauthorized)
		f.wantEvent(tn.account.ID, audit.ActionUserLogout, "User logged out", tn.owner)
	})
}

// TestSessionExpiry checks the idle and absolute timeouts.
func TestSessionExpiry(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		const idle, maxAge = 10 * time.Minute, time.Hour
		f := newFixture(t, db, func(c *config.Config) { c.SessionIdle, c.SessionMaxAge = idle, maxAge })
		tn := f.newTenant("acme")
		start := f.now

		// Used regularly, a session lives until its absolute expiry.
		busy := f.login(tn.owner.Email, ownerPassword)
		for f.now.Before(start.Add(maxAge - idle)) {
			f.advance(idle / 2)
			if _, err := f.app.AuthenticateSession(f.ctx, busy); err != nil {
				t.Fatalf("busy session at +%s: %v", f.now.Sub(start), err)
			}
		}
		f.now = start.Add(maxAge + time.Second)
		_, err := f.app.AuthenticateSession(f.ctx, busy)
		wantIs(t, "past the absolute expiry", err, app.ErrUnauthorized)

		// Left idle, a session ends after the idle timeout.
		f.now = time.Now().UTC()
		quiet := f.login(tn.owner.Email, ownerPassword)
		f.advance(idle - time.Minute)
		f.session(quiet)
		f.advance(idle + time.Second)
		_, err = f.app.AuthenticateSession(f.ctx, quiet)
		wantIs(t, "past the idle timeout", err, app.ErrUnauthorized)
	})
}

// TestChangePassword checks that a change ends every other session,
// returns a new one, and is recorded; a wrong current password is
// recorded as login_failed.
func TestChangePassword(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		other := f.login(tn.owner.Email, ownerPassword)

		_, err := f.app.ChangePassword(f.ctx, tn.p, origin, app.PasswordChange{Current: "wrong-password-1", New: "brand-new-password"})
		wantCode(t, "ChangePassword(wrong current)", err, audit.EFORBIDDEN, "current_password")
		f.wantEvent(tn.account.ID, audit.ActionLoginFailed, "Failed password change: wrong current password", tn.owner)
		_, err = f.app.ChangePassword(f.ctx, tn.p, origin, app.PasswordChange{Current: ownerPassword, New: ownerPassword})
		wantCode(t, "ChangePassword(same)", err, audit.EINVALID, "new_password")

		token, err := f.app.ChangePassword(f.ctx, tn.p, origin, app.PasswordChange{Current: ownerPassword, New: "brand-new-password"})
		if err != nil {
			t.Fatal(err)
		}
		f.wantEvent(tn.account.ID, audit.ActionPasswordChanged, "Password changed; 1 other session(s) ended", tn.owner)
		for _, old := range []string{other} {
			_, err := f.app.AuthenticateSession(f.ctx, old)
			wantIs(t, "old session after password change", err, app.ErrUnauthorized)
		}
		_, err = f.app.AuthenticateSession(f.ctx, "")
		wantIs(t, "empty token", err, app.ErrUnauthorized)
		if p := f.session(token); p.User.ID != tn.owner.ID {
			t.Errorf("new session is user %d's", p.User.ID)
		}
		if _, err := f.app.Login(f.ctx, origin, app.Credentials{Email: tn.owner.Email, Password: ownerPassword}); audit.ErrorCode(err) != audit.EUNAUTHORIZED {
			t.Errorf("Login with the old password: %v; want refused", err)
		}
		f.signIn(tn.owner.Email, "brand-new-password")
	})
}

// TestThrottledLogin checks the sign-in buckets: past the account's limit
// an attempt fails with a *RateLimitError carrying RetryAfter, the
// observer sees every decision, and throttled attempts on a known account
// are recorded at most once per 10 minutes; unknown emails are not.
func TestThrottledLogin(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, func(c *config.Config) { c.RateLimitLoginAccount = ratelimit.Rule{Limit: 2, Period: 10 * time.Minute} })
		tn := f.newTenant("acme") // newTenant's sign-in takes one token
		var seen []app.LimitDecision
		ctx := app.WithLimitObserver(f.ctx, func(d app.LimitDecision) { seen = append(seen, d) })
		try := func(email string) error {
			_, err := f.app.Login(ctx, origin, app.Credentials{Email: email, Password: "wrong-password-9"})
			return err
		}
		wantCode(t, "attempt within the limit", try(tn.owner.Email), audit.EUNAUTHORIZED, "")
		if len(seen) != 2 || seen[0].Policy != app.PolicyLoginIP || seen[1].Policy != app.PolicyLoginAccount || !seen[1].Allowed || seen[1].Remaining != 0 {
			t.Fatalf("decisions %+v; want login-ip then login-account with 0 left", seen)
		}
		for range 3 {
			err := try(tn.owner.Email)
			rl, ok := err.(*app.RateLimitError)
			if !ok || rl.RetryAfter <= 0 || audit.ErrorCode(err) != audit.ERATELIMITED {
				t.Fatalf("throttled attempt: %v; want a *RateLimitError with RetryAfter", err)
			}
		}
		if last := seen[len(seen)-1]; last.Allowed || last.Policy != app.PolicyLoginAccount || last.RetryAfter <= 0 {
			t.Errorf("last decision %+v; want a refusal by login-account", last)
		}
		throttled := "Failed login attempt: too many attempts, sign-in throttled (throttled attempts are recorded at most once every 10 minutes)"
		count := func() (n int) {
			for _, e := range f.events(tn.account.ID, audit.ActionLoginFailed) {
				if e.Details == throttled {
					wantActor(t, e, tn.owner)
					n++
				}
			}
			return n
		}
		if n := count(); n != 1 {
			t.Errorf("%d throttled sign-ins recorded; want 1", n)
		}
		// Unknown emails have buckets too, and record nothing.
		for range 4 {
			try("nobody@acme.example.com")
		}
		// After ten minutes the next throttled attempt is recorded again.
		f.advance(10*time.Minute + time.Second)
		for range 4 {
			try(tn.owner.Email)
		}
		if n := count(); n != 2 {
			t.Errorf("%d throttled sign-ins recorded after 10 minutes; want 2", n)
		}
	})
}
