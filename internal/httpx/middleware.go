package httpx

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// HSTS tells browsers to use HTTPS only for two years; SecurityHeaders
// sends it on responses that went over TLS.
const HSTS = "max-age=63072000; includeSubDomains"

// SecurityHeaders sets the headers that keep browsers from sniffing,
// framing or caching a surface's responses, with the surface's own
// Content-Security-Policy and Referrer-Policy, and HSTS over TLS.
func SecurityHeaders(h http.Handler, csp, referrer string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", referrer)
		hdr.Set("Content-Security-Policy", csp)
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
		hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
		hdr.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			hdr.Set("Strict-Transport-Security", HSTS)
		}
		h.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status and size a handler wrote, for the
// access log.
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

// AccessLog logs one line per request, with attrs first (such as the
// surface's name): never bodies, cookies or query values, so no secret
// reaches the log. ip returns the client's address as recorded.
func AccessLog(h http.Handler, log *slog.Logger, ip func(*http.Request) string, attrs ...slog.Attr) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		log.LogAttrs(r.Context(), slog.LevelInfo, "request", append(attrs,
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("ip", ip(r)),
		)...)
	})
}

// RecoverPanics turns a panic in a handler into a logged failure that
// fail answers (a 500 in the surface's own form). http.ErrAbortHandler
// passes on, as net/http expects.
func RecoverPanics(h http.Handler, log *slog.Logger, fail func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()))
				fail(w, r)
			}
		}()
		h.ServeHTTP(w, r)
	})
}
