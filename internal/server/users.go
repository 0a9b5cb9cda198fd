package server

import (
	"errors"
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

type createUserRequest struct {
	Email     string `json:"email"`
	Password  string `json:"password"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Role      string `json:"role"`
	AccountID *int64 `json:"account_id"` // accepted only when it names the caller's account
}

// createUser adds a user to the caller's account (app.CreateUser).
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req createUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	in := app.NewUser{Email: req.Email, Password: req.Password, FirstName: req.FirstName, LastName: req.LastName, Role: audit.Role(req.Role)}
	if req.AccountID != nil {
		in.AccountID = *req.AccountID
		if in.AccountID == 0 {
			in.AccountID = -1 // names no account, as any other than the caller's
		}
	}
	u, err := s.app.CreateUser(r.Context(), principalFrom(r.Context()), s.client(r), in)
	switch {
	case errors.Is(err, audit.ErrEmailTaken):
		return conflictOn("email", err)
	case err != nil:
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"message": "User created successfully", "user": userJSON(u)})
}

// listUsers returns every user of the caller's account.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := s.app.Users(r.Context(), principalFrom(r.Context()))
	if err != nil {
		return err
	}
	out := make([]UserJSON, len(users))
	for i, u := range users {
		out[i] = userJSON(u)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"users": out})
}
