package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// insertUser stores an analyst with email in the account straight through
// the store, past the application's rules: a user as one created before
// addresses had to be at their account's domain.
func (f *fixture) insertUser(accountID int64, email string) {
	f.t.Helper()
	u := &audit.User{AccountID: accountID, Email: email, PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", Role: audit.RoleAnalyst, IsActive: true}
	if err := f.db.Update(f.ctx, func(tx *sqlstore.Tx) error { return tx.CreateUser(f.ctx, u) }); err != nil {
		f.t.Fatal(err)
	}
}

// TestAccountClaimsDomain checks the domain rule: an account's owner and
// users have addresses at exactly its domain, and a domain is taken once an
// account claims it or any user has an address at it, whatever email the
// request names.
func TestAccountClaimsDomain(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		f.insertUser(tn.account.ID, "old@legacy.example.com")
		for _, tc := range []struct {
			name, domain, email string
			code, field         string // "" for success
			taken               bool   // fails with audit.ErrDomainTaken
		}{
			{name: "the seed's example", domain: "my-store.com", email: "owner@my-store.com"},
			{name: "domain normalized", domain: " Shop.Example.COM. ", email: "Owner@SHOP.example.com"},
			{name: "address at another domain", domain: "one.example.com", email: "owner@gmail.com", code: audit.EINVALID, field: "owner_email"},
			{name: "address at a subdomain", domain: "two.example.com", email: "owner@eu.two.example.com", code: audit.EINVALID, field: "owner_email"},
			{name: "address at the parent domain", domain: "eu.three.example.com", email: "owner@three.example.com", code: audit.EINVALID, field: "owner_email"},
			{name: "domain claimed", domain: "acme.example.com", email: "new@acme.example.com", taken: true},
			{name: "domain claimed, its owner's address", domain: "acme.example.com", email: "owner@acme.example.com", taken: true},
			{name: "domain with a user from before the rule", domain: "legacy.example.com", email: "old@legacy.example.com", taken: true},
			{name: "domain with a user from before the rule, another address", domain: "legacy.example.com", email: "new@legacy.example.com", taken: true},
			{name: "subdomain of a claimed domain", domain: "eu.acme.example.com", email: "owner@eu.acme.example.com"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				acct, owner, err := f.app.CreateAccount(f.ctx, origin, app.NewAccount{
					Name: "Store", Domain: tc.domain, OwnerEmail: tc.email, OwnerPassword: ownerPassword,
				})
				switch {
				case tc.taken:
					wantIs(t, "CreateAccount", err, audit.ErrDomainTaken)
					if audit.ErrorMessage(err) != "An account with this domain already exists." {
						t.Errorf("CreateAccount message %q; want the taken domain's", audit.ErrorMessage(err))
					}
				case tc.code != "":
					wantCode(t, "CreateAccount", err, tc.code, tc.field)
				case err != nil:
					t.Fatalf("CreateAccount: %v", err)
				default:
					if owner.AccountID != acct.ID || owner.Email != audit.NormalizeEmail(tc.email) {
						t.Errorf("CreateAccount = %+v, %+v", acct, owner)
					}
				}
			})
		}

		// Users: at exactly the account's domain.
		for _, tc := range []struct {
			name, email string
			code, field string
		}{
			{name: "at the domain", email: "jane@acme.example.com"},
			{name: "upper case", email: "JOE@ACME.example.com"},
			{name: "at another domain", email: "jane@gmail.com", code: audit.EINVALID, field: "email"},
			{name: "at another account's domain", email: "owner@my-store.com", code: audit.EINVALID, field: "email"},
			{name: "at a subdomain", email: "jane@eu.acme.example.com", code: audit.EINVALID, field: "email"},
			{name: "at a lookalike domain", email: "jane@acme.example.com.evil.example", code: audit.EINVALID, field: "email"},
			{name: "at the old address's domain", email: "new@legacy.example.com", code: audit.EINVALID, field: "email"},
		} {
			t.Run("user "+tc.name, func(t *testing.T) {
				_, err := f.app.CreateUser(f.ctx, tn.p, origin, app.NewUser{Email: tc.email, Password: userPassword, Role: audit.RoleAnalyst})
				if tc.code != "" {
					wantCode(t, "CreateUser", err, tc.code, tc.field)
					return
				}
				if err != nil {
					t.Fatalf("CreateUser: %v", err)
				}
			})
		}
		// An address at the domain that another account took before the
		// rule stays taken.
		f.insertUser(tn.account.ID, "squatted@my-store.com")
		seed, err := f.db.UserByEmail(f.ctx, "owner@my-store.com")
		if err != nil {
			t.Fatal(err)
		}
		p := f.signIn(seed.Email, ownerPassword)
		_, err = f.app.CreateUser(f.ctx, p, origin, app.NewUser{Email: "squatted@my-store.com", Password: userPassword, Role: audit.RoleAdmin})
		wantIs(t, "CreateUser(address taken before the rule)", err, audit.ErrEmailTaken)
		if _, err := f.app.CreateUser(f.ctx, p, origin, app.NewUser{Email: "admin@my-store.com", Password: userPassword, Role: audit.RoleAdmin}); err != nil {
			t.Errorf("CreateUser(the seed's admin@my-store.com): %v", err)
		}
	})
}

// TestSignUp checks public sign-up: the operator's switch, and the client
// IP's sign-up bucket, which only requests with valid fields draw from;
// the operator's CreateAccount is neither switched off nor limited.
func TestSignUp(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, func(c *config.Config) { c.RateLimitSignUp = ratelimit.Rule{Limit: 2, Period: time.Hour} })
		signUp := func(ctx context.Context, c app.Client, name string) error {
			_, _, err := f.app.SignUp(ctx, c, app.NewAccount{Name: name, Domain: name + ".example.com", OwnerEmail: "o@" + name + ".example.com", OwnerPassword: ownerPassword})
			return err
		}
		if err := f.app.SignUpOpen(); err != nil {
			t.Errorf("SignUpOpen() = %v; want open by default", err)
		}
		var decisions []app.LimitDecision
		ctx := app.WithLimitObserver(f.ctx, func(d app.LimitDecision) { decisions = append(decisions, d) })
		for _, name := range []string{"one", "two"} {
			if err := signUp(ctx, origin, name); err != nil {
				t.Fatalf("SignUp(%s): %v", name, err)
			}
		}
		// Invalid fields draw nothing; the next valid request finds the
		// bucket empty.
		_, _, err := f.app.SignUp(ctx, origin, app.NewAccount{Name: "x", Domain: "x.example.com", OwnerEmail: "o@gmail.com", OwnerPassword: ownerPassword})
		wantCode(t, "SignUp(address at another domain)", err, audit.EINVALID, "owner_email")
		err = signUp(ctx, origin, "three")
		var rl *app.RateLimitError
		if !errors.As(err, &rl) || rl.Policy != app.PolicySignUpIP || rl.RetryAfter <= 0 || rl.RetryAfter > 30*time.Minute {
			t.Fatalf("third SignUp from one address: %v; want a signup-ip *RateLimitError", err)
		}
		if len(decisions) != 3 || decisions[0].Policy != app.PolicySignUpIP || decisions[0].Remaining != 1 || !decisions[1].Allowed || decisions[2].Allowed {
			t.Errorf("decisions %+v; want signup-ip allowed, allowed, refused", decisions)
		}
		if _, err := f.db.Account(f.ctx, 3); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("a refused sign-up created an account (err %v)", err)
		}
		// Another address has its own bucket; 30 minutes refill one token.
		if err := signUp(f.ctx, app.NewClient("198.51.100.9", "x"), "four"); err != nil {
			t.Errorf("SignUp from another address: %v", err)
		}
		f.now = f.now.Add(30 * time.Minute)
		if err := signUp(f.ctx, origin, "five"); err != nil {
			t.Errorf("SignUp 30 minutes later: %v", err)
		}
		// The operator is not limited.
		for _, name := range []string{"six", "seven", "eight"} {
			if _, _, err := f.app.CreateAccount(f.ctx, origin, app.NewAccount{Name: name, Domain: name + ".example.com", OwnerEmail: "o@" + name + ".example.com", OwnerPassword: ownerPassword}); err != nil {
				t.Errorf("CreateAccount(%s): %v", name, err)
			}
		}

		closed := newFixture(t, db, func(c *config.Config) { c.PublicSignUp = false })
		if err := closed.app.SignUpOpen(); err != app.ErrSignUpClosed {
			t.Errorf("SignUpOpen() = %v; want ErrSignUpClosed", err)
		}
		_, _, err = closed.app.SignUp(f.ctx, origin, app.NewAccount{Name: "nine", Domain: "nine.example.com", OwnerEmail: "o@nine.example.com", OwnerPassword: ownerPassword})
		wantCode(t, "SignUp(closed)", err, audit.EFORBIDDEN, "")
		if _, _, err := closed.app.CreateAccount(f.ctx, origin, app.NewAccount{Name: "ten", Domain: "ten.example.com", OwnerEmail: "o@ten.example.com", OwnerPassword: ownerPassword}); err != nil {
			t.Errorf("CreateAccount with sign-up closed: %v", err)
		}
	})
}
