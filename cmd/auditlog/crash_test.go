package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// Flags of TestServeKilledDuringIngest, for longer runs and for repeating
// one: go test ./cmd/auditlog -run TestServeKilledDuringIngest -crash.cycles=40
var (
	crashCycles = flag.Int("crash.cycles", 6, "TestServeKilledDuringIngest: how many times each engine's serve process is stopped (kill -9 and SIGTERM alternately)")
	crashSeed   = flag.Int64("crash.seed", 0, "TestServeKilledDuringIngest: the seed of the random moments (0: from the clock; the test logs the seed it used)")
)

// TestServeKilledDuringIngest runs a real `auditlog serve` process per
// engine while clients send batches of events with event IDs (each batch
// sent again, with the same IDs, until it is acknowledged), and stops it
// again and again during ingest, alternately with kill -9 and with SIGTERM,
// each at a random moment, starting a new process on the same database each
// time. Then every batch not acknowledged is sent again with the same event
// IDs until it is. It requires:
//
//   - after SIGTERM the process exits cleanly (status 0) within its
//     shutdown timeout, and a batch in flight is either answered or not
//     committed: a batch whose connection broke after a SIGTERM (no
//     process was killed in that phase) and that a retry then finds
//     already stored (200, replayed) fails the test;
//   - every answer is 201 (or 200 for a batch the log already holds), or a
//     503/507 with Retry-After and a JSON error, or a broken connection
//     (the process was killed): never a 500;
//   - the log holds every event exactly once: no acknowledged batch is
//     lost (acknowledged batches are never sent again, so each must have
//     been committed by the process that answered it), and a retried batch
//     whose first attempt had committed is not stored twice;
//   - the server's verify and offline verification of a full export pass.
func TestServeKilledDuringIngest(t *testing.T) {
	engines := sqltest.Engines(t)
	bin := buildAuditlog(t)
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			url := e.NewURL(t)
			seed := *crashSeed
			if seed == 0 {
				seed = time.Now().UnixNano()
			}
			rng := rand.New(rand.NewPCG(uint64(seed), 0))
			t.Logf("random seed %d", seed)

			p := startProcesses(t, bin, url, 1)[0]
			l := newCrashLoad(t, p.base)
			stopLoad := l.start(4)
			terms := 0
			for cycle := range *crashCycles {
				// Once the process has acknowledged a batch, so that
				// the fault finds it ingesting, at a random moment.
				l.waitAck(t)
				time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
				if cycle%2 == 1 {
					// SIGTERM, as a service manager stops it: requests
					// in flight are answered, then the process exits 0.
					l.mark("sigterm")
					p.cmd.Process.Signal(syscall.SIGTERM)
					select {
					case <-p.exited:
						if p.err != nil {
							t.Errorf("cycle %d: after SIGTERM the process exited with %v; want status 0", cycle, p.err)
						}
					case <-time.After(2 * shutdownTimeout):
						t.Fatalf("cycle %d: the process did not exit within %s of SIGTERM", cycle, 2*shutdownTimeout)
					}
					terms++
				} else {
					l.mark("kill")
					p.cmd.Process.Kill()
					<-p.exited
				}
				p = startProcesses(t, bin, url, 1)[0]
				l.base.Store(&p.base)
			}
			time.Sleep(500 * time.Millisecond)
			stopLoad()
			l.settle(t)
			p.stop(t)
		})
	}
}

// crashLoad sends batches of events with unique event IDs, each until it
// is acknowledged, and keeps which were.
type crashLoad struct {
	t    *testing.T
	base atomic.Pointer[string] // the process now serving
	key  string                 // an API key with events:write and events:read
	vkey string                 // the service's verifier key

	mu       sync.Mutex
	batches  [][]string     // the event IDs of each batch sent
	acked    []bool         // batch index → acknowledged
	outcomes map[string]int // "phase status" → count
	phase    string         // the last fault, for outcomes
	acks     int            // batches acknowledged in this phase
	// broken is, per batch, the phase of its last attempt whose
	// connection broke after it was made (not refused): the attempt may
	// have committed.
	broken map[int]string
	bad    []string // answers that break the rules
}

// crashBatch is the number of events in each batch.
const crashBatch = 10

// newCrashLoad creates an account on the process at base, signs in as its
// owner and makes an API key to write and read events with.
func newCrashLoad(t *testing.T, base string) *crashLoad {
	t.Helper()
	l := &crashLoad{t: t, outcomes: map[string]int{}, broken: map[int]string{}, phase: "start"}
	l.base.Store(&base)
	owner := newClient()
	const password = "correct horse battery staple"
	if err := owner.call("POST", base+"/api/accounts", map[string]string{
		"name": "Crash", "domain": "crash.example.com", "owner_email": "owner@crash.example.com", "owner_password": password,
	}, http.StatusCreated, nil); err != nil {
		t.Fatal(err)
	}
	if err := owner.call("POST", base+"/api/auth/login", map[string]string{"email": "owner@crash.example.com", "password": password}, http.StatusOK, nil); err != nil {
		t.Fatal(err)
	}
	var k struct {
		Key string `json:"key"`
	}
	if err := owner.call("POST", base+"/api/api-keys", map[string]any{"name": "svc", "scopes": []string{"events:write", "events:read"}}, http.StatusCreated, &k); err != nil {
		t.Fatal(err)
	}
	l.key = k.Key
	var v struct {
		Key string `json:"verifier_key"`
	}
	if err := owner.call("GET", base+"/api/verifier-key", nil, http.StatusOK, &v); err != nil {
		t.Fatal(err)
	}
	l.vkey = v.Key
	return l
}

// mark names the fault that follows, so that outcomes are counted per
// phase in the test's log.
func (l *crashLoad) mark(phase string) {
	l.mu.Lock()
	l.phase = phase
	l.acks = 0
	l.mu.Unlock()
}

// waitAck waits until a batch is acknowledged after the last mark.
func (l *crashLoad) waitAck(t *testing.T) {
	t.Helper()
	for range 600 {
		l.mu.Lock()
		n := l.acks
		l.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no batch was acknowledged within 30s of the process starting")
}

// start starts clients that send new batches until the returned function
// is called.
func (l *crashLoad) start(clients int) (stop func()) {
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
				ids := make([]string, crashBatch)
				for j := range ids {
					ids[j] = fmt.Sprintf("crash-%d-%d-%d", c, i, j)
				}
				l.mu.Lock()
				n := len(l.batches)
				l.batches = append(l.batches, ids)
				l.acked = append(l.acked, false)
				l.mu.Unlock()
				// Like a real client, send the batch again with the
				// same event IDs until it is acknowledged: a retry of
				// a batch whose first attempt committed must not store
				// it twice.
				for !l.send(hc, n) {
					select {
					case <-done:
						return
					case <-time.After(50 * time.Millisecond): // the process is down or refusing
					}
				}
			}
		})
	}
	return func() { close(done); wg.Wait() }
}

// send sends batch n once and records the outcome.
func (l *crashLoad) send(hc *http.Client, n int) bool {
	l.mu.Lock()
	ids := l.batches[n]
	l.mu.Unlock()
	events := make([]map[string]string, len(ids))
	for i, id := range ids {
		events[i] = map[string]string{"event_id": id, "action": "order.refunded", "resource_type": "order", "resource_id": id}
	}
	body, _ := json.Marshal(map[string]any{"events": events})
	req, _ := http.NewRequest("POST", *l.base.Load()+"/api/audit-logs/batch", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+l.key)
	resp, err := hc.Do(req)
	code, out := -1, []byte(nil)
	var hdr http.Header
	if err == nil {
		out, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		code, hdr = resp.StatusCode, resp.Header
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outcomes[fmt.Sprintf("%s %d", l.phase, code)]++
	switch code {
	case 201, 200:
		var r struct{ Created, Replayed int }
		if json.Unmarshal(out, &r) != nil || r.Created+r.Replayed != len(ids) {
			l.bad = append(l.bad, fmt.Sprintf("%d answering a batch of %d: %s", code, len(ids), out))
			return false
		}
		if code == 200 && l.broken[n] == "sigterm" {
			// An earlier attempt committed, and its connection broke
			// while no process was killed: a process stopping on
			// SIGTERM committed a batch without answering it.
			l.bad = append(l.bad, fmt.Sprintf("batch %d was committed without an answer after SIGTERM", n))
		}
		l.acked[n] = true
		l.acks++
		return true
	case 503, 507:
		var e struct{ Error, Code string }
		if hdr.Get("Retry-After") == "" || json.Unmarshal(out, &e) != nil || e.Error == "" {
			l.bad = append(l.bad, fmt.Sprintf("%d without Retry-After or a JSON error: %v %s", code, hdr, out))
		}
	case -1:
		// No answer: the process was killed, or refused the connection
		// while stopping or starting. Not acknowledged.
		if !strings.Contains(err.Error(), "connection refused") {
			l.broken[n] = l.phase
		}
	default:
		l.bad = append(l.bad, fmt.Sprintf("%d %s", code, out))
	}
	return false
}

// settle sends every batch not acknowledged again, with its event IDs,
// until each is; then it checks that the log holds every event exactly
// once and verifies on the server and offline.
func (l *crashLoad) settle(t *testing.T) {
	t.Helper()
	if len(l.bad) > 0 {
		t.Errorf("%d answers broke the rules; first: %s", len(l.bad), l.bad[0])
	}
	l.mark("retry")
	hc := &http.Client{Timeout: 30 * time.Second}
	deadline := time.Now().Add(time.Minute)
	retried := 0
	for n := range l.batches {
		if l.acked[n] {
			continue
		}
		retried++
		for !l.send(hc, n) {
			if time.Now().After(deadline) {
				t.Fatalf("batch %d still not acknowledged a minute after the last fault", n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	base := *l.base.Load()
	get := func(path string) []byte {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+l.key)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, out)
		}
		return out
	}
	if v := get("/api/audit-logs/verify"); !bytes.Contains(v, []byte(`"ok":true`)) {
		t.Errorf("server verify after the faults: %s", v)
	}
	file := get("/api/audit-logs/export?format=ndjson")
	if _, err := export.Verify(bytes.NewReader(file), l.vkey); err != nil {
		t.Errorf("offline verification of a full export after the faults: %v", err)
	}
	count := map[string]int{}
	for line := range bytes.Lines(file) {
		var ev struct {
			Type    string `json:"type"`
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(line, &ev) == nil && ev.Type == "event" && strings.HasPrefix(ev.EventID, "crash-") {
			count[ev.EventID]++
		}
	}
	sent := 0
	for _, ids := range l.batches {
		for _, id := range ids {
			sent++
			if count[id] != 1 {
				t.Errorf("event %s is in the log %d times; want exactly once", id, count[id])
			}
		}
	}
	if len(count) != sent {
		t.Errorf("the log holds %d events sent by the load; it sent %d", len(count), sent)
	}
	t.Logf("%d batches (%d events), each event exactly once; %d retried after the faults; answers by the fault they followed: %v",
		len(l.batches), sent, retried, l.outcomes)
}
