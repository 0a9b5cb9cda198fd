package app_test

import (
	"context"
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/totp"
)

// testParams are cheap argon2id parameters: these tests exercise the
// rules, not the cost.
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// roomy is the rate limit the tests run under unless they test limits.
var roomy = ratelimit.Rule{Limit: 100000, Period: time.Minute}

// origin is the client every test operation comes from.
var origin = app.NewClient("192.0.2.7", "app-test/1.0")

// fixture is an App over a fresh database, with a settable clock.
type fixture struct {
	t   *testing.T
	ctx context.Context
	db  *sqlstore.DB
	app *app.App
	cfg config.Config
	now time.Time
}

func newFixture(t *testing.T, db *sqlstore.DB, opts ...func(*config.Config)) *fixture {
	t.Helper()
	cfg := config.Default()
	cfg.RateLimitLoginIP, cfg.RateLimitLoginAccount, cfg.RateLimitReads, cfg.RateLimitIngest, cfg.RateLimitSignUp = roomy, roomy, roomy, roomy, roomy
	for _, o := range opts {
		o(&cfg)
	}
	f := &fixture{t: t, ctx: context.Background(), db: db, cfg: cfg, now: time.Now().UTC()}
	ws, err := app.NewWitnesses(cfg.Witnesses)
	if err != nil {
		t.Fatal(err)
	}
	f.app = app.New(app.Deps{
		Store: db, Signer: sqltest.Signer(t), Hasher: password.NewHasher(testParams), Config: cfg,
		SecretKey: []byte("app-test-secret"), Now: func() time.Time { return f.now }, Witnesses: ws,
	})
	if len(ws) > 0 {
		db.OnCommit = f.app.LogsCommitted
	}
	t.Cleanup(func() { // before the database closes
		if err := f.app.Close(f.ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

// tenant is an account with its owner signed in.
type tenant struct {
	account *audit.Account
	owner   *audit.User
	p       *app.Principal // the owner's session
}

const ownerPassword = "owner-password-1"

// newTenant creates an account named name and signs its owner in.
func (f *fixture) newTenant(name string) *tenant {
	f.t.Helper()
	acct, owner, err := f.app.CreateAccount(f.ctx, origin, app.NewAccount{
		Name: name + " Store", Domain: name + ".example.com", OwnerEmail: "owner@" + name + ".example.com",
		OwnerPassword: ownerPassword, OwnerFirstName: "Olga", OwnerLastName: name,
	})
	if err != nil {
		f.t.Fatalf("CreateAccount(%s): %v", name, err)
	}
	return &tenant{account: acct, owner: owner, p: f.signIn(owner.Email, ownerPassword)}
}

const userPassword = "user-password-1"

// addUser creates a user with role in tn (as its owner) and signs them in.
func (f *fixture) addUser(tn *tenant, role audit.Role, name string) (*audit.User, *app.Principal) {
	f.t.Helper()
	u, err := f.app.CreateUser(f.ctx, tn.p, origin, app.NewUser{
		Email: name + "@" + tn.account.Domain, Password: userPassword, FirstName: "U", LastName: name, Role: role,
	})
	if err != nil {
		f.t.Fatalf("CreateUser(%s, %s): %v", name, role, err)
	}
	return u, f.signIn(u.Email, userPassword)
}

// signIn signs in with a password (no MFA) and returns the session's
// principal.
func (f *fixture) signIn(email, pw string) *app.Principal {
	f.t.Helper()
	return f.session(f.login(email, pw))
}

// login signs in with a password (no MFA) and returns the session token.
func (f *fixture) login(email, pw string) string {
	f.t.Helper()
	res, err := f.app.Login(f.ctx, origin, app.Credentials{Email: email, Password: pw})
	if err != nil || res.Token == "" {
		f.t.Fatalf("Login(%s) = %+v, %v; want a session", email, res, err)
	}
	return res.Token
}

// session authenticates a session token.
func (f *fixture) session(token string) *app.Principal {
	f.t.Helper()
	p, err := f.app.AuthenticateSession(f.ctx, token)
	if err != nil {
		f.t.Fatalf("AuthenticateSession: %v", err)
	}
	return p
}

// flush waits until the events the app records in the background (failed
// sign-ins) are written.
func (f *fixture) flush() {
	f.t.Helper()
	if err := f.app.Flush(f.ctx); err != nil {
		f.t.Fatalf("Flush: %v", err)
	}
}

// events returns the account's events with the action, newest first,
// including those recorded in the background.
func (f *fixture) events(accountID int64, action string) []*audit.Event {
	f.t.Helper()
	f.flush()
	page, err := f.db.Events(f.ctx, accountID, audit.EventFilter{Action: action}, audit.PageRequest{Page: 1, PerPage: 100})
	if err != nil {
		f.t.Fatalf("Events: %v", err)
	}
	return page.Events
}

// wantEvent checks that the account's newest event with the action has
// the details and was acted by the user, from origin.
func (f *fixture) wantEvent(accountID int64, action, details string, actor *audit.User) *audit.Event {
	f.t.Helper()
	evs := f.events(accountID, action)
	if len(evs) == 0 {
		f.t.Fatalf("no %s event recorded", action)
	}
	e := evs[0]
	if details != "" && e.Details != details {
		f.t.Errorf("%s details %q; want %q", action, e.Details, details)
	}
	wantActor(f.t, e, actor)
	return e
}

// wantActor checks that e's actor is the user u, from origin.
func wantActor(t *testing.T, e *audit.Event, u *audit.User) {
	t.Helper()
	if e.ActorType != audit.ActorUser || e.UserID != u.ID || e.ActorEmail != u.Email || e.ActorName != u.FullName() || e.APIKeyID != 0 {
		t.Errorf("%s actor: type %q user %d email %q name %q key %d; want user %d %q %q",
			e.Action, e.ActorType, e.UserID, e.ActorEmail, e.ActorName, e.APIKeyID, u.ID, u.Email, u.FullName())
	}
	if e.IPAddress != origin.IP() || e.UserAgent != origin.UserAgent() {
		t.Errorf("%s origin %q %q; want %q %q", e.Action, e.IPAddress, e.UserAgent, origin.IP(), origin.UserAgent())
	}
}

// wantCode fails unless err carries the code (and, when not empty, field).
func wantCode(t *testing.T, what string, err error, code, field string) {
	t.Helper()
	if audit.ErrorCode(err) != code || field != "" && audit.ErrorField(err) != field {
		t.Fatalf("%s: error %v (code %q, field %q); want code %q field %q", what, err, audit.ErrorCode(err), audit.ErrorField(err), code, field)
	}
}

// wantIs fails unless err is or wraps target.
func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v; want %v", what, err, target)
	}
}

// totpCode returns the authenticator code for the base32 secret at the
// fixture's time, shifted by steps time steps.
func (f *fixture) totpCode(secret string, steps int64) string {
	f.t.Helper()
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		f.t.Fatalf("secret %q: %v", secret, err)
	}
	return totp.Code(raw, totp.Step(f.now)+steps, totp.Digits)
}

// enrolMFA turns MFA on for p and returns the secret and recovery codes.
func (f *fixture) enrolMFA(p *app.Principal, pw string) (string, []string) {
	f.t.Helper()
	setup, err := f.app.StartMFASetup(f.ctx, p, origin, pw)
	if err != nil {
		f.t.Fatalf("StartMFASetup: %v", err)
	}
	codes, err := f.app.ConfirmMFA(f.ctx, p, origin, f.totpCode(setup.Secret, 0))
	if err != nil {
		f.t.Fatalf("ConfirmMFA: %v", err)
	}
	return setup.Secret, codes
}

// advance moves the clock on.
func (f *fixture) advance(d time.Duration) { f.now = f.now.Add(d) }
