package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

type accountSecurityRequest struct {
	RequireMFA *bool `json:"require_mfa"`
}

// ownAccountID returns the {id} of the path when it is the caller's
// account; any other value is 404, as for GET /api/accounts/{id}.
func ownAccountID(r *http.Request) (int64, error) {
	p := principalFrom(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id != p.User.AccountID {
		return 0, audit.Errorf(audit.ENOTFOUND, "Account not found.")
	}
	return id, nil
}

// getAccountSecurity returns the account's security settings.
func (s *Server) getAccountSecurity(w http.ResponseWriter, r *http.Request) error {
	id, err := ownAccountID(r)
	if err != nil {
		return err
	}
	req, err := s.store.RequireMFA(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"require_mfa": req})
}

// updateAccountSecurity lets an owner require MFA of the account's owners
// and admins. From then on, an owner or admin without MFA may sign in but
// gets 403 mfa_required from every endpoint that needs a permission until
// they enrol, and nobody in those roles can turn MFA off.
func (s *Server) updateAccountSecurity(w http.ResponseWriter, r *http.Request) error {
	id, err := ownAccountID(r)
	if err != nil {
		return err
	}
	var req accountSecurityRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.RequireMFA == nil {
		return audit.FieldError("require_mfa", "require_mfa is required: true or false.")
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		before, err := tx.SetRequireMFA(ctx, id, *req.RequireMFA)
		if err != nil || before == *req.RequireMFA {
			return err
		}
		e := &audit.Event{
			AccountID: id, Action: audit.ActionAccountMFAPolicy,
			ResourceType: audit.ResourceAccount, ResourceID: strconv.FormatInt(id, 10),
			Details:   fmt.Sprintf("MFA for owners and admins: require_mfa: %t → %t", before, *req.RequireMFA),
			IPAddress: s.clientIP(r), UserAgent: r.UserAgent(),
		}
		e.SetUserActor(p.User)
		return s.appendEvents(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": "Account security updated", "require_mfa": *req.RequireMFA})
}
