package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/httpx"
)

// sessionCookie is the cookie that carries the session token; the console
// shares it (package httpx).
const sessionCookie = httpx.SessionCookie

type principalKey struct{}

// principalFrom returns the caller that authenticate put in ctx.
func principalFrom(ctx context.Context) *app.Principal {
	p, _ := ctx.Value(principalKey{}).(*app.Principal)
	return p
}

// client returns the request's origin, as the audit trail records it.
func (s *Server) client(r *http.Request) app.Client {
	return app.NewClient(s.clientIP(r), r.UserAgent())
}

// authenticate finds the caller, by the "Authorization: Bearer" API key or
// the session cookie, and returns the request with the caller in its
// context. It fails with 401 when there are no credentials or the app
// refuses them; a refused session cookie is cleared.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	ctx := r.Context()
	var p *app.Principal
	var err error
	if key, ok := bearerToken(r); ok {
		p, err = s.app.AuthenticateKey(ctx, key)
	} else {
		c, cerr := r.Cookie(sessionCookie)
		if cerr != nil || c.Value == "" {
			return r, app.ErrUnauthorized
		}
		p, err = s.app.AuthenticateSession(ctx, c.Value)
		if audit.ErrorCode(err) == audit.EUNAUTHORIZED {
			s.clearCookie(w)
		}
	}
	if err != nil {
		return r, err
	}
	return r.WithContext(context.WithValue(ctx, principalKey{}, p)), nil
}

// platformBearer returns the platform key of an "Authorization: Bearer
// plk_…" header.
func platformBearer(r *http.Request) (string, bool) {
	key, ok := bearerToken(r)
	return key, ok && strings.HasPrefix(key, "plk_")
}

// bearerToken returns the token of an "Authorization: Bearer …" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

// sessionToken returns the session cookie the request carries, or "".
func sessionToken(r *http.Request) string { return httpx.SessionToken(r) }

func (s *Server) setCookie(w http.ResponseWriter, token string) {
	httpx.SetSessionCookie(w, s.cfg, token)
}

func (s *Server) clearCookie(w http.ResponseWriter) { httpx.ClearSessionCookie(w, s.cfg) }
