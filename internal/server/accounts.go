package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/go-json-experiment/json/jsontext"
)

type createAccountRequest struct {
	Name           string `json:"name"`
	Domain         string `json:"domain"`
	OwnerEmail     string `json:"owner_email"`
	OwnerPassword  string `json:"owner_password"`
	OwnerFirstName string `json:"owner_first_name"`
	OwnerLastName  string `json:"owner_last_name"`
}

// createAccount is public sign-up (app.SignUp): an account and its owner.
// When the operator has turned sign-up off, every request gets the same
// 403, whatever its body.
func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) error {
	if err := s.app.SignUpOpen(); err != nil {
		return err
	}
	var req createAccountRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	acct, owner, err := s.app.SignUp(r.Context(), s.client(r), app.NewAccount{
		Name: req.Name, Domain: req.Domain, OwnerEmail: req.OwnerEmail, OwnerPassword: req.OwnerPassword,
		OwnerFirstName: req.OwnerFirstName, OwnerLastName: req.OwnerLastName,
	})
	switch {
	case errors.Is(err, audit.ErrDomainTaken):
		return conflictOn("domain", err)
	case err != nil:
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"message": "Account created successfully",
		"account": accountJSON(acct),
		"user":    userJSON(owner),
	})
}

// conflictOn names the request field at fault for a conflict the store
// found (a taken email or domain), keeping its message.
func conflictOn(field string, err error) error {
	return &audit.Error{Code: audit.ECONFLICT, Field: field, Message: audit.ErrorMessage(err), Err: err}
}

// accountID reads the {id} of the path; one that is not a number names no
// account.
func accountID(r *http.Request) (int64, error) {
	return pathID(r, app.ErrAccountNotFound)
}

// getAccount returns the caller's own account. Any other ID, existing or
// not, is 404: the response never reveals whether another account exists.
func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	id, err := accountID(r)
	if err != nil {
		return err
	}
	acct, err := s.app.Account(r.Context(), principalFrom(r.Context()), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, accountJSON(acct))
}

type updateAccountRequest struct {
	RetentionDays    jsontext.Value `json:"retention_days"`
	RetentionDefault *bool          `json:"retention_default"`
}

// updateAccount changes the account's settings: its retention period
// (app.SetRetention), a whole number of days, 0 or null for forever, or
// retention_default: true for the operator's default.
func (s *Server) updateAccount(w http.ResponseWriter, r *http.Request) error {
	id, err := accountID(r)
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	if err := p.OwnAccount(id); err != nil {
		return err // before the body, as for GET
	}
	var req updateAccountRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var days *int
	useDefault := req.RetentionDefault != nil && *req.RetentionDefault
	switch raw := strings.TrimSpace(string(req.RetentionDays)); {
	case useDefault && raw != "":
		return audit.FieldError("retention_default", "Send retention_days (a period of the account's own) or retention_default: true (the service's default), not both.")
	case useDefault:
	case raw == "":
		return audit.FieldError("retention_days", "retention_days is required: a number of days, 0 or null to keep events forever, or retention_default: true for the service's default.")
	case raw == "null":
	default:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return audit.FieldError("retention_days", "retention_days must be a whole number of days, or 0 or null to keep events forever.")
		}
		days = &n
	}
	acct, err := s.app.SetRetention(r.Context(), p, s.client(r), id, app.RetentionChange{Days: days, Default: useDefault})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": "Account updated", "account": accountJSON(acct)})
}
