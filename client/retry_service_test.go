package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/auditlog/auditlog/client"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ratelimit"
)

// TestRetryAgainstService checks the retries against the service's own
// answers, with nothing in between: its 429 when an API key's ingest
// bucket is empty, and its 503 when the group-commit writer takes no more
// events, each with the Retry-After the service sets.
func TestRetryAgainstService(t *testing.T) {
	serve := func(t *testing.T, adjust func(*config.Config)) (*testService, string) {
		svc, err := startService(t.TempDir(), adjust)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(svc.handler)
		t.Cleanup(func() { ts.Close(); svc.close() })
		return svc, ts.URL
	}

	t.Run("429", func(t *testing.T) {
		// One ingest request every 2 seconds per key.
		_, url := serve(t, func(cfg *config.Config) { cfg.RateLimitIngest = ratelimit.Rule{Limit: 1, Period: 2 * time.Second} })
		key, err := newAccountAt(url)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(url, key, client.WithRetry(client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Send(t.Context(), client.EventInput{Action: "order.paid"}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := c.Send(t.Context(), client.EventInput{Action: "order.paid"}); err != nil {
			t.Fatalf("Send after a 429: %v", err)
		}
		if d := time.Since(start); d < time.Second {
			t.Errorf("the second Send took %v: it did not wait for the 429's Retry-After", d)
		}
		// Without retries, the 429 itself, with its Retry-After.
		once, _ := client.New(url, key, client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
		_, err = once.Send(t.Context(), client.EventInput{Action: "order.paid"})
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "rate_limited" || apiErr.RetryAfter < time.Second {
			t.Errorf("a third Send at once: %v (%+v); want 429 rate_limited with Retry-After", err, apiErr)
		}
		n := 0
		for _, err := range c.Search(t.Context(), client.Query{Action: "order.paid"}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 2 {
			t.Errorf("%d events recorded; want 2", n)
		}
	})

	t.Run("503", func(t *testing.T) {
		svc, url := serve(t, nil)
		key, err := newAccountAt(url)
		if err != nil {
			t.Fatal(err)
		}
		svc.writer.Close() // the service answers every ingest with 503 and Retry-After: 1
		c, err := client.New(url, key, client.WithRetry(client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = c.SendBatch(t.Context(), []client.EventInput{{Action: "order.paid"}})
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Code != "unavailable" || apiErr.RetryAfter != time.Second {
			t.Fatalf("SendBatch to a saturated service: %v (%+v); want 503 unavailable with Retry-After: 1", err, apiErr)
		}
		// Three attempts, each retry at least a second after the last.
		if d := time.Since(start); d < 2*time.Second || d > 10*time.Second {
			t.Errorf("three attempts took %v; want 2s and a little more", d)
		}
		// A context that ends during the wait ends the call at once.
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		start = time.Now()
		if _, err := c.Send(ctx, client.EventInput{Action: "order.paid"}); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 900*time.Millisecond {
			t.Errorf("Send with a 300ms deadline: %v after %v", err, time.Since(start))
		}
	})
}
