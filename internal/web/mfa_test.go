package web

import (
	"context"
	"encoding/base32"
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
