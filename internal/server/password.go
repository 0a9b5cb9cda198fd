package server

import (
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
)

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword sets the caller's password (app.ChangePassword): every
// session of the user ends, and the caller gets a fresh session cookie.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req changePasswordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	token, err := s.app.ChangePassword(r.Context(), principalFrom(r.Context()), s.client(r),
		app.PasswordChange{Current: req.CurrentPassword, New: req.NewPassword})
	if err != nil {
		return err
	}
	s.setCookie(w, token)
	return writeJSON(w, http.StatusOK, map[string]string{"message": "Password changed successfully"})
}
