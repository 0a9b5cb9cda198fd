// Package client is the Go SDK of auditlog: it records events through the
// ingest API, searches and exports an account's log, and verifies an
// export offline.
//
//	c, err := client.New("https://audit.example.com", os.Getenv("AUDITLOG_API_KEY"))
//	ev, err := c.Send(ctx, client.EventInput{Action: "order.refunded", ResourceType: "order", ResourceID: "1001"})
//
// Every request honours its context. Requests that fail with 429 or 503, or
// with a network error, are retried with exponential backoff and jitter,
// waiting at least as long as the server's Retry-After asks (see
// RetryPolicy). Events are sent with an event_id, generated when the caller
// gives none, so a retried request never records an event twice: the
// server answers a repeated event_id with the event it already holds.
//
// For a steady stream of events, a Batcher queues them in bounded memory
// and sends them in batches, by size and by time.
//
// The package talks to the service over HTTP only; it imports none of the
// service's code except package exportfile, the export format and its
// verifier, which the service itself uses (see VerifyExport).
package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client is a connection to one auditlog service with one API key. It is
// safe for concurrent use.
type Client struct {
	base      *url.URL
	key       string
	hc        *http.Client
	retry     RetryPolicy
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc (its
// transport, proxy and TLS settings). The default is a client with a
// 30-second timeout for requests that read JSON; exports are not bound
// by it (they are bound by their context).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithRetry sets how failed requests are retried.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// RetryPolicy says how a request that failed with 429 Too Many Requests,
// 503 Service Unavailable or a network error is retried. The wait before
// retry n (1, 2, …) is a random duration between 0 and
// min(MaxDelay, BaseDelay·2ⁿ⁻¹) ("full jitter"), but never shorter than the
// response's Retry-After. A Retry-After longer than MaxDelay is not waited
// for: the request fails at once with an *Error whose RetryAfter says how
// long the server asked for (a log whose recording an operator has
// stopped, for instance, asks for an hour).
type RetryPolicy struct {
	// MaxAttempts is how many times a request is sent in all; 1 turns
	// retries off. Zero means 5.
	MaxAttempts int
	// BaseDelay is the first backoff's ceiling. Zero means 200ms.
	BaseDelay time.Duration
	// MaxDelay bounds any one wait. Zero means 30s.
	MaxDelay time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	return p
}

// backoff returns the wait before retry n (1-based), without Retry-After.
func (p RetryPolicy) backoff(n int) time.Duration {
	ceiling := p.MaxDelay
	if n < 32 && p.BaseDelay<<(n-1) < ceiling && p.BaseDelay<<(n-1) > 0 {
		ceiling = p.BaseDelay << (n - 1)
	}
	return rand.N(ceiling + 1)
}

// New returns a client of the service at baseURL (such as
// "https://audit.example.com") that authenticates with the API key key.
func New(baseURL, key string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("auditlog client: base URL %q is not an http or https URL", baseURL)
	}
	c := &Client{base: u, key: key, hc: &http.Client{Timeout: 30 * time.Second}, userAgent: "auditlog-go-client/1"}
	for _, o := range opts {
		o(c)
	}
	c.retry = c.retry.withDefaults()
	return c, nil
}

// Error is an error response of the API.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the API's stable error code: "invalid", "unauthorized",
	// "forbidden", "not_found", "rate_limited", "unavailable", ….
	Code string `json:"code"`
	// Message is the API's message for people.
	Message string `json:"error"`
	// Field names the request field at fault, if any.
	Field string `json:"field"`
	// Problems lists every invalid event of an ingest request.
	Problems []Problem `json:"errors"`
	// RetryAfter is the response's Retry-After, if any.
	RetryAfter time.Duration
}

// Problem is one invalid field of one event of an ingest request.
type Problem struct {
	Index   int    `json:"index"` // the event's position in the batch
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error returns the status, code and message.
func (e *Error) Error() string {
	return fmt.Sprintf("auditlog: %d %s: %s", e.StatusCode, e.Code, e.Message)
}

// retryable reports whether a response with this status may be retried.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// request is one API request, which send may make several times.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	header       http.Header
	noTimeout    bool // a streamed response: the context bounds it, not the client's timeout
	// noNetworkRetry: a request that is not safe to repeat once the
	// server may have received it; only 429 and 503 answers are retried.
	noNetworkRetry bool
}

// send makes the request, retrying as the policy says, and returns the
// first response that is not retried. A response of status 400 or more is
// returned as an *Error, its body read and closed.
func (c *Client) send(ctx context.Context, rq request) (*http.Response, error) {
	u := *c.base
	u.Path += rq.path
	u.RawQuery = rq.query.Encode()
	hc := c.hc
	if rq.noTimeout && hc.Timeout != 0 {
		h := *hc
		h.Timeout = 0
		hc = &h
	}
	for attempt := 1; ; attempt++ {
		var body io.Reader
		if rq.body != nil {
			body = bytes.NewReader(rq.body)
		}
		req, err := http.NewRequestWithContext(ctx, rq.method, u.String(), body)
		if err != nil {
			return nil, err
		}
		for k, v := range rq.header {
			req.Header[k] = v
		}
		if rq.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("User-Agent", c.userAgent)
		resp, err := hc.Do(req)
		var wait time.Duration
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if attempt >= c.retry.MaxAttempts || rq.noNetworkRetry {
				return nil, err
			}
			wait = c.retry.backoff(attempt)
		case resp.StatusCode < 400:
			return resp, nil
		default:
			apiErr := readError(resp)
			if !retryable(resp.StatusCode) || attempt >= c.retry.MaxAttempts || apiErr.RetryAfter > c.retry.MaxDelay {
				return nil, apiErr
			}
			wait = max(c.retry.backoff(attempt), apiErr.RetryAfter)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// readError reads an error response's body and closes it.
func readError(resp *http.Response) *Error {
	defer resp.Body.Close()
	e := &Error{StatusCode: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(b, e) != nil || e.Code == "" {
		e.Code, e.Message = "http_"+strconv.Itoa(resp.StatusCode), http.StatusText(resp.StatusCode)
	}
	return e
}

// retryAfter parses a Retry-After value: seconds, or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// do makes a JSON request and decodes the response body into out.
func (c *Client) do(ctx context.Context, rq request, in, out any) (*http.Response, error) {
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		rq.body = b
	}
	resp, err := c.send(ctx, rq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return nil, fmt.Errorf("auditlog: %s %s: reading the response: %w", rq.method, rq.path, err)
		}
	}
	return resp, nil
}

// newEventID returns a random event_id: 128 random bits.
func newEventID() string { return "sdk-" + crand.Text() }

// errNoEvents is SendBatch's error for an empty batch.
var errNoEvents = errors.New("auditlog: a batch needs at least one event")
