package web

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/auditlog/auditlog/internal/httpx"
)

// contentSecurityPolicy lets a console page load scripts, styles, images
// and data from its own origin only: no inline script or style, no
// framing, forms posted only to the console.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// hsts tells browsers to use HTTPS only for two years, sent on responses
// that went over TLS.
const hsts = "max-age=63072000; includeSubDomains"

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
	h = securityHeaders(h)
	h = c.accessLog(h)
	return c.recoverPanics(h)
}

// securityHeaders sets the console's Content-Security-Policy and the
// headers that keep browsers from sniffing, framing or caching its pages.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
		hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
		hdr.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			hdr.Set("Strict-Transport-Security", hsts)
		}
		h.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (sr *statusRecorder) WriteHeader(code int) {
	if sr.status == 0 {
		sr.status = code
	}
	sr.ResponseWriter.WriteHeader(code)
}

func (sr *statusRecorder) Write(b []byte) (int, error) {
	if sr.status == 0 {
		sr.status = http.StatusOK
	}
	n, err := sr.ResponseWriter.Write(b)
	sr.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (sr *statusRecorder) Unwrap() http.ResponseWriter { return sr.ResponseWriter }

// accessLog logs one line per request, as the JSON API does: never
// bodies, cookies or query values.
func (c *Console) accessLog(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		c.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("surface", "console"),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("ip", httpx.ClientIP(r, c.cfg.TrustedProxies)),
		)
	})
}

// recoverPanics turns a panic in a handler into a logged 500 page.
func (c *Console) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				c.log.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()))
				c.fail(w, r, nil, errPanic)
			}
		}()
		h.ServeHTTP(w, r)
	})
}
