package server

import (
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// login signs a user in with email and password. A wrong password, an
// unknown email and a deactivated user all get the same 401 after the same
// amount of hashing, so the response reveals nothing about which accounts
// exist. Failures for a known email are audited as login_failed. Attempts
// draw from the client IP's and the account's login buckets before any
// hashing (429 when either is empty). For a user with MFA the right password
// starts the second step (mfaVerify) instead of a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	email := audit.NormalizeEmail(req.Email)
	switch {
	case email == "":
		return audit.FieldError("email", "email is required.")
	case req.Password == "":
		return audit.FieldError("password", "password is required.")
	case utf8.RuneCountInString(email) > audit.MaxEmailLen:
		return audit.FieldError("email", "email must be at most %d characters.", audit.MaxEmailLen)
	case len(req.Password) > audit.MaxPasswordBytes:
		return audit.FieldError("password", "password must be at most %d bytes.", audit.MaxPasswordBytes)
	}
	if err := s.limitLogin(w, r, email); err != nil {
		return err
	}
	ctx := r.Context()
	user, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, audit.ErrNotFound) {
		return err
	}
	hash := ""
	if user != nil {
		hash = user.PasswordHash
	}
	ok, err := s.hasher.Verify(ctx, req.Password, hash)
	if err != nil {
		return err
	}
	ip, ua := s.clientIP(r), r.UserAgent()
	if user == nil {
		return errBadCredentials
	}
	if !ok || !user.IsActive {
		reason := "Failed login attempt: wrong password"
		if ok {
			reason = "Failed login attempt: user is deactivated"
		}
		err := s.store.Update(ctx, func(tx *sqlstore.Tx) error {
			return s.appendEvents(ctx, tx, &audit.Event{
				AccountID: user.AccountID, UserID: user.ID, ActorType: audit.ActorUser, ActorEmail: user.Email, ActorName: user.FullName(), Action: audit.ActionLoginFailed,
				ResourceType: audit.ResourceUser, ResourceID: strconv.FormatInt(user.ID, 10),
				Details: reason, IPAddress: ip, UserAgent: ua,
			})
		})
		if err != nil {
			return err
		}
		return errBadCredentials
	}
	if pending, err := s.secondFactor(w, r, user); pending || err != nil {
		return err
	}

	token := newToken()
	var old string
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		old = s.tokenHash(c.Value)
	}
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if old != "" {
			// A fresh token at every sign-in: whatever session the client
			// held before ends, so a planted cookie is worth nothing.
			if err := tx.DeleteSession(ctx, old); err != nil {
				return err
			}
		}
		if err := tx.CreateSession(ctx, &audit.Session{
			TokenHash: s.tokenHash(token), UserID: user.ID, AccountID: user.AccountID,
			ExpiresAt: tx.Now().Add(s.cfg.SessionMaxAge), IPAddress: ip, UserAgent: ua,
		}); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, &audit.Event{
			AccountID: user.AccountID, UserID: user.ID, ActorType: audit.ActorUser, ActorEmail: user.Email, ActorName: user.FullName(), Action: audit.ActionUserLogin,
			ResourceType: audit.ResourceUser, ResourceID: strconv.FormatInt(user.ID, 10),
			Details: "User logged in successfully", IPAddress: ip, UserAgent: ua,
		})
	})
	if err != nil {
		return err
	}
	s.setCookie(w, token)
	return writeJSON(w, http.StatusOK, map[string]any{"message": "Login successful", "user": userJSON(user)})
}

// logout ends the caller's session: the row is deleted, so a copy of the
// cookie stops working too.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := principalFrom(ctx)
	err := s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.DeleteSession(ctx, p.Session.TokenHash); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, &audit.Event{
			AccountID: p.User.AccountID, UserID: p.User.ID, ActorType: audit.ActorUser, ActorEmail: p.User.Email, ActorName: p.User.FullName(), Action: audit.ActionUserLogout,
			ResourceType: audit.ResourceUser, ResourceID: strconv.FormatInt(p.User.ID, 10),
			Details: "User logged out", IPAddress: s.clientIP(r), UserAgent: r.UserAgent(),
		})
	})
	if err != nil {
		return err
	}
	s.clearCookie(w)
	return writeJSON(w, http.StatusOK, map[string]string{"message": "Logout successful"})
}

// me returns the signed-in user.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"user": userJSON(principalFrom(r.Context()).User)})
}
