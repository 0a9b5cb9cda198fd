package app

import (
	"context"
	"fmt"

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

// CreateAccount creates an account and its owner, and records
// account_created and user_created (acted by the new owner), all in one
// transaction. A taken domain or owner email fails with an error wrapping
// audit.ErrDomainTaken or audit.ErrEmailTaken.
func (a *App) CreateAccount(ctx context.Context, c Client, in NewAccount) (*audit.Account, *audit.User, error) {
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
	if err := a.passwordPolicy().Check("owner_password", in.OwnerPassword); err != nil {
		return nil, nil, err
	}
	hash, err := a.hasher.Hash(ctx, in.OwnerPassword)
	if err != nil {
		return nil, nil, fmt.Errorf("hash owner password: %w", err)
	}
	owner.PasswordHash = hash
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		owner.AccountID = acct.ID
		if err := tx.CreateUser(ctx, owner); err != nil {
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

// Account returns p's account, when id names it; any other ID, existing or
// not, is not found.
func (a *App) Account(ctx context.Context, p *Principal, id int64) (*audit.Account, error) {
	if err := p.Authorize(audit.PermViewAccount); err != nil {
		return nil, err
	}
	if err := p.OwnAccount(id); err != nil {
		return nil, err
	}
	return a.store.Account(ctx, id)
}
