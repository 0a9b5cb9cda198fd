package server

import (
	"net/http"

	"github.com/auditlog/auditlog/internal/httpx"
)

// clientIP returns the address of the client that sent r, believing
// X-Forwarded-For only from the trusted proxies (httpx.ClientIP).
func (s *Server) clientIP(r *http.Request) string {
	return httpx.ClientIP(r, s.cfg.TrustedProxies)
}
