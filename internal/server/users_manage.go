package server

import (
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

type updateUserRequest struct {
	Role     *string `json:"role"`
	IsActive *bool   `json:"is_active"`
}

// updateUser changes a user's role and/or active state (app.UpdateUser:
// the role rules, the last-owner rule, and what deactivation ends).
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrUserNotFound)
	if err != nil {
		return err
	}
	var req updateUserRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	in := app.UserChange{IsActive: req.IsActive}
	if req.Role != nil {
		role := audit.Role(*req.Role)
		in.Role = &role
	}
	u, err := s.app.UpdateUser(r.Context(), principalFrom(r.Context()), s.client(r), id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": "User updated successfully", "user": userJSON(u)})
}
