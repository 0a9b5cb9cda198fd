package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/server"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

var long = flag.Bool("faults.long", false, "run each fault case for a minute with more fault cycles, instead of seconds")

// plan is how long a case drives load and how many fault cycles it runs.
func plan() (load time.Duration, cycles int) {
	if *long {
		return time.Minute, 10
	}
	return 1500 * time.Millisecond, 2
}

// need skips t (or fails it under CI=true, where the suite must run) when
// the condition for starting private servers does not hold.
func need(t *testing.T, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but the fault suite cannot run: %s", why)
	}
	t.Skipf("fault suite skipped: %s", why)
}

// service is the JSON API over one database, with an account and an API key
// that writes events.
type service struct {
	t     *testing.T
	db    *sqlstore.DB
	app   *app.App
	ts    *httptest.Server
	owner *http.Client
	key   string
	vkey  string
}

func newService(t *testing.T, databaseURL string, limiter ratelimit.Limiter) *service {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	signer := sqltest.Signer(t)
	cfg := config.Default()
	cfg.Env = config.Development
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	writer := ingest.NewWriter(db, signer, ingest.Options{Logger: log})
	t.Cleanup(writer.Close)
	a := app.New(app.Deps{Store: db, Signer: signer, Ingest: writer, Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
		Config: cfg, Logger: log, SecretKey: []byte("faults-secret"), Limiter: limiter})
	t.Cleanup(func() { a.Close(context.Background()) })
	s := &service{t: t, db: db, app: a, vkey: signer.VerifierKey()}
	s.ts = httptest.NewServer(server.New(server.Deps{App: a, Store: db, Config: cfg, Logger: log}))
	t.Cleanup(s.ts.Close)

	jar, _ := cookiejar.New(nil)
	s.owner = &http.Client{Jar: jar, Timeout: time.Minute}
	domain := fmt.Sprintf("faults%d.example.com", time.Now().UnixNano())
	s.must("POST", "/api/accounts", fmt.Sprintf(`{"name":"Faults","domain":%q,"owner_email":"owner@%s","owner_password":"owner-password"}`, domain, domain), 201)
	s.must("POST", "/api/auth/login", fmt.Sprintf(`{"email":"owner@%s","password":"owner-password"}`, domain), 200)
	var k struct {
		Key string `json:"key"`
	}
	json.Unmarshal(s.must("POST", "/api/api-keys", `{"name":"svc","scopes":["events:write"]}`, 201), &k)
	s.key = k.Key
	return s
}

// must sends a request as the owner and fails the test unless it answers want.
func (s *service) must(method, path, body string, want int) []byte {
	s.t.Helper()
	code, _, out := s.send(s.owner, "", method, path, body)
	if code != want {
		s.t.Fatalf("%s %s: %d %s; want %d", method, path, code, out, want)
	}
	return out
}

func (s *service) send(hc *http.Client, key, method, path, body string) (int, http.Header, []byte) {
	req, _ := http.NewRequest(method, s.ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return -1, nil, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// load sends events with unique event IDs from several clients until stop
// is closed, and keeps which were acknowledged (201) and which were not.
type load struct {
	s       *service
	mu      sync.Mutex
	acked   map[string]bool // event ID → acknowledged
	refused map[int]int     // status → count, of the requests not acknowledged
	// replayed counts retries answered with the event an earlier attempt
	// stored (200, Idempotent-Replayed).
	replayed int
	bad      []string // responses that break the rules
}

func (s *service) startLoad(clients int) (l *load, stop func()) {
	l = &load{s: s, acked: map[string]bool{}, refused: map[int]int{}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 30 * time.Second}
	for c := range clients {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				id := fmt.Sprintf("evt-%d-%d", c, i)
				ok := l.send(hc, id)
				if !ok {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	return l, func() { close(done); wg.Wait() }
}

// send sends the event id once and records the outcome.
func (l *load) send(hc *http.Client, id string) bool {
	body := fmt.Sprintf(`{"event_id":%q,"action":"order.refunded","resource_type":"order","resource_id":%q}`, id, id)
	code, hdr, out := l.s.send(hc, l.s.key, "POST", "/api/audit-logs", body)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, seen := l.acked[id]; !seen {
		l.acked[id] = false
	}
	switch {
	case code == 201:
		l.acked[id] = true
		return true
	case code == 200 && hdr.Get("Idempotent-Replayed") == "true":
		// A retry of an event committed by an earlier attempt whose
		// answer was lost (a connection cut during COMMIT, or a
		// commit not confirmed in time): stored once, answered now.
		l.acked[id] = true
		l.replayed++
		return true
	case code == 503 || code == 507:
		l.refused[code]++
		var e struct{ Error, Code string }
		if hdr.Get("Retry-After") == "" || json.Unmarshal(out, &e) != nil || e.Error == "" {
			l.bad = append(l.bad, fmt.Sprintf("%d without Retry-After or a JSON error: %v %s", code, hdr, out))
		}
	case code == -1:
		// The connection broke (the server was killed): not acknowledged.
		l.refused[code]++
	default:
		l.bad = append(l.bad, fmt.Sprintf("%d %s", code, out))
	}
	return false
}

// settle retries every event not acknowledged, with its event ID, until each
// is, and then checks that the account's log holds each event exactly once
// and verifies on the server and offline.
func (l *load) settle(t *testing.T) {
	t.Helper()
	if len(l.bad) > 0 {
		t.Errorf("%d responses broke the rules while the fault lasted; first: %s", len(l.bad), l.bad[0])
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for id, ok := range l.acked {
		for !ok {
			if time.Now().After(deadline) {
				t.Fatalf("event %s still not acknowledged a minute after the fault ended: the service did not recover", id)
			}
			if ok = l.send(hc, id); !ok {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	if err := l.s.app.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	code, _, v := l.s.send(l.s.owner, "", "GET", "/api/audit-logs/verify", "")
	if code != 200 || !bytes.Contains(v, []byte(`"ok":true`)) {
		t.Fatalf("server verify after the fault: %d %s", code, v)
	}
	code, _, file := l.s.send(l.s.owner, "", "GET", "/api/audit-logs/export?format=ndjson", "")
	if code != 200 {
		t.Fatalf("export after the fault: %d %s", code, file)
	}
	if _, err := export.Verify(bytes.NewReader(file), l.s.vkey); err != nil {
		t.Fatalf("offline verification after the fault: %v", err)
	}
	count := map[string]int{}
	for line := range bytes.Lines(file) {
		var ev struct {
			Type    string `json:"type"`
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(line, &ev) == nil && ev.Type == "event" && strings.HasPrefix(ev.EventID, "evt-") {
			count[ev.EventID]++
		}
	}
	for id := range l.acked {
		if count[id] != 1 {
			t.Errorf("event %s is in the log %d times; want exactly once", id, count[id])
		}
	}
	if len(count) != len(l.acked) {
		t.Errorf("the log holds %d events sent by the load; it sent %d", len(count), len(l.acked))
	}
	t.Logf("%d events, each exactly once; refused while the fault lasted: %v; retries answered with an event already stored: %d", len(l.acked), l.refused, l.replayed)
}
