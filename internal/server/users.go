package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

type createUserRequest struct {
	Email     string          `json:"email"`
	Password  string          `json:"password"`
	FirstName string          `json:"first_name"`
	LastName  string          `json:"last_name"`
	Role      string          `json:"role"`
	AccountID json.RawMessage `json:"account_id"` // accepted only when it names the caller's account
}

// createUser adds a user to the caller's account and records user_created
// in the same transaction. Owners may create any role; admins any role but
// owner. The new user always joins the caller's account.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req createUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p := principalFrom(r.Context())
	if len(req.AccountID) > 0 && string(req.AccountID) != "null" {
		var id int64
		if err := json.Unmarshal(req.AccountID, &id); err != nil {
			return audit.FieldError("account_id", "account_id must be a JSON number.")
		}
		if id != p.User.AccountID {
			return &audit.Error{Code: audit.EFORBIDDEN, Field: "account_id", Message: "Users can only be created in your own account."}
		}
	}
	if req.Role == "" {
		return audit.FieldError("role", "role is required: one of owner, admin, analyst, content_creator.")
	}
	u := &audit.User{
		AccountID: p.User.AccountID, Email: req.Email, FirstName: req.FirstName, LastName: req.LastName,
		Role: audit.Role(req.Role), IsActive: true,
	}
	u.Normalize()
	if err := u.Validate(""); err != nil {
		return err
	}
	if !p.User.Role.CanAssign(u.Role) {
		return &audit.Error{Code: audit.EFORBIDDEN, Field: "role", Message: fmt.Sprintf("A user with role %s cannot create a user with role %s.", p.User.Role, u.Role)}
	}
	if err := s.passwordPolicy().Check("password", req.Password); err != nil {
		return err
	}
	ctx := r.Context()
	hash, err := s.hasher.Hash(ctx, req.Password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateUser(ctx, u, "email"); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, &audit.Event{
			AccountID: u.AccountID, UserID: p.User.ID, ActorType: audit.ActorUser, ActorEmail: p.User.Email, ActorName: p.User.FullName(), Action: audit.ActionUserCreated,
			ResourceType: audit.ResourceUser, ResourceID: strconv.FormatInt(u.ID, 10),
			Details:   fmt.Sprintf("Created user %s with role %s", u.Email, u.Role),
			IPAddress: s.clientIP(r), UserAgent: r.UserAgent(),
		})
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"message": "User created successfully", "user": userJSON(u)})
}

// listUsers returns every user of the caller's account.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := s.store.Users(r.Context(), principalFrom(r.Context()).User.AccountID)
	if err != nil {
		return err
	}
	out := make([]UserJSON, len(users))
	for i, u := range users {
		out[i] = userJSON(u)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"users": out})
}
