package web

import (
	"context"
	"encoding/base32"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/totp"
)

// TestSignInMFA signs in a user with MFA: the password step shows the code
// form, a wrong code shows its error, a recovery code signs in.
func TestSignInMFA(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	origin := app.NewClient("127.0.0.1", "test")
	cred := credential(audit.RoleAdmin)
	p := e.principal(audit.RoleAdmin)
	setup, err := e.app.StartMFASetup(ctx, p, origin, cred.Password)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(setup.Secret)
	if err != nil {
		t.Fatal(err)
	}
	recovery, err := e.app.ConfirmMFA(ctx, p, origin, totp.Code(secret, totp.Step(time.Now()), totp.Digits))
	if err != nil {
		t.Fatal(err)
	}

	c := e.client()
	step := c.post("/signin", url.Values{"email": {cred.Email}, "password": {cred.Password}, "next": {"/people"}})
	m := regexp.MustCompile(`name="mfa_token" value="([^"]+)"`).FindStringSubmatch(step.body)
	if step.status != http.StatusOK || m == nil || step.header.Get("Set-Cookie") != "" {
		t.Fatalf("password step: %d, cookie %q\n%s", step.status, step.header.Get("Set-Cookie"), step.body)
	}
	wrong := c.post("/signin/mfa", url.Values{"mfa_token": {m[1]}, "code": {"12345x"}, "next": {"/people"}})
	if wrong.status != http.StatusBadRequest || !strings.Contains(wrong.body, `id="code-error"`) || !strings.Contains(wrong.body, m[1]) {
		t.Errorf("malformed code: %d\n%s", wrong.status, wrong.body)
	}
	ok := c.post("/signin/mfa", url.Values{"mfa_token": {m[1]}, "code": {recovery[0]}, "next": {"/people"}})
	if ok.status != http.StatusSeeOther || ok.header.Get("Location") != "/people" {
		t.Fatalf("recovery code: %d to %q\n%s", ok.status, ok.header.Get("Location"), ok.body)
	}
	if got := c.get("/people"); got.status != http.StatusOK {
		t.Errorf("signed in with MFA, GET /people: %d", got.status)
	}
	again := c.post("/signin/mfa", url.Values{"mfa_token": {m[1]}, "code": {recovery[1]}})
	if again.status != http.StatusUnauthorized || !strings.Contains(again.body, `id="email"`) {
		t.Errorf("a used sign-in: %d; want the password form again", again.status)
	}
}

// mfaSecret reads the key the enrolment page shows.
var mfaSecret = regexp.MustCompile(`id="mfa-secret" class="mono" value="([A-Z2-7]+)"`)

// TestMFAEnrolmentPage enrols through the console's page: the password
// again, the QR code and key, a wrong and then the right first code, the
// recovery codes once; then turns MFA off with a code, and checks that an
// account requiring MFA keeps it on and sends a user without it here.
func TestMFAEnrolmentPage(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	c.signIn(audit.RoleAdmin)
	cred := credential(audit.RoleAdmin)

	page := c.get("/account/mfa")
	if page.status != http.StatusOK || !strings.Contains(page.body, `action="/account/mfa/setup"`) || strings.Contains(page.body, `action="/account/mfa/disable"`) {
		t.Fatalf("MFA page without MFA: %d\n%s", page.status, page.body)
	}
	for _, tt := range []struct {
		name, password string
		status         int
	}{
		{"missing", "", http.StatusBadRequest},
		{"wrong", "not-my-password", http.StatusForbidden},
	} {
		got := c.post("/account/mfa/setup", url.Values{"password": {tt.password}})
		if got.status != tt.status || !strings.Contains(got.body, `id="password-error"`) || strings.Contains(got.body, "mfa-secret") {
			t.Errorf("%s password: %d; want %d with the error next to the field\n%s", tt.name, got.status, tt.status, got.body)
		}
	}
	// A first code with no set-up pending: the console's words, not the API's.
	early := c.post("/account/mfa/confirm", url.Values{"code": {"123456"}})
	if early.status != http.StatusConflict || !strings.Contains(early.body, "No set-up is pending") || strings.Contains(early.body, "/api/") {
		t.Errorf("a code before the set-up: %d; want 409 in the console's words\n%s", early.status, early.body)
	}
	start := c.post("/account/mfa/setup", url.Values{"password": {cred.Password}})
	m := mfaSecret.FindStringSubmatch(start.body)
	if start.status != http.StatusOK || m == nil || !strings.Contains(start.body, `<img class="qr" src="data:image/png;base64,`) {
		t.Fatalf("start: %d\n%s", start.status, start.body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	wrong := c.post("/account/mfa/confirm", url.Values{"code": {"000000"}})
	if totp.Code(secret, totp.Step(time.Now()), totp.Digits) != "000000" &&
		(wrong.status != http.StatusForbidden || !strings.Contains(wrong.body, `id="code-error"`) || !strings.Contains(wrong.body, `action="/account/mfa/confirm"`)) {
		t.Errorf("wrong first code: %d; want 403 with the error next to the code\n%s", wrong.status, wrong.body)
	}
	done := c.post("/account/mfa/confirm", url.Values{"code": {totp.Code(secret, totp.Step(time.Now()), totp.Digits)}})
	codes := regexp.MustCompile(`(?s)<textarea id="recovery-codes"[^>]*>([^<]+)</textarea>`).FindStringSubmatch(done.body)
	if done.status != http.StatusOK || codes == nil || len(strings.Fields(codes[1])) != 10 || !strings.Contains(done.body, `data-copy="recovery-codes"`) {
		t.Fatalf("confirm: %d\n%s", done.status, done.body)
	}
	recovery := strings.Fields(codes[1])
	page = c.get("/account/mfa")
	if !strings.Contains(page.body, `action="/account/mfa/disable"`) || strings.Contains(page.body, recovery[0]) {
		t.Errorf("MFA page with MFA on lacks the disable form or shows a recovery code again\n%s", page.body)
	}
	again := c.post("/account/mfa/setup", url.Values{"password": {cred.Password}})
	if again.status != http.StatusConflict || !strings.Contains(again.body, `class="error banner"`) {
		t.Errorf("enrolling twice: %d; want 409 on the page", again.status)
	}

	// The account requires MFA: an admin may not turn it off.
	owner := e.client()
	owner.signIn(audit.RoleOwner)
	if got := owner.post("/account/security", url.Values{"require_mfa": {"true"}}); got.status != http.StatusSeeOther {
		t.Fatalf("require MFA: %d", got.status)
	}
	kept := c.get("/account/mfa")
	if strings.Contains(kept.body, `action="/account/mfa/disable"`) || !strings.Contains(kept.body, "stays on") {
		t.Errorf("required MFA offers to turn it off\n%s", kept.body)
	}
	refused := c.post("/account/mfa/disable", url.Values{"code": {recovery[0]}})
	if refused.status != http.StatusForbidden || !strings.Contains(refused.body, "cannot be turned off") {
		t.Errorf("turning off required MFA: %d\n%s", refused.status, refused.body)
	}
	// The owner has no MFA: every page but enrolment, password and
	// sign-out says so, and links here.
	due := owner.get("/events")
	if due.status != http.StatusForbidden || !strings.Contains(due.body, `href="/account/mfa"`) || !strings.Contains(due.body, "set it up to continue") || strings.Contains(due.body, "/api/") {
		t.Errorf("owner without MFA opens /events: %d\n%s", due.status, due.body)
	}
	for _, path := range []string{"/account/mfa", "/account/password"} {
		if got := owner.get(path); got.status != http.StatusOK {
			t.Errorf("owner whose enrolment is due opens %s: %d; want 200", path, got.status)
		}
	}
	if got := owner.post("/account/security", url.Values{"require_mfa": {"false"}}); got.status != http.StatusForbidden {
		t.Fatalf("owner without MFA changes the policy: %d; want 403", got.status)
	}
	if err := e.app.SetAccountSecurity(context.Background(), app.OperatorPrincipal(e.accountID, "test"), app.NewClient("127.0.0.1", "test"), e.accountID, app.SecurityChange{RequireMFA: new(bool)}); err != nil {
		t.Fatal(err)
	}

	// Off again, with a recovery code; a used one is refused.
	bad := c.post("/account/mfa/disable", url.Values{"code": {"12345x"}})
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `id="code-error"`) {
		t.Errorf("malformed code: %d\n%s", bad.status, bad.body)
	}
	off := c.post("/account/mfa/disable", url.Values{"code": {recovery[0]}})
	if off.status != http.StatusSeeOther || off.header.Get("Location") != "/account/mfa?done=mfa-disabled" {
		t.Fatalf("disable: %d to %q\n%s", off.status, off.header.Get("Location"), off.body)
	}
	if page := c.get("/account/mfa"); !strings.Contains(page.body, `action="/account/mfa/setup"`) {
		t.Error("after turning MFA off the page does not offer enrolment")
	}
}

// TestPasswordPage changes a password through the form: the app's rules
// answer next to their field, and a change ends the user's other sessions
// but not this one.
func TestPasswordPage(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	c.signIn(audit.RoleAnalyst)
	other := e.client()
	other.signIn(audit.RoleAnalyst)
	cred := credential(audit.RoleAnalyst)
	if got := c.get("/account/password"); got.status != http.StatusOK || !strings.Contains(got.body, `id="current-password"`) {
		t.Fatalf("password page: %d", got.status)
	}
	for _, tt := range []struct {
		name, current, new string
		status             int
		field              string
	}{
		{"no current", "", "Another-long-pass-7", http.StatusBadRequest, "current-password"},
		{"wrong current", "not-my-password", "Another-long-pass-7", http.StatusForbidden, "current-password"},
		{"short new", cred.Password, "short", http.StatusBadRequest, "new-password"},
		{"breached new", cred.Password, "password123", http.StatusBadRequest, "new-password"},
		{"same", cred.Password, cred.Password, http.StatusBadRequest, "new-password"},
	} {
		got := c.post("/account/password", url.Values{"current_password": {tt.current}, "new_password": {tt.new}})
		if got.status != tt.status || !strings.Contains(got.body, `id="`+tt.field+`-error"`) {
			t.Errorf("%s: %d; want %d with the error next to %s\n%s", tt.name, got.status, tt.status, tt.field, got.body)
		}
	}
	ok := c.post("/account/password", url.Values{"current_password": {cred.Password}, "new_password": {"Another-long-pass-7"}})
	if ok.status != http.StatusSeeOther || ok.header.Get("Location") != "/account/password?done=password" || !strings.Contains(ok.header.Get("Set-Cookie"), "HttpOnly") {
		t.Fatalf("change: %d to %q, cookie %q\n%s", ok.status, ok.header.Get("Location"), ok.header.Get("Set-Cookie"), ok.body)
	}
	if got := c.get("/account/password?done=password"); got.status != http.StatusOK || !strings.Contains(got.body, "other sessions were signed out") {
		t.Errorf("after the change this session: %d", got.status)
	}
	if got := other.get("/account"); got.status != http.StatusSeeOther {
		t.Errorf("the other session after the change: %d; want the sign-in redirect", got.status)
	}
	if got := e.client().post("/signin", url.Values{"email": {cred.Email}, "password": {"Another-long-pass-7"}}); got.status != http.StatusSeeOther {
		t.Errorf("sign in with the new password: %d", got.status)
	}
}

// TestConsoleMessages: each application error whose message names an API
// route has console words that name none, also when wrapped.
func TestConsoleMessages(t *testing.T) {
	for _, w := range consoleWordings {
		t.Run(w.msg, func(t *testing.T) {
			if !strings.Contains(audit.ErrorMessage(w.err), "/api/") {
				t.Errorf("%q names no API route: no need for console words", audit.ErrorMessage(w.err))
			}
			for _, err := range []error{w.err, fmt.Errorf("wrapped: %w", w.err)} {
				if got := consoleMessage(err); got != w.msg || strings.Contains(got, "/api/") {
					t.Errorf("consoleMessage(%v) = %q; want %q", err, got, w.msg)
				}
			}
		})
	}
	if got, want := consoleMessage(audit.Errorf(audit.ECONFLICT, "MFA is not enabled.")), "MFA is not enabled."; got != want {
		t.Errorf("another error: %q; want its own message %q", got, want)
	}
}
