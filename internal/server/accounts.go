package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

type createAccountRequest struct {
	Name           string `json:"name"`
	Domain         string `json:"domain"`
	OwnerEmail     string `json:"owner_email"`
	OwnerPassword  string `json:"owner_password"`
	OwnerFirstName string `json:"owner_first_name"`
	OwnerLastName  string `json:"owner_last_name"`
}

// createAccount creates an account and its owner, and records
// account_created and user_created, all in one transaction.
func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) error {
	var req createAccountRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	acct := &audit.Account{Name: req.Name, Domain: req.Domain}
	acct.Normalize()
	if err := acct.Validate(); err != nil {
		return err
	}
	owner := &audit.User{
		Email: req.OwnerEmail, FirstName: req.OwnerFirstName, LastName: req.OwnerLastName,
		Role: audit.RoleOwner, IsActive: true,
	}
	owner.Normalize()
	if err := owner.Validate("owner_"); err != nil {
		return err
	}
	if err := s.passwordPolicy().Check("owner_password", req.OwnerPassword); err != nil {
		return err
	}
	ctx := r.Context()
	hash, err := s.hasher.Hash(ctx, req.OwnerPassword)
	if err != nil {
		return err
	}
	owner.PasswordHash = hash
	ip, ua := s.clientIP(r), r.UserAgent()
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		owner.AccountID = acct.ID
		if err := tx.CreateUser(ctx, owner, "owner_email"); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx,
			&audit.Event{
				AccountID: acct.ID, UserID: owner.ID, ActorType: audit.ActorUser, ActorEmail: owner.Email, ActorName: owner.FullName(), Action: audit.ActionAccountCreated,
				ResourceType: audit.ResourceAccount, ResourceID: strconv.FormatInt(acct.ID, 10),
				Details: fmt.Sprintf("Account %q created for domain %s", acct.Name, acct.Domain), IPAddress: ip, UserAgent: ua,
			},
			&audit.Event{
				AccountID: acct.ID, UserID: owner.ID, ActorType: audit.ActorUser, ActorEmail: owner.Email, ActorName: owner.FullName(), Action: audit.ActionUserCreated,
				ResourceType: audit.ResourceUser, ResourceID: strconv.FormatInt(owner.ID, 10),
				Details: fmt.Sprintf("Created user %s with role %s", owner.Email, owner.Role), IPAddress: ip, UserAgent: ua,
			})
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"message": "Account created successfully",
		"account": accountJSON(acct),
		"user":    userJSON(owner),
	})
}

// getAccount returns the caller's own account. Any other ID, existing or
// not, is 404: the response never reveals whether another account exists.
func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id != p.User.AccountID {
		return audit.Errorf(audit.ENOTFOUND, "Account not found.")
	}
	acct, err := s.store.Account(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, accountJSON(acct))
}
