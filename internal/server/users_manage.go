package server

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

type updateUserRequest struct {
	Role     *string `json:"role"`
	IsActive *bool   `json:"is_active"`
}

// Errors of user management.
var (
	errAdminTouchesOwner = &audit.Error{Code: audit.EFORBIDDEN, Message: "Admins cannot change an owner."}
	errUserNotFound      = audit.Errorf(audit.ENOTFOUND, "User not found.")
)

// updateUser changes a user's role and/or active state. Rules: the user must
// be in the caller's account (404 otherwise); an admin never changes an
// owner nor grants owner; the account keeps at least one active owner.
// Deactivation ends the user's sessions and pending logins, and revokes the
// API keys they created, in the same transaction. Each change is recorded with its before and after values.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := principalFrom(ctx)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errUserNotFound
	}
	var req updateUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Role == nil && req.IsActive == nil {
		return audit.Errorf(audit.EINVALID, "Send role and/or is_active.")
	}
	if req.Role != nil && !audit.Role(*req.Role).Valid() {
		return audit.FieldError("role", "role must be one of owner, admin, analyst, content_creator.")
	}
	actor := p.User
	var target *audit.User
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		// Owners are locked first, then the target, in that order in every
		// transaction, so two concurrent changes queue instead of deadlocking.
		owners, err := tx.ActiveOwners(ctx, actor.AccountID)
		if err != nil {
			return err
		}
		u, err := tx.UserForUpdate(ctx, actor.AccountID, id)
		if err != nil {
			if audit.ErrorCode(err) == audit.ENOTFOUND {
				return errUserNotFound
			}
			return err
		}
		role, active := u.Role, u.IsActive
		if req.Role != nil {
			role = audit.Role(*req.Role)
		}
		if req.IsActive != nil {
			active = *req.IsActive
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
		var events []*audit.Event
		if role != u.Role {
			events = append(events, s.userEvent(r, actor, u, audit.ActionUserRoleChanged,
				fmt.Sprintf("Changed role of %s: role: %s → %s", u.Email, u.Role, role)))
		}
		if active != u.IsActive {
			action, verb := audit.ActionUserReactivated, "Reactivated"
			if !active {
				action, verb = audit.ActionUserDeactivated, "Deactivated"
			}
			events = append(events, s.userEvent(r, actor, u, action,
				fmt.Sprintf("%s user %s: is_active: %t → %t", verb, u.Email, u.IsActive, active)))
		}
		u.Role, u.IsActive, target = role, active, u
		if len(events) == 0 {
			return nil
		}
		if err := tx.UpdateUserAccess(ctx, u.AccountID, u.ID, role, active); err != nil {
			return err
		}
		if !active {
			// Everything the user could act with stops at once: sessions,
			// logins waiting for their MFA code, and the API keys they made.
			sessions, err := tx.DeleteUserSessions(ctx, u.AccountID, u.ID)
			if err != nil {
				return err
			}
			keys, err := tx.RevokeUserAPIKeys(ctx, u.AccountID, u.ID)
			if err != nil {
				return err
			}
			last := events[len(events)-1]
			last.Details += fmt.Sprintf("; %d session(s) ended, %d API key(s) revoked", sessions, keys)
		}
		return s.appendEvents(ctx, tx, events...)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": "User updated successfully", "user": userJSON(target)})
}
