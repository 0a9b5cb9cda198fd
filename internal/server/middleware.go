package server

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
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
	h = securityHeaders(h)
	h = s.accessLog(h)
	return s.recoverPanics(h)
}

// contentSecurityPolicy allows a response to load nothing, run nothing, be
// framed by nobody and submit forms nowhere: right for JSON, and the
// strictest start for any page the service serves (docs/security.md).
const contentSecurityPolicy = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// hsts tells browsers to use HTTPS only for two years, sent on responses
// that went over TLS.
const hsts = "max-age=63072000; includeSubDomains"

// securityHeaders sets headers that keep browsers from sniffing, framing or
// caching API responses, and HSTS on connections over TLS.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "no-referrer")
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

// accessLog logs one line per request: never bodies, cookies or queries'
// values beyond the path, so no secret reaches the log.
func (s *Server) accessLog(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("ip", s.clientIP(r)),
		)
	})
}

// recoverPanics turns a panic in a handler into a logged 500.
func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()))
				s.writeError(w, r, errPanic)
			}
		}()
		h.ServeHTTP(w, r)
	})
}
