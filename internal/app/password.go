package app

import (
	"context"
	"fmt"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// passwordPolicy is the rule set new passwords must meet (NIST SP 800-63B):
// length, and unless the operator turned it off, the breached-password list.
func (a *App) passwordPolicy() password.Policy {
	return password.Policy{CheckBreached: !a.cfg.AllowBreachedPasswords}
}

// PasswordChange is what changing one's password takes.
type PasswordChange struct {
	Current string
	New     string
}

// ChangePassword sets p's password after checking the current one, and
// returns the token of a fresh session. Every session of the user ends,
// the caller's too: a stolen cookie stops working the moment the password
// changes. Attempts draw from the account's login bucket, since a wrong
// current password is a guess like a failed sign-in, and are recorded as
// login_failed.
func (a *App) ChangePassword(ctx context.Context, p *Principal, c Client, in PasswordChange) (token string, err error) {
	if err := p.RequireUser(); err != nil {
		return "", err
	}
	switch {
	case in.Current == "":
		return "", audit.FieldError("current_password", "current_password is required.")
	case len(in.Current) > audit.MaxPasswordBytes:
		return "", audit.FieldError("current_password", "current_password must be at most %d bytes.", audit.MaxPasswordBytes)
	}
	if err := a.passwordPolicy().Check("new_password", in.New); err != nil {
		return "", err
	}
	if in.New == in.Current {
		return "", audit.FieldError("new_password", "new_password must differ from current_password.")
	}
	if err := a.limitOwnAttempt(ctx, p.User); err != nil {
		return "", err
	}
	if err := a.checkPassword(ctx, p, c, in.Current, "current_password", "Failed password change: wrong current password"); err != nil {
		return "", err
	}
	hash, err := a.hasher.Hash(ctx, in.New)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.SetPasswordHash(ctx, p.User.AccountID, p.User.ID, hash); err != nil {
			return err
		}
		n, err := tx.DeleteUserSessions(ctx, p.User.AccountID, p.User.ID)
		if err != nil {
			return err
		}
		if token, err = a.startSession(ctx, tx, p.User, c, ""); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{userResource(p.User), audit.ActionPasswordChanged,
			fmt.Sprintf("Password changed; %d other session(s) ended", max(n-1, 0))})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// checkPassword verifies pw against p's password for a signed-in change
// (password, MFA set-up). A wrong password is recorded as login_failed with
// details and fails with a forbidden error naming field.
func (a *App) checkPassword(ctx context.Context, p *Principal, c Client, pw, field, details string) error {
	ok, err := a.hasher.Verify(ctx, pw, p.User.PasswordHash)
	if err != nil {
		return fmt.Errorf("verify password: %w", err)
	}
	if ok {
		return nil
	}
	if err := a.recordNow(ctx, p, c, entry{userResource(p.User), audit.ActionLoginFailed, details}); err != nil {
		return err
	}
	return &audit.Error{Code: audit.EFORBIDDEN, Field: field, Message: "The password is not correct."}
}

// requirePassword checks that a password input of a re-authentication is
// present and within the length limit.
func requirePassword(field, pw string) error {
	switch {
	case pw == "":
		return audit.FieldError(field, "%s is required.", field)
	case len(pw) > audit.MaxPasswordBytes:
		return audit.FieldError(field, "%s must be at most %d bytes.", field, audit.MaxPasswordBytes)
	}
	return nil
}
