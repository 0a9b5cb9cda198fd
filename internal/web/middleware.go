package web

import (
	"log/slog"
	"net/http"

	"github.com/auditlog/auditlog/internal/httpx"
)

// contentSecurityPolicy lets a console page load scripts, styles, images
// and data from its own origin only: no inline script or style, no
// framing, forms posted only to the console.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// middleware wraps the pages with what every request gets, outermost
// first: panic recovery, the access log, security headers, and refusal of
// cross-origin form posts (CSRF), as the JSON API does; the session
// cookie is SameSite=Lax as well.
func (c *Console) middleware(h http.Handler) http.Handler {
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, errCrossOrigin)
	}))
	h = csrf.Handler(h)
	h = httpx.SecurityHeaders(h, contentSecurityPolicy, "same-origin")
	h = httpx.AccessLog(h, c.log, func(r *http.Request) string { return httpx.ClientIP(r, c.cfg.TrustedProxies) },
		slog.String("surface", "console"))
	return httpx.RecoverPanics(h, c.log, func(w http.ResponseWriter, r *http.Request) { c.fail(w, r, nil, errPanic) })
}
