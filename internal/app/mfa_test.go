package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/totp"
)

// TestMFASignIn runs set-up, confirmation and a two-step sign-in, and
// checks that codes cannot be replayed and recovery codes work once.
func TestMFASignIn(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		admin, p := f.addUser(tn, audit.RoleAdmin, "admin")

		_, err := f.app.StartMFASetup(f.ctx, p, origin, "wrong-password-1")
		wantCode(t, "StartMFASetup(wrong password)", err, audit.EFORBIDDEN, "password")
		f.wantEvent(tn.account.ID, audit.ActionLoginFailed, "Failed MFA set-up: wrong password", admin)
		_, err = f.app.ConfirmMFA(f.ctx, p, origin, "123456")
		wantCode(t, "ConfirmMFA before set-up", err, audit.ECONFLICT, "")

		setup, err := f.app.StartMFASetup(f.ctx, p, origin, userPassword)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(setup.URI, "otpauth://totp/") || len(setup.QRCodePNG) == 0 || setup.Secret == "" {
			t.Errorf("set-up %+v; want a secret, URI and QR code", setup)
		}
		f.wantEvent(tn.account.ID, audit.ActionMFAEnrollmentStarted, "Started MFA enrolment (authenticator app)", admin)
		_, err = f.app.ConfirmMFA(f.ctx, p, origin, f.totpCode(setup.Secret, -10))
		wantCode(t, "ConfirmMFA(stale code)", err, audit.EFORBIDDEN, "code")
		codes, err := f.app.ConfirmMFA(f.ctx, p, origin, f.totpCode(setup.Secret, 0))
		if err != nil || len(codes) != 10 {
			t.Fatalf("ConfirmMFA = %d codes, %v; want 10", len(codes), err)
		}
		f.wantEvent(tn.account.ID, audit.ActionMFAEnabled, "Enabled MFA (authenticator app) with 10 recovery codes", admin)
		_, err = f.app.StartMFASetup(f.ctx, p, origin, userPassword)
		wantCode(t, "StartMFASetup when enabled", err, audit.ECONFLICT, "")

		// The password alone no longer starts a session.
		pending := func() string {
			t.Helper()
			res, err := f.app.Login(f.ctx, origin, app.Credentials{Email: admin.Email, Password: userPassword})
			if err != nil || res.Token != "" || res.MFAToken == "" || res.MFAExpiresIn != 5*time.Minute {
				t.Fatalf("Login(MFA user) = %+v, %v; want a pending sign-in for 5 minutes", res, err)
			}
			return res.MFAToken
		}
		mfaToken := pending()
		_, err = f.app.VerifyMFA(f.ctx, origin, app.MFAVerification{Token: mfaToken, Code: "000000"})
		wantCode(t, "VerifyMFA(wrong code)", err, audit.EUNAUTHORIZED, "code")
		f.wantEvent(tn.account.ID, audit.ActionLoginFailed, "Failed login attempt: wrong MFA code", admin)

		// The code used at confirmation cannot be used again; the next one can.
		_, err = f.app.VerifyMFA(f.ctx, origin, app.MFAVerification{Token: mfaToken, Code: f.totpCode(setup.Secret, 0)})
		wantCode(t, "VerifyMFA(replayed code)", err, audit.EUNAUTHORIZED, "code")
		f.advance(totp.Period)
		code := f.totpCode(setup.Secret, 0)
		res, err := f.app.VerifyMFA(f.ctx, origin, app.MFAVerification{Token: mfaToken, Code: code})
		if err != nil || res.Token == "" {
			t.Fatalf("VerifyMFA = %+v, %v; want a session", res, err)
		}
		if s := f.session(res.Token); s.User.ID != admin.ID {
			t.Errorf("session of user %d; want %d", s.User.ID, admin.ID)
		}
		f.wantEvent(tn.account.ID, audit.ActionUserLogin, "User logged in successfully with MFA (authenticator code)", admin)
		_, err = f.app.VerifyMFA(f.ctx, origin, app.MFAVerification{Token: mfaToken, Code: code})
		wantCode(t, "VerifyMFA(used sign-in)", err, audit.EUNAUTHORIZED, "")
		_, err = f.app.VerifyMFA(f.ctx, origin, app.MFAVerification{Token: pending(), Code: code})
		wantCode(t, "VerifyMFA(replayed code, new sign-in)", err, audit.EUNAUTHORIZED, "code")

		// A recovery code works once, as people type it.
		typed := strings.ToUpper(strings.ReplaceAll(codes[0], "-", " "))
		if _, err := f.app.VerifyMFA(f.ctx, origin, app.MFAVerification{Token: pending(), Code: typed}); err != nil {
			t.Fatalf("VerifyMFA(recovery code): %v", err)
		}
		f.wantEvent(tn.account.ID, audit.ActionUserLogin, "User logged in successfully with MFA (recovery code, 9 left)", admin)
		_, err = f.app.VerifyMFA(f.ctx, origin, app.MFAVerification{Token: pending(), Code: codes[0]})
		wantCode(t, "VerifyMFA(used recovery code)", err, audit.EUNAUTHORIZED, "code")

		// A pending sign-in ends after five wrong codes, and expires.
		guessed := pending()
		for range 5 {
			_, err = f.app.VerifyMFA(f.ctx, origin, app.MFAVerification{Token: guessed, Code: "000000"})
			wantCode(t, "VerifyMFA(guess)", err, audit.EUNAUTHORIZED, "code")
		}
		f.advance(totp.Period)
		_, err = f.app.VerifyMFA(f.ctx, origin, app.MFAVerification{Token: guessed, Code: f.totpCode(setup.Secret, 0)})
		if audit.ErrorField(err) == "code" || audit.ErrorCode(err) != audit.EUNAUTHORIZED {
			t.Errorf("VerifyMFA after five wrong codes: %v; want the sign-in ended", err)
		}
		expiring := pending()
		f.advance(5*time.Minute + time.Second)
		_, err = f.app.VerifyMFA(f.ctx, origin, app.MFAVerification{Token: expiring, Code: f.totpCode(setup.Secret, 0)})
		if audit.ErrorField(err) == "code" || audit.ErrorCode(err) != audit.EUNAUTHORIZED {
			t.Errorf("VerifyMFA after 5 minutes: %v; want the sign-in expired", err)
		}

		// Disabling needs a fresh code.
		err = f.app.DisableMFA(f.ctx, p, origin, "000000")
		wantCode(t, "DisableMFA(wrong code)", err, audit.EFORBIDDEN, "code")
		f.wantEvent(tn.account.ID, audit.ActionLoginFailed, "Failed MFA disable: wrong code", admin)
		if err := f.app.DisableMFA(f.ctx, p, origin, codes[1]); err != nil {
			t.Fatalf("DisableMFA(recovery code): %v", err)
		}
		f.wantEvent(tn.account.ID, audit.ActionMFADisabled, "Disabled MFA, confirmed with recovery code, 8 left", admin)
		err = f.app.DisableMFA(f.ctx, p, origin, "123456")
		wantCode(t, "DisableMFA when off", err, audit.ECONFLICT, "")
		f.signIn(admin.Email, userPassword)
	})
}

// TestMFAPolicy checks that an account requiring MFA holds back owners and
// admins without it, and refuses to let them turn it off.
func TestMFAPolicy(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		_, p := f.addUser(tn, audit.RoleAdmin, "admin")
		f.addUser(tn, audit.RoleAnalyst, "analyst")
		_, codes := f.enrolMFA(p, userPassword)

		require := true
		err := f.app.SetAccountSecurity(f.ctx, p, origin, tn.account.ID, app.SecurityChange{RequireMFA: &require})
		wantCode(t, "SetAccountSecurity by an admin", err, audit.EFORBIDDEN, "")
		err = f.app.SetAccountSecurity(f.ctx, tn.p, origin, tn.account.ID+1000, app.SecurityChange{RequireMFA: &require})
		wantIs(t, "SetAccountSecurity(other account)", err, app.ErrAccountNotFound)
		err = f.app.SetAccountSecurity(f.ctx, tn.p, origin, tn.account.ID, app.SecurityChange{})
		wantCode(t, "SetAccountSecurity(nothing)", err, audit.EINVALID, "require_mfa")
		if err := f.app.SetAccountSecurity(f.ctx, tn.p, origin, tn.account.ID, app.SecurityChange{RequireMFA: &require}); err != nil {
			t.Fatal(err)
		}
		f.wantEvent(tn.account.ID, audit.ActionAccountMFAPolicy, "MFA for owners and admins: require_mfa: false → true", tn.owner)
		if got, err := f.app.AccountSecurity(f.ctx, tn.p, tn.account.ID); err != nil || !got {
			t.Errorf("AccountSecurity = %v, %v; want true", got, err)
		}

		err = f.app.DisableMFA(f.ctx, p, origin, codes[0])
		wantCode(t, "DisableMFA under the policy", err, audit.EMFAREQUIRED, "")
		if _, _, err := f.app.CreateAPIKey(f.ctx, p, origin, app.NewAPIKey{Name: "k", Scopes: []string{audit.ScopeEventsRead}}); err != nil {
			t.Errorf("admin with MFA: %v", err)
		}
		// The owner has no MFA: signed in, but held back until enrolled.
		owner := f.signIn(tn.owner.Email, ownerPassword)
		if !owner.MFAEnrolmentDue {
			t.Fatal("owner without MFA: enrolment not due")
		}
		_, err = f.app.Users(f.ctx, owner)
		wantCode(t, "Users while enrolment is due", err, audit.EMFAREQUIRED, "")
		f.enrolMFA(owner, ownerPassword)
		// Analysts are not concerned.
		if a := f.signIn("analyst@acme.example.com", userPassword); a.MFAEnrolmentDue {
			t.Error("analyst held back by the MFA policy")
		}
	})
}
