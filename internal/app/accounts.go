package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// NewAccount is what creating an account takes: the account and its
// first owner.
type NewAccount struct {
	Name           string
	Domain         string
	OwnerEmail     string
	OwnerPassword  string
	OwnerFirstName string
	OwnerLastName  string
}

// ErrSignUpClosed is the answer to a public sign-up when the operator has
// turned it off (PUBLIC_SIGNUP=false).
var ErrSignUpClosed = audit.Errorf(audit.EFORBIDDEN,
	"Public sign-up is turned off on this service: its operator creates accounts (auditlog create-account).")

// SignUpOpen returns nil when anyone may create an account (SignUp), and
// ErrSignUpClosed when the operator has turned public sign-up off. A
// surface may call it before reading the request, so that a closed
// sign-up answers the same whatever was sent.
func (a *App) SignUpOpen() error {
	if !a.cfg.PublicSignUp {
		return ErrSignUpClosed
	}
	return nil
}

// SignUp is public sign-up: anyone creating an account and its owner, as
// POST /api/accounts does. It fails with ErrSignUpClosed when the operator
// has turned public sign-up off. A request with valid fields draws from the
// client IP's sign-up bucket (RATE_LIMIT_SIGNUP) before any hashing or
// store access, and fails with a *RateLimitError when it is empty. The
// rest is CreateAccount's.
func (a *App) SignUp(ctx context.Context, c Client, in NewAccount) (*audit.Account, *audit.User, error) {
	if err := a.SignUpOpen(); err != nil {
		return nil, nil, err
	}
	acct, owner, err := a.newAccount(in)
	if err != nil {
		return nil, nil, err
	}
	if err := a.draw(ctx, a.signUpLimit(c)); err != nil {
		return nil, nil, err
	}
	return a.createAccount(ctx, c, acct, owner, in.OwnerPassword)
}

// CreateAccount creates an account and its owner, and records
// account_created and user_created (acted by the new owner), all in one
// transaction. It is the operator's way (auditlog create-account): no
// rate limit, and it works with public sign-up turned off.
//
// The account claims its domain: the owner's email must be an address at
// exactly that domain (400 naming owner_email), and users are only ever
// added at it (CreateUser). A domain that another account has claimed, or
// at which any user already has an address, fails with an error wrapping
// audit.ErrDomainTaken; the answer so depends on the domain alone, and
// says nothing about whether a given email exists.
func (a *App) CreateAccount(ctx context.Context, c Client, in NewAccount) (*audit.Account, *audit.User, error) {
	acct, owner, err := a.newAccount(in)
	if err != nil {
		return nil, nil, err
	}
	return a.createAccount(ctx, c, acct, owner, in.OwnerPassword)
}

// newAccount checks in's fields, in the documented order, and returns the
// account and owner to create.
func (a *App) newAccount(in NewAccount) (*audit.Account, *audit.User, error) {
	acct := &audit.Account{Name: in.Name, Domain: in.Domain}
	acct.Normalize()
	if err := acct.Validate(); err != nil {
		return nil, nil, err
	}
	owner := &audit.User{
		Email: in.OwnerEmail, FirstName: in.OwnerFirstName, LastName: in.OwnerLastName,
		Role: audit.RoleOwner, IsActive: true,
	}
	owner.Normalize()
	if err := owner.Validate("owner_"); err != nil {
		return nil, nil, err
	}
	if err := requireAtDomain("owner_email", owner.Email, acct.Domain, "the account's domain"); err != nil {
		return nil, nil, err
	}
	if err := a.passwordPolicy().Check("owner_password", in.OwnerPassword); err != nil {
		return nil, nil, err
	}
	return acct, owner, nil
}

// createAccount stores acct and its owner with password, and records both.
func (a *App) createAccount(ctx context.Context, c Client, acct *audit.Account, owner *audit.User, password string) (*audit.Account, *audit.User, error) {
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return nil, nil, fmt.Errorf("hash owner password: %w", err)
	}
	owner.PasswordHash = hash
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		// An address at a domain no account claims exists only from before
		// the domain rule; it makes the domain taken, whatever the email.
		inUse, err := tx.EmailDomainInUse(ctx, acct.Domain)
		if err != nil {
			return err
		}
		if inUse {
			return fmt.Errorf("app: create account: domain %s has users: %w", acct.Domain, audit.ErrDomainTaken)
		}
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		owner.AccountID = acct.ID
		if err := tx.CreateUser(ctx, owner); err != nil {
			if errors.Is(err, audit.ErrEmailTaken) { // a race with the check above
				return fmt.Errorf("app: create account: %w", audit.ErrDomainTaken)
			}
			return err
		}
		return a.record(ctx, tx, userPrincipal(owner), c,
			entry{accountResource(acct.ID), audit.ActionAccountCreated, fmt.Sprintf("Account %q created for domain %s", acct.Name, acct.Domain)},
			entry{userResource(owner), audit.ActionUserCreated, fmt.Sprintf("Created user %s with role %s", owner.Email, owner.Role)})
	})
	if err != nil {
		return nil, nil, err
	}
	return acct, owner, nil
}

// requireAtDomain checks that email (normalized and valid) is an address at
// exactly domain, not at a subdomain: the one rule that keeps one account
// from holding another's addresses. whose names the domain in the message.
func requireAtDomain(field, email, domain, whose string) error {
	if i := strings.LastIndexByte(email, '@'); i >= 0 && email[i+1:] == domain {
		return nil
	}
	return audit.FieldError(field, "%s must be an address at %s, %s (such as name@%s).", field, whose, domain, domain)
}

// Account returns p's account, when id names it; any other ID, existing or
// not, is not found. Its retention is shown to owners and admins only.
func (a *App) Account(ctx context.Context, p *Principal, id int64) (*audit.Account, error) {
	if err := p.Authorize(audit.PermViewAccount); err != nil {
		return nil, err
	}
	if err := p.OwnAccount(id); err != nil {
		return nil, err
	}
	acct, err := a.store.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	a.showRetention(p, acct)
	return acct, nil
}
