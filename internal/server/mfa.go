package server

import (
	"encoding/base64"
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

type mfaSetupRequest struct {
	Password string `json:"password"`
}

type mfaCodeRequest struct {
	Code string `json:"code"`
}

type mfaVerifyRequest struct {
	MFAToken string `json:"mfa_token"`
	Code     string `json:"code"`
}

// mfaSetup starts TOTP enrolment for the caller (app.StartMFASetup) and
// returns the secret, its otpauth URI and a QR code of the URI.
func (s *Server) mfaSetup(w http.ResponseWriter, r *http.Request) error {
	var req mfaSetupRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	setup, err := s.app.StartMFASetup(r.Context(), principalFrom(r.Context()), s.client(r), req.Password)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"message":     "Scan the QR code (or type the secret) into an authenticator app, then confirm with its current code at POST /api/auth/mfa/confirm.",
		"secret":      setup.Secret,
		"otpauth_uri": setup.URI,
		"qr_code":     "data:image/png;base64," + base64.StdEncoding.EncodeToString(setup.QRCodePNG),
	})
}

// mfaConfirm turns the caller's pending enrolment on (app.ConfirmMFA) and
// returns the recovery codes, shown only now.
func (s *Server) mfaConfirm(w http.ResponseWriter, r *http.Request) error {
	var req mfaCodeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	codes, err := s.app.ConfirmMFA(r.Context(), principalFrom(r.Context()), s.client(r), req.Code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"message":        "MFA is enabled. Keep the recovery codes somewhere safe: each works once, and they are not shown again.",
		"recovery_codes": codes,
	})
}

// mfaDisable turns the caller's MFA off (app.DisableMFA).
func (s *Server) mfaDisable(w http.ResponseWriter, r *http.Request) error {
	var req mfaCodeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.app.DisableMFA(r.Context(), principalFrom(r.Context()), s.client(r), req.Code); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"message": "MFA is disabled."})
}

// mfaVerify is the second step of an MFA sign-in (app.VerifyMFA): the
// pending sign-in's token and a code; on success, the session cookie.
func (s *Server) mfaVerify(w http.ResponseWriter, r *http.Request) error {
	var req mfaVerifyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.MFAToken == "" {
		return audit.FieldError("mfa_token", "mfa_token is required: it is returned by POST /api/auth/login.")
	}
	res, err := s.app.VerifyMFA(r.Context(), s.client(r), app.MFAVerification{Token: req.MFAToken, Code: req.Code, OldToken: sessionToken(r)})
	if err != nil {
		return err
	}
	return s.signedInAs(w, res)
}
