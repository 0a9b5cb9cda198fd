package app

import (
	"context"
	"fmt"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// AccountSecurity returns whether account id (p's own; any other is not
// found) requires MFA of its owners and admins.
func (a *App) AccountSecurity(ctx context.Context, p *Principal, id int64) (requireMFA bool, err error) {
	if err := p.Authorize(audit.PermViewAccount); err != nil {
		return false, err
	}
	if err := p.OwnAccount(id); err != nil {
		return false, err
	}
	return a.store.RequireMFA(ctx, id)
}

// SecurityChange is a change of an account's security settings.
type SecurityChange struct {
	// RequireMFA is required.
	RequireMFA *bool
}

// SetAccountSecurity lets an owner require MFA of the account's owners and
// admins. From then on, an owner or admin without MFA may sign in but is
// refused (audit.EMFAREQUIRED) by every operation that needs a permission
// until they enrol, and nobody in those roles can turn MFA off. A change is
// recorded with its before and after values; no change records nothing.
func (a *App) SetAccountSecurity(ctx context.Context, p *Principal, c Client, id int64, in SecurityChange) error {
	if err := p.Authorize(audit.PermManageAccountSecurity); err != nil {
		return err
	}
	if err := p.OwnAccount(id); err != nil {
		return err
	}
	if in.RequireMFA == nil {
		return audit.FieldError("require_mfa", "require_mfa is required: true or false.")
	}
	require := *in.RequireMFA
	return a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		before, err := tx.SetRequireMFA(ctx, id, require)
		if err != nil || before == require {
			return err
		}
		return a.record(ctx, tx, p, c, entry{accountResource(id), audit.ActionAccountMFAPolicy,
			fmt.Sprintf("MFA for owners and admins: require_mfa: %t → %t", before, require)})
	})
}
