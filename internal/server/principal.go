package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// sessionCookie is the cookie that carries the session token, as the seed's
// clients expect.
const sessionCookie = "session"

// touchEvery limits how often a session's last-use time is written: a busy
// client then costs one write a minute, not one per request. For idle
// timeouts under ten minutes the interval shrinks to a tenth of the timeout,
// so a session in use never idles out, and one left alone ends at most a
// tenth of its idle timeout early.
const touchEvery = time.Minute

// touchInterval returns how stale a session's recorded last use may get.
func touchInterval(idle time.Duration) time.Duration { return min(touchEvery, idle/10) }

// principal is the authenticated caller of a request: a signed-in user
// (User and Session) or a platform service holding an API key (APIKey).
type principal struct {
	AccountID int64
	User      *audit.User
	Session   *audit.Session
	APIKey    *audit.APIKey
	// MFAEnrolmentDue is set for an owner or admin without MFA in an
	// account that requires it: such a session may only use the routes
	// that need no permission (sign-out, MFA enrolment, password change).
	MFAEnrolmentDue bool
}

// setActor records the caller as the event's actor: the signed-in user, or
// the API key (by its prefix and name) when a service made the request.
func (p *principal) setActor(e *audit.Event) {
	if p.User != nil {
		e.SetUserActor(p.User)
		return
	}
	e.ActorType, e.ActorID, e.ActorName, e.APIKeyID = audit.ActorAPIKey, p.APIKey.Prefix, p.APIKey.Name, p.APIKey.ID
}

type principalKey struct{}

// principalFrom returns the caller that authenticate put in ctx.
func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

// authenticate finds the session named by the request's cookie and returns
// the request with the caller in its context. It fails with 401 when the
// cookie is missing or unknown, the session has expired (idle or absolute),
// or the user has been deactivated.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	if key, ok := bearerToken(r); ok {
		p, err := s.authenticateKey(r.Context(), key)
		if err != nil {
			return r, err
		}
		return r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return r, errUnauthorized
	}
	ctx := r.Context()
	hash := s.tokenHash(c.Value)
	sess, user, mfaEnabled, requireMFA, err := s.store.SessionPrincipal(ctx, hash)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		s.clearCookie(w)
		return r, errUnauthorized
	case err != nil:
		return r, err
	}
	now := s.now().UTC()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.SessionIdle || !user.IsActive {
		s.clearCookie(w)
		return r, errUnauthorized
	}
	if now.Sub(sess.LastSeenAt) >= touchInterval(s.cfg.SessionIdle) {
		if err := s.store.TouchSession(ctx, hash, now); err != nil {
			s.log.WarnContext(ctx, "could not record session use", "err", err)
		}
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if err := s.rateLimit(w, r, s.readLimit(sess)); err != nil {
			return r, err
		}
	}
	p := &principal{AccountID: user.AccountID, User: user, Session: sess, MFAEnrolmentDue: requireMFA && user.Role.MFARequired() && !mfaEnabled}
	return r.WithContext(context.WithValue(ctx, principalKey{}, p)), nil
}

// newToken returns a fresh session token: 256 random bits, base64url.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand documents it)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) setCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   int(s.cfg.SessionMaxAge / time.Second),
		HttpOnly: true,
		Secure:   s.cfg.CookieSecure,
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   s.cfg.CookieSecure,
		SameSite: http.SameSiteLaxMode,
	})
}
