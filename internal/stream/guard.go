package stream

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
)

// Policy says where streams may deliver. The zero value is the production
// policy: https:// only, and only to public addresses. Both are checked
// when a stream's URL is set (CheckURL) and again on every connection
// (Client), after DNS resolution, so that a name that resolves to a public
// address when it is checked and to a private one later (DNS rebinding)
// is still refused.
type Policy struct {
	// AllowHTTP lets streams deliver over plain http:// (for testing:
	// STREAMS_ALLOW_HTTP).
	AllowHTTP bool
	// AllowPrivate lets streams deliver to loopback, private, link-local
	// and other non-public addresses (for testing, or a SIEM on the
	// operator's own network: STREAMS_ALLOW_PRIVATE).
	AllowPrivate bool
}

// blocked lists the address ranges no stream may reach unless the policy
// allows private addresses, with the reason given.
var blocked = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a local address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "a reserved address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a reserved address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/128"), "a local address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a reserved address"},
	{netip.MustParsePrefix("fc00::/7"), "a private address"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a reserved address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// Refused says why the policy refuses an address; "" when it does not.
func (p Policy) Refused(ip netip.Addr) string {
	if p.AllowPrivate {
		return ""
	}
	ip = ip.Unmap()
	for _, b := range blocked {
		if b.prefix.Contains(ip) {
			return b.why
		}
	}
	return ""
}

// RefusedError is the error of a connection the policy refused.
type RefusedError struct {
	Addr netip.Addr
	Why  string // such as "a private address"
}

func (e *RefusedError) Error() string { return e.Addr.String() + " is " + e.Why }

// urlError is the error of a URL the policy refuses, for the request's
// url field.
func urlError(format string, args ...any) error { return audit.FieldError("url", format, args...) }

// CheckURL checks a stream's destination: an absolute https:// URL (or
// http:// when allowed) without credentials, whose host resolves only to
// addresses the policy allows. Every failure is an *audit.Error on the
// field url.
func (p Policy) CheckURL(ctx context.Context, raw string) error {
	if raw == "" {
		return urlError("url is required: the destination's https:// address.")
	}
	if utf8.RuneCountInString(raw) > audit.MaxStreamURLLen || !utf8.ValidString(raw) {
		return urlError("url must be at most %d characters.", audit.MaxStreamURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return urlError("url must be an absolute address such as https://siem.example.com/ingest.")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.AllowHTTP:
	case u.Scheme == "http":
		return urlError("url must use https://: streams never send events unencrypted.")
	default:
		return urlError("url must be an https:// address.")
	}
	if u.User != nil {
		return urlError("url must not hold credentials: give the destination's secret in secret.")
	}
	if u.Fragment != "" {
		return urlError("url must not have a fragment (#…).")
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := p.Refused(ip); why != "" {
			return urlError("url's host %s is %s: streams deliver only to public addresses.", host, why)
		}
		return nil
	}
	if p.AllowPrivate {
		return nil // it may resolve on the operator's network only when delivering
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(rctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return urlError("url's host %s does not resolve.", host)
	}
	for _, ip := range ips {
		if why := p.Refused(ip); why != "" {
			return urlError("url's host %s resolves to %s, %s: streams deliver only to public addresses.", host, ip.Unmap(), why)
		}
	}
	return nil
}

// control is the dialer's check of every address it connects to, after
// DNS resolution: the check that DNS rebinding cannot get around.
func (p Policy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("stream: cannot parse the address %q", address)
	}
	if why := p.Refused(ap.Addr()); why != "" {
		return &RefusedError{Addr: ap.Addr().Unmap(), Why: why}
	}
	return nil
}

// Client returns an HTTP client that connects only where the policy
// allows, checked on each connection; that uses no proxy from the
// environment (which would connect in its place); that follows no
// redirect (a 3xx is a failed delivery); and that gives up on a request
// after timeout.
func (p Policy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.control}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: timeout,
		},
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
