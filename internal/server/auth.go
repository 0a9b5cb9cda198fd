package server

import (
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// login signs a user in with email and password (app.Login): a session
// cookie, or for a user with MFA the token of the second step (mfaVerify).
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	res, err := s.app.Login(r.Context(), s.client(r), app.Credentials{Email: req.Email, Password: req.Password, OldToken: sessionToken(r)})
	if err != nil {
		return err
	}
	if res.MFAToken != "" {
		return writeJSON(w, http.StatusOK, map[string]any{
			"message":      "Password accepted. Send the code from your authenticator app (or a recovery code) with mfa_token to POST /api/auth/mfa/verify.",
			"mfa_required": true,
			"mfa_token":    res.MFAToken,
			"expires_in":   int(app.Seconds(res.MFAExpiresIn)),
		})
	}
	return s.signedInAs(w, res)
}

// signedInAs answers a completed sign-in: the session cookie and the user.
func (s *Server) signedInAs(w http.ResponseWriter, res *app.SignIn) error {
	s.setCookie(w, res.Token)
	return writeJSON(w, http.StatusOK, map[string]any{"message": "Login successful", "user": userJSON(res.User)})
}

// logout ends the caller's session (app.Logout) and clears the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.app.Logout(r.Context(), principalFrom(r.Context()), s.client(r)); err != nil {
		return err
	}
	s.clearCookie(w)
	return writeJSON(w, http.StatusOK, map[string]string{"message": "Logout successful"})
}

// me returns the signed-in user.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"user": userJSON(principalFrom(r.Context()).User)})
}
