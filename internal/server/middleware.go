package server

import (
	"net/http"

	"github.com/auditlog/auditlog/internal/httpx"
)

// middleware wraps the router with what every request gets, outermost
// first: panic recovery, the access log, security headers, and refusal of
// cross-origin state-changing browser requests (CSRF). Requests without
// browser provenance headers, such as curl's, pass.
func (s *Server) middleware(h http.Handler) http.Handler {
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errCrossOrigin)
	}))
	h = csrf.Handler(h)
	h = httpx.SecurityHeaders(h, contentSecurityPolicy, "no-referrer")
	h = httpx.AccessLog(h, s.log, s.clientIP)
	return httpx.RecoverPanics(h, s.log, func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errPanic) })
}

// contentSecurityPolicy allows a response to load nothing, run nothing, be
// framed by nobody and submit forms nowhere: right for JSON, and the
// strictest start for any page the service serves (docs/security.md).
const contentSecurityPolicy = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
