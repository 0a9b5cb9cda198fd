package server

import (
	"fmt"
	"net/http"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// passwordPolicy is the rule set new passwords must meet (NIST SP 800-63B):
// length, and unless the operator turned it off, the breached-password list.
func (s *Server) passwordPolicy() password.Policy {
	return password.Policy{CheckBreached: !s.cfg.AllowBreachedPasswords}
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword sets the caller's password after checking the current one.
// Every session of the user ends, the caller's too, and the caller gets a
// fresh session: a stolen cookie stops working the moment the password
// changes. Attempts draw from the account's login bucket, since a wrong
// current password is a guess like a failed login.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req changePasswordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.CurrentPassword == "":
		return audit.FieldError("current_password", "current_password is required.")
	case len(req.CurrentPassword) > audit.MaxPasswordBytes:
		return audit.FieldError("current_password", "current_password must be at most %d bytes.", audit.MaxPasswordBytes)
	}
	if err := s.passwordPolicy().Check("new_password", req.NewPassword); err != nil {
		return err
	}
	if req.NewPassword == req.CurrentPassword {
		return audit.FieldError("new_password", "new_password must differ from current_password.")
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	if err := s.rateLimit(w, r, s.accountLimit(p.User.Email)); err != nil {
		return err
	}
	if err := s.checkPassword(r, p.User, req.CurrentPassword, "current_password", "Failed password change: wrong current password"); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, req.NewPassword)
	if err != nil {
		return err
	}
	token := newToken()
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.SetPasswordHash(ctx, p.User.AccountID, p.User.ID, hash); err != nil {
			return err
		}
		n, err := tx.DeleteUserSessions(ctx, p.User.AccountID, p.User.ID)
		if err != nil {
			return err
		}
		if err := s.createSession(ctx, tx, r, p.User, token); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, s.userEvent(r, p.User, p.User, audit.ActionPasswordChanged,
			fmt.Sprintf("Password changed; %d other session(s) ended", max(n-1, 0))))
	})
	if err != nil {
		return err
	}
	s.setCookie(w, token)
	return writeJSON(w, http.StatusOK, map[string]string{"message": "Password changed successfully"})
}

// checkPassword verifies pw against u's password for a signed-in change
// (password, MFA set-up). A wrong password is recorded as login_failed with
// details and answered 403 naming field.
func (s *Server) checkPassword(r *http.Request, u *audit.User, pw, field, details string) error {
	ctx := r.Context()
	ok, err := s.hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		return s.appendEvents(ctx, tx, s.userEvent(r, u, u, audit.ActionLoginFailed, details))
	})
	if err != nil {
		return err
	}
	return &audit.Error{Code: audit.EFORBIDDEN, Field: field, Message: "The password is not correct."}
}
