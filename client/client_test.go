package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog/client"
	"github.com/auditlog/auditlog/exportfile"
)

// fast is a retry policy with short waits, for tests.
var fast = client.RetryPolicy{MaxAttempts: 5, BaseDelay: 5 * time.Millisecond, MaxDelay: 2 * time.Second}

func newClient(t *testing.T, key string) *client.Client {
	t.Helper()
	c, err := client.New(serverURL, key, client.WithRetry(fast))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// all collects what Search yields.
func all(t *testing.T, c *client.Client, q client.Query) []client.Event {
	t.Helper()
	var out []client.Event
	for ev, err := range c.Search(t.Context(), q) {
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		out = append(out, ev)
	}
	return out
}

func TestNew(t *testing.T) {
	for _, u := range []string{"", "audit.example.com", "ftp://x", "http://"} {
		if _, err := client.New(u, "k"); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
}

func TestSendAndSearch(t *testing.T) {
	c := newClient(t, mustAccount(t))
	ctx := t.Context()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	ev, err := c.Send(ctx, client.EventInput{
		Action: "order.refunded", ResourceType: "order", ResourceID: "1001", Outcome: "success", OccurredAt: at,
		Actor:    &client.ActorInput{ID: "cust_7", Name: "Ann", Email: "ann@example.net", Type: "customer"},
		Metadata: map[string]any{"amount": 20}, Changes: []client.Change{{Field: "status", Old: "paid", New: "refunded"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Action != "order.refunded" || ev.ResourceID != "1001" || !ev.OccurredAt.Equal(at) || ev.Actor.ID != "cust_7" ||
		!strings.HasPrefix(ev.EventID, "sdk-") || ev.LeafHash == "" || string(ev.Metadata) != `{"amount":20}` {
		t.Errorf("Send returned %+v", ev)
	}
	// The same event_id again records nothing and returns the first.
	again, err := c.Send(ctx, client.EventInput{EventID: ev.EventID, Action: "order.refunded"})
	if err != nil || again.ID != ev.ID {
		t.Errorf("Send again: %+v, %v; want event %d", again, err, ev.ID)
	}

	// 250 events in three batches: Search reads them back over pages.
	want := map[string]bool{}
	for b := range 3 {
		var evs []client.EventInput
		for i := range 100 {
			if n := b*100 + i; n < 250 {
				evs = append(evs, client.EventInput{Action: "product.updated", ResourceID: strconv.Itoa(n)})
			}
		}
		res, err := c.SendBatch(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		if res.Created != len(evs) || len(res.Items) != len(evs) {
			t.Fatalf("SendBatch: %+v", res)
		}
		for _, it := range res.Items {
			want[it.EventID] = true
		}
	}
	got := all(t, c, client.Query{Action: "product.updated"})
	if len(got) != 250 {
		t.Fatalf("Search found %d events; want 250", len(got))
	}
	for i, ev := range got {
		if !want[ev.EventID] {
			t.Errorf("event %s found twice or not sent", ev.EventID)
		}
		delete(want, ev.EventID)
		if i > 0 && ev.Seq >= got[i-1].Seq {
			t.Errorf("not newest first at %d: seq %d after %d", i, ev.Seq, got[i-1].Seq)
		}
	}
	if n := len(all(t, c, client.Query{Q: "actor:cust_7"})); n != 1 {
		t.Errorf("Search q=actor:cust_7: %d events; want 1", n)
	}
	// Stopping early stops reading.
	n := 0
	for range c.Search(ctx, client.Query{}) {
		if n++; n == 3 {
			break
		}
	}

	// Errors are the API's.
	_, err = c.Send(ctx, client.EventInput{Action: "Not An Action"})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "invalid" || apiErr.Field != "action" {
		t.Errorf("invalid event: %v", err)
	}
	_, err = c.SendBatch(ctx, []client.EventInput{{Action: "ok.one"}, {Action: "BAD"}})
	if !errors.As(err, &apiErr) || len(apiErr.Problems) != 1 || apiErr.Problems[0].Index != 1 {
		t.Errorf("invalid batch: %v (%+v)", err, apiErr)
	}
	for ev, err := range newClient(t, "not-a-key").Search(ctx, client.Query{}) {
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
			t.Errorf("Search with a bad key: %+v, %v", ev, err)
		}
	}
}

// TestRetryNeverDuplicates puts the service behind a proxy that fails
// requests in the ways networks and loaded servers do — 503 before the
// service sees the request, the service's answer lost after it recorded the
// events, the connection cut — and checks that every event is recorded
// exactly once, and that Retry-After is honoured.
func TestRetryNeverDuplicates(t *testing.T) {
	key := mustAccount(t)
	c := newClient(t, key)
	var calls atomic.Int64
	var mu sync.Mutex
	var waits []time.Duration
	last := time.Now()
	serveThrough(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" {
			apiHandler.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		waits = append(waits, time.Since(last))
		last = time.Now()
		mu.Unlock()
		switch calls.Add(1) % 4 {
		case 1: // unavailable before recording
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":"busy","code":"unavailable"}`)
		case 2: // recorded, but the answer is lost
			apiHandler.ServeHTTP(discard{}, r)
			w.WriteHeader(http.StatusServiceUnavailable)
		case 3: // recorded, and the connection drops
			apiHandler.ServeHTTP(discard{}, r)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			apiHandler.ServeHTTP(w, r)
		}
	}))
	start := time.Now()
	ev, err := c.Send(t.Context(), client.EventInput{Action: "order.paid"})
	if err != nil {
		t.Fatalf("Send through failures: %v", err)
	}
	if calls.Load() != 4 {
		t.Errorf("%d attempts; want 4", calls.Load())
	}
	if waits[1] < time.Second {
		t.Errorf("retried %v after a 503 with Retry-After: 1", waits[1])
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Send took %v", time.Since(start))
	}
	res, err := c.SendBatch(t.Context(), []client.EventInput{{Action: "order.paid"}, {Action: "order.paid"}})
	if err != nil {
		t.Fatalf("SendBatch through failures: %v", err)
	}
	if res.Created+res.Replayed != 2 {
		t.Errorf("SendBatch: %+v", res)
	}
	serveThrough(t, apiHandler)
	got := all(t, c, client.Query{Action: "order.paid"})
	if len(got) != 3 {
		t.Errorf("%d order.paid events recorded; want 3 (each once)", len(got))
	}
	if got[len(got)-1].EventID != ev.EventID {
		t.Errorf("first event %s; want %s", got[len(got)-1].EventID, ev.EventID)
	}
}

// discard is a ResponseWriter whose answer nobody reads.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

func TestRetryLimits(t *testing.T) {
	c := newClient(t, mustAccount(t))
	var calls atomic.Int64
	status, after := http.StatusTooManyRequests, "3600"
	serveThrough(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", after)
		w.WriteHeader(status)
		io.WriteString(w, `{"error":"slow down","code":"rate_limited"}`)
	}))
	// A Retry-After beyond MaxDelay is not waited for.
	_, err := c.Send(t.Context(), client.EventInput{Action: "a.b"})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Code != "rate_limited" || apiErr.RetryAfter != time.Hour || calls.Load() != 1 {
		t.Errorf("Retry-After: 3600: %v after %d calls", err, calls.Load())
	}
	// Attempts are bounded.
	calls.Store(0)
	status, after = http.StatusServiceUnavailable, "0"
	if _, err = c.Send(t.Context(), client.EventInput{Action: "a.b"}); !errors.As(err, &apiErr) || calls.Load() != 5 {
		t.Errorf("always 503: %v after %d calls; want 5", err, calls.Load())
	}
	// Other errors are not retried.
	calls.Store(0)
	status = http.StatusBadRequest
	if _, err = c.Send(t.Context(), client.EventInput{Action: "a.b"}); err == nil || calls.Load() != 1 {
		t.Errorf("400: %v after %d calls; want 1", err, calls.Load())
	}
	// Cancellation ends a wait at once.
	status, after = http.StatusServiceUnavailable, "2"
	slow, _ := client.New(serverURL, "k", client.WithRetry(client.RetryPolicy{MaxDelay: time.Minute}))
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err = slow.Send(ctx, client.EventInput{Action: "a.b"}); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("cancelled during a wait: %v after %v", err, time.Since(start))
	}
}

// TestBatcherUnderLoad adds events from many goroutines at once through a
// small queue and checks that every event is recorded exactly once, that
// no request carries more than MaxBatch events, and that the queue never
// holds more than QueueSize.
func TestBatcherUnderLoad(t *testing.T) {
	c := newClient(t, mustAccount(t))
	const goroutines, each, maxBatch = 20, 100, 64
	var requests, biggest atomic.Int64
	serveThrough(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/audit-logs/batch" {
			requests.Add(1)
			body, _ := io.ReadAll(r.Body)
			n := int64(bytes.Count(body, []byte(`"action"`)))
			for {
				if b := biggest.Load(); n <= b || biggest.CompareAndSwap(b, n) {
					break
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		apiHandler.ServeHTTP(w, r)
	}))
	b := c.NewBatcher(client.BatcherOptions{MaxBatch: maxBatch, FlushInterval: 20 * time.Millisecond, QueueSize: 100})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				ev := client.EventInput{Action: "cart.updated", ResourceID: fmt.Sprintf("%d-%d", g, i)}
				if err := b.Add(t.Context(), ev); err != nil {
					t.Errorf("Add: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := b.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Add(t.Context(), client.EventInput{Action: "cart.updated"}); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	serveThrough(t, apiHandler)
	seen := map[string]int{}
	for _, ev := range all(t, c, client.Query{Action: "cart.updated"}) {
		seen[ev.ResourceID]++
	}
	for g := range goroutines {
		for i := range each {
			if n := seen[fmt.Sprintf("%d-%d", g, i)]; n != 1 {
				t.Errorf("event %d-%d recorded %d times", g, i, n)
			}
		}
	}
	if biggest.Load() > maxBatch {
		t.Errorf("a request carried %d events; MaxBatch is %d", biggest.Load(), maxBatch)
	}
	t.Logf("%d events in %d requests", goroutines*each, requests.Load())
}

// TestBatcherFull checks the two answers to a full queue, while the
// service does not answer.
func TestBatcherFull(t *testing.T) {
	c := newClient(t, mustAccount(t))
	release := make(chan struct{})
	serveThrough(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		apiHandler.ServeHTTP(w, r)
	}))
	for _, noBlock := range []bool{true, false} {
		b := c.NewBatcher(client.BatcherOptions{MaxBatch: 2, QueueSize: 3, FlushInterval: time.Millisecond, NoBlock: noBlock})
		// Two events in flight (held by the service), three queued.
		var err error
		for i := 0; i < 100 && err == nil; i++ {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			err = b.Add(ctx, client.EventInput{Action: "stock.changed", ResourceID: strconv.FormatBool(noBlock) + strconv.Itoa(i)})
			cancel()
		}
		switch {
		case noBlock && !errors.Is(err, client.ErrQueueFull):
			t.Errorf("NoBlock: %v; want ErrQueueFull", err)
		case !noBlock && !errors.Is(err, context.DeadlineExceeded):
			t.Errorf("blocking: %v; want the context's deadline", err)
		}
		// Closing with a deadline gives up on what is held.
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		if err := b.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close while the service hangs: %v", err)
		}
		cancel()
	}
	close(release)
}

func TestBatcherFlushAndErrors(t *testing.T) {
	c := newClient(t, mustAccount(t))
	var failed []client.EventInput
	b := c.NewBatcher(client.BatcherOptions{FlushInterval: time.Hour, OnError: func(evs []client.EventInput, err error) { failed = append(failed, evs...) }})
	b.Add(t.Context(), client.EventInput{Action: "a.good"})
	b.Add(t.Context(), client.EventInput{Action: "NOT GOOD"})
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(failed) != 2 { // the batch is atomic: both are refused
		t.Errorf("OnError got %d events; want 2", len(failed))
	}
	b.Add(t.Context(), client.EventInput{Action: "a.good"})
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(all(t, c, client.Query{Action: "a.good"})); n != 1 {
		t.Errorf("%d events after Flush; want 1", n)
	}
	b.Close(t.Context())

	// Without OnError, Flush and Close report the failure.
	b = c.NewBatcher(client.BatcherOptions{FlushInterval: time.Hour})
	b.Add(t.Context(), client.EventInput{Action: "NOT GOOD"})
	var apiErr *client.Error
	if err := b.Close(t.Context()); !errors.As(err, &apiErr) || apiErr.Code != "invalid" {
		t.Errorf("Close: %v; want the batch's 400", err)
	}
}

func TestExportAndVerify(t *testing.T) {
	c := newClient(t, mustAccount(t))
	ctx := t.Context()
	for i := range 30 {
		action := "order.created"
		if i%3 == 0 {
			action = "order.cancelled"
		}
		if _, err := c.Send(ctx, client.EventInput{Action: action, ResourceID: strconv.Itoa(i), Actor: &client.ActorInput{ID: "c1", Email: "c1@example.net"}}); err != nil {
			t.Fatal(err)
		}
	}
	key, err := c.VerifierKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	info, err := c.Export(ctx, &buf, client.FormatNDJSON, client.Query{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := client.VerifyExport(bytes.NewReader(buf.Bytes()), key)
	if err != nil {
		t.Fatalf("VerifyExport: %v", err)
	}
	if !rep.Complete || rep.Events != info.Events || rep.TreeSize != info.TreeSize || info.Bytes != int64(buf.Len()) || !strings.HasSuffix(info.Filename, ".ndjson") {
		t.Errorf("report %+v, info %+v", rep, info)
	}
	// A filtered export verifies by inclusion proofs.
	buf.Reset()
	if _, err := c.Export(ctx, &buf, "", client.Query{Action: "order.cancelled"}); err != nil {
		t.Fatal(err)
	}
	if rep, err := client.VerifyExport(bytes.NewReader(buf.Bytes()), key); err != nil || rep.Complete || rep.Events != 10 {
		t.Errorf("filtered export: %+v, %v", rep, err)
	}
	// A changed byte, or a cut file, fails.
	tampered := bytes.Replace(buf.Bytes(), []byte(`"resource_id":"3"`), []byte(`"resource_id":"4"`), 1)
	var f *exportfile.Failure
	if _, err := client.VerifyExport(bytes.NewReader(tampered), key); !errors.As(err, &f) {
		t.Errorf("tampered export: %v", err)
	}
	if _, err := client.VerifyExport(bytes.NewReader(buf.Bytes()[:buf.Len()-20]), key); !errors.As(err, &f) {
		t.Errorf("cut export: %v", err)
	}
	// CSV streams too.
	buf.Reset()
	if info, err := c.Export(ctx, &buf, client.FormatCSV, client.Query{}); err != nil || !strings.HasPrefix(info.ContentType, "text/csv") {
		t.Errorf("CSV: %+v, %v", info, err)
	}
}

// TestImports holds the SDK to its promise: it imports nothing of the
// service but the export format's public package.
func TestImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if strings.Contains(p, ".") && p != "github.com/auditlog/auditlog/exportfile" {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
