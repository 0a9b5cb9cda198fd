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
		return &StatusError{Code: resp.StatusCode}
	}
	return nil
}

// StatusError is a destination's answer other than 2xx.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("the destination answered %d %s", e.Code, http.StatusText(e.Code))
}

// Describe says what went wrong with a delivery in words fit for the
// stream's owners (the API's last_error): what the destination answered,
// or how the connection failed, without this service's internals.
func Describe(err error, timeout time.Duration) string {
	var st *StatusError
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recordHeader tls.RecordHeaderError
	var opErr *net.OpError
	var refused *RefusedError
	var msg string
	switch {
	case errors.As(err, &st):
		msg = st.Error()
	case errors.As(err, &refused):
		msg = "the stream policy refused to connect: " + refused.Error() + "; streams deliver only to public addresses"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		msg = fmt.Sprintf("the destination did not answer within %s", timeout)
	case errors.As(err, &dns):
		msg = "the destination's host " + dns.Name + " does not resolve"
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid):
		msg = "the destination's TLS certificate is not valid: " + innermost(err)
	case errors.As(err, &recordHeader):
		msg = "the destination does not speak TLS"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		msg = "cannot connect to the destination: " + innermost(err)
	default:
		msg = "the delivery failed: " + innermost(err)
	}
	if len(msg) > audit.MaxStreamErrorLen {
		msg = msg[:audit.MaxStreamErrorLen]
	}
	return msg
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
