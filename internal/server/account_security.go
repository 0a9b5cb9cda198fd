package server

import (
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
)

type accountSecurityRequest struct {
	RequireMFA *bool `json:"require_mfa"`
}

// getAccountSecurity returns the account's security settings.
func (s *Server) getAccountSecurity(w http.ResponseWriter, r *http.Request) error {
	id, err := accountID(r)
	if err != nil {
		return err
	}
	req, err := s.app.AccountSecurity(r.Context(), principalFrom(r.Context()), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"require_mfa": req})
}

// updateAccountSecurity sets whether the account requires MFA of its
// owners and admins (app.SetAccountSecurity).
func (s *Server) updateAccountSecurity(w http.ResponseWriter, r *http.Request) error {
	id, err := accountID(r)
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	if err := p.OwnAccount(id); err != nil {
		return err // before the body, as for GET
	}
	var req accountSecurityRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.app.SetAccountSecurity(r.Context(), p, s.client(r), id, app.SecurityChange{RequireMFA: req.RequireMFA}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": "Account security updated", "require_mfa": *req.RequireMFA})
}
