package stream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// Send delivers b to s with client, authenticated with secret. It returns
// nil when the destination answered 2xx; otherwise an error whose text is
// fit to show the stream's owners (Describe).
func Send(ctx context.Context, client *http.Client, s *audit.Stream, secret []byte, b *Batch, now time.Time) error {
	req, err := b.Request(ctx, s, secret, now)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 != 2 {
		st := &StatusError{Code: resp.StatusCode}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			st.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), now)
		}
		return st
	}
	return nil
}

// StatusError is a destination's answer other than 2xx.
type StatusError struct {
	Code int
	// RetryAfter is how long a 429 or 503 answer asked the sender to wait
	// (its Retry-After header), 0 when it did not say.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("the destination answered %d %s", e.Code, http.StatusText(e.Code))
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" and asked to retry after %s", e.RetryAfter.Round(time.Second))
	}
	return msg
}

// RetryAfter reads the value of a Retry-After header (RFC 9110 section
// 10.2.3) received at now: either a whole number of seconds or an HTTP
// date. It returns how long to wait from now, or 0 when v is empty,
// malformed, or names a time already past.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		// A wait beyond a year means "not soon"; the caller caps it.
		return time.Duration(min(n, 366*24*3600)) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return max(t.Sub(now), 0)
}

// Describe says what went wrong with a delivery in words fit for the
// stream's owners (the API's last_error): what the destination answered,
// or how the connection failed, without this service's internals.
func Describe(err error, timeout time.Duration) string {
	var msg string
	switch FailureClass(err) {
	case "http_429", "http_4xx", "http_5xx", "http_other":
		var st *StatusError
		errors.As(err, &st)
		msg = st.Error()
	case "refused":
		var refused *RefusedError
		errors.As(err, &refused)
		msg = "the stream policy refused to connect: " + refused.Error() + "; streams deliver only to public addresses"
	case "timeout":
		msg = fmt.Sprintf("the destination did not answer within %s", timeout)
	case "dns":
		var dns *net.DNSError
		errors.As(err, &dns)
		msg = "the destination's host " + dns.Name + " does not resolve"
	case "tls":
		var unknownCA x509.UnknownAuthorityError
		var hostname x509.HostnameError
		var invalid x509.CertificateInvalidError
		if errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) {
			msg = "the destination's TLS certificate is not valid: " + innermost(err)
		} else {
			msg = "the destination does not speak TLS"
		}
	case "connect":
		msg = "cannot connect to the destination: " + innermost(err)
	default:
		msg = "the delivery failed: " + innermost(err)
	}
	if len(msg) > audit.MaxStreamErrorLen {
		msg = msg[:audit.MaxStreamErrorLen]
	}
	return msg
}

// FailureClasses are the classes of failed deliveries (FailureClass), a
// bounded set for the operator's metrics.
var FailureClasses = []string{"http_429", "http_4xx", "http_5xx", "http_other", "timeout", "refused", "dns", "tls", "connect", "other"}

// FailureClass sorts a failed delivery's error into one of
// FailureClasses: the destination's answer (429 apart, as it asks to slow
// down), or how reaching it failed (refused is the stream policy's
// refusal).
func FailureClass(err error) string {
	var st *StatusError
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recordHeader tls.RecordHeaderError
	var opErr *net.OpError
	var refused *RefusedError
	switch {
	case errors.As(err, &st):
		switch {
		case st.Code == http.StatusTooManyRequests:
			return "http_429"
		case st.Code/100 == 4:
			return "http_4xx"
		case st.Code/100 == 5:
			return "http_5xx"
		}
		return "http_other"
	case errors.As(err, &refused):
		return "refused"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timeout"
	case errors.As(err, &dns):
		return "dns"
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &recordHeader):
		return "tls"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "connect"
	}
	return "other"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// innermost is the text of the deepest error in err's chain (the
// syscall's or the library's own words, without the addresses around).
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
