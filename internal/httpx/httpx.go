// Package httpx holds the HTTP pieces that every browser-facing surface
// must do the same way: the session cookie (its name, flags and lifetime)
// and the client's IP address behind trusted proxies. The JSON API
// (package server) and the console (package web) both use it, so a
// session started on one is the session of the other, and both record the
// same origin for a request.
package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/config"
)

// SessionCookie is the cookie that carries the session token, as the
// seed's clients expect.
const SessionCookie = "session"

// SessionToken returns the session cookie the request carries, or "".
func SessionToken(r *http.Request) string {
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// SetSessionCookie sets the session cookie to token: HttpOnly, SameSite
// Lax, Secure when the configuration says so, for the session's maximum
// age.
func SetSessionCookie(w http.ResponseWriter, cfg config.Config, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    token,
		Path:     "/",
		MaxAge:   int(cfg.SessionMaxAge / time.Second),
		HttpOnly: true,
		Secure:   cfg.CookieSecure,
		SameSite: http.SameSiteLaxMode,
	})
}

// ClearSessionCookie tells the browser to forget the session cookie.
func ClearSessionCookie(w http.ResponseWriter, cfg config.Config) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   cfg.CookieSecure,
		SameSite: http.SameSiteLaxMode,
	})
}

// ClientIP returns the address of the client that sent r. X-Forwarded-For
// is believed only when the connection comes from one of the trusted
// proxies, and then only as far as the chain of trusted proxies goes: the
// rightmost address that is not itself a trusted proxy is the client.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !isTrusted(trusted, peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop ends the chain we can believe
		}
		a = a.Unmap()
		if !isTrusted(trusted, a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func isTrusted(trusted []netip.Prefix, a netip.Addr) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
