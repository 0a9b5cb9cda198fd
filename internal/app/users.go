package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// NewUser is what creating a user takes.
type NewUser struct {
	// AccountID, when not 0, must be the caller's account: users are only
	// ever created there.
	AccountID int64
	Email     string
	Password  string
	FirstName string
	LastName  string
	Role      audit.Role
}

// UserChange is a change of a user's role and/or active state; nil fields
// stay as they are.
type UserChange struct {
	Role     *audit.Role
	IsActive *bool
}

// Errors of user management.
var (
	// ErrUserNotFound means no user with the ID is in the caller's account.
	ErrUserNotFound      = audit.Errorf(audit.ENOTFOUND, "User not found.")
	errAdminTouchesOwner = &audit.Error{Code: audit.EFORBIDDEN, Message: "Admins cannot change an owner."}
)

// CreateUser adds a user to p's account and records user_created in the
// same transaction. Owners may create any role; admins any role but owner.
// The email must be an address at exactly the account's domain (400
// naming email), so no account can hold, and so squat, another's
// addresses. A taken email fails with an error wrapping
// audit.ErrEmailTaken: within the domain rule, only a user of the same
// account, or one created elsewhere before the rule, holds it.
func (a *App) CreateUser(ctx context.Context, p *Principal, c Client, in NewUser) (*audit.User, error) {
	if err := p.Authorize(audit.PermCreateUsers); err != nil {
		return nil, err
	}
	if in.AccountID != 0 && in.AccountID != p.AccountID {
		return nil, &audit.Error{Code: audit.EFORBIDDEN, Field: "account_id", Message: "Users can only be created in your own account."}
	}
	if in.Role == "" {
		return nil, audit.FieldError("role", "role is required: one of owner, admin, analyst, content_creator.")
	}
	u := &audit.User{
		AccountID: p.AccountID, Email: in.Email, FirstName: in.FirstName, LastName: in.LastName,
		Role: in.Role, IsActive: true,
	}
	u.Normalize()
	if err := u.Validate(""); err != nil {
		return nil, err
	}
	acct, err := a.store.Account(ctx, p.AccountID)
	if err != nil {
		return nil, err
	}
	if err := requireAtDomain("email", u.Email, acct.Domain, "your account's domain"); err != nil {
		return nil, err
	}
	if !p.User.Role.CanAssign(u.Role) {
		return nil, &audit.Error{Code: audit.EFORBIDDEN, Field: "role", Message: fmt.Sprintf("A user with role %s cannot create a user with role %s.", p.User.Role, u.Role)}
	}
	if err := a.passwordPolicy().Check("password", in.Password); err != nil {
		return nil, err
	}
	hash, err := a.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	u.PasswordHash = hash
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{userResource(u), audit.ActionUserCreated, fmt.Sprintf("Created user %s with role %s", u.Email, u.Role)})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Users returns every user of p's account.
func (a *App) Users(ctx context.Context, p *Principal) ([]*audit.User, error) {
	if err := p.Authorize(audit.PermViewUsers); err != nil {
		return nil, err
	}
	return a.store.Users(ctx, p.AccountID)
}

// UpdateUser changes the role and/or active state of the user id of p's
// account (ErrUserNotFound for any other). Rules: an admin never changes an
// owner nor grants owner; the account keeps at least one active owner.
// Deactivation ends the user's sessions and pending MFA sign-ins, and
// revokes the API keys they created, in the same transaction. Each change
// is recorded with its before and after values; a change that changes
// nothing records nothing.
func (a *App) UpdateUser(ctx context.Context, p *Principal, c Client, id int64, in UserChange) (*audit.User, error) {
	if err := p.Authorize(audit.PermManageUsers); err != nil {
		return nil, err
	}
	if in.Role == nil && in.IsActive == nil {
		return nil, audit.Errorf(audit.EINVALID, "Send role and/or is_active.")
	}
	if in.Role != nil && !in.Role.Valid() {
		return nil, audit.FieldError("role", "role must be one of owner, admin, analyst, content_creator.")
	}
	actor := p.User
	var target *audit.User
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		// Owners are locked first, then the target, in that order in every
		// transaction, so two concurrent changes queue instead of deadlocking.
		owners, err := tx.ActiveOwners(ctx, p.AccountID)
		if err != nil {
			return err
		}
		u, err := tx.UserForUpdate(ctx, p.AccountID, id)
		if err != nil {
			if audit.ErrorCode(err) == audit.ENOTFOUND {
				return ErrUserNotFound
			}
			return err
		}
		role, active := u.Role, u.IsActive
		if in.Role != nil {
			role = *in.Role
		}
		if in.IsActive != nil {
			active = *in.IsActive
		}
		switch {
		case actor.Role != audit.RoleOwner && u.Role == audit.RoleOwner:
			return errAdminTouchesOwner
		case role != u.Role && !actor.Role.CanAssign(role):
			return &audit.Error{Code: audit.EFORBIDDEN, Field: "role", Message: fmt.Sprintf("A user with role %s cannot grant the role %s.", actor.Role, role)}
		case u.Role == audit.RoleOwner && u.IsActive && (role != audit.RoleOwner || !active) &&
			len(owners) == 1 && slices.Contains(owners, u.ID):
			field := "role"
			if !active {
				field = "is_active"
			}
			return &audit.Error{Code: audit.ECONFLICT, Field: field, Message: "The account must keep at least one active owner: make another user owner first."}
		}
		var entries []dataEntry
		if role != u.Role {
			// The roles as data too: a search or an alert rule selects
			// the changes to a role (metadata.role:owner,admin).
			meta, err := json.Marshal(map[string]audit.Role{"role": role, "previous_role": u.Role})
			if err != nil {
				return err
			}
			entries = append(entries, dataEntry{entry{userResource(u), audit.ActionUserRoleChanged,
				fmt.Sprintf("Changed role of %s: role: %s → %s", u.Email, u.Role, role)}, meta})
		}
		if active != u.IsActive {
			action, verb := audit.ActionUserReactivated, "Reactivated"
			if !active {
				action, verb = audit.ActionUserDeactivated, "Deactivated"
			}
			entries = append(entries, dataEntry{entry: entry{userResource(u), action,
				fmt.Sprintf("%s user %s: is_active: %t → %t", verb, u.Email, u.IsActive, active)}})
		}
		u.Role, u.IsActive, target = role, active, u
		if len(entries) == 0 {
			return nil
		}
		if err := tx.UpdateUserAccess(ctx, u.AccountID, u.ID, role, active); err != nil {
			return err
		}
		if !active {
			// Everything the user could act with stops at once: sessions,
			// sign-ins waiting for their MFA code, and the API keys they made.
			sessions, err := tx.DeleteUserSessions(ctx, u.AccountID, u.ID)
			if err != nil {
				return err
			}
			keys, err := tx.RevokeUserAPIKeys(ctx, u.AccountID, u.ID)
			if err != nil {
				return err
			}
			entries[len(entries)-1].details += fmt.Sprintf("; %d session(s) ended, %d API key(s) revoked", sessions, keys)
		}
		return a.recordData(ctx, tx, p, c, entries...)
	})
	if err != nil {
		return nil, err
	}
	return target, nil
}
