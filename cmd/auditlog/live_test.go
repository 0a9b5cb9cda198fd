package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestLiveAcrossProcesses starts two `auditlog serve` processes on one
// database per engine, and checks that an event written through either
// reaches a stream open on the other, in seq order, each once: PostgreSQL
// by LISTEN/NOTIFY, SQLite and MySQL by the poll of the log heads. Then it
// stops one process and checks that its stream is closed with 1001 and the
// position to resume from.
func TestLiveAcrossProcesses(t *testing.T) {
	engines := sqltest.Engines(t)
	bin := buildAuditlog(t)
	for _, e := range engines {
		t.Run(e.Name, func(t *testing.T) {
			procs := startProcesses(t, bin, e.NewURL(t), 2)
			a, b := procs[0].base, procs[1].base
			key := liveKey(t, a)
			onA, onB := dialLive(t, a, key), dialLive(t, b, key)
			post := func(base string, action string) {
				req, _ := http.NewRequest("POST", base+"/api/audit-logs", strings.NewReader(`{"action":"`+action+`"}`))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("POST %s: status %d", base, resp.StatusCode)
				}
			}
			const n = 10
			for i := range n {
				post([]string{a, b}[i%2], "order.created")
			}
			for name, s := range map[string]*liveConn{"a": onA, "b": onB} {
				seqs := s.events(t, n)
				for i := 1; i < len(seqs); i++ {
					if seqs[i] != seqs[i-1]+1 {
						t.Errorf("stream on %s: seqs %v; want consecutive, each once", name, seqs)
						break
					}
				}
			}
			// One event more, timed: it crosses processes within a
			// fraction of a second.
			start := time.Now()
			post(a, "order.refunded")
			onB.events(t, 1)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("an event took %v to reach the other process", d)
			}
			procs[1].stop(t)
			code, reason := onB.closed(t)
			if code != websocket.StatusGoingAway || !strings.Contains(reason, "after_seq=") {
				t.Errorf("at shutdown: close %d %q; want 1001 with after_seq", code, reason)
			}
			procs[0].stop(t)
		})
	}
}

// liveKey creates an account through base and returns an API key of it
// that may read and write events.
func liveKey(t *testing.T, base string) string {
	t.Helper()
	c := newClient()
	const pw = "correct horse battery staple"
	if err := c.call("POST", base+"/api/accounts", map[string]string{
		"name": "Live shop", "domain": "live.example.com", "owner_email": "owner@live.example.com", "owner_password": pw,
	}, http.StatusCreated, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.call("POST", base+"/api/auth/login", map[string]string{"email": "owner@live.example.com", "password": pw}, http.StatusOK, nil); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Key string `json:"key"`
	}
	if err := c.call("POST", base+"/api/api-keys", map[string]any{"name": "live", "scopes": []string{"events:read", "events:write"}}, http.StatusCreated, &out); err != nil {
		t.Fatal(err)
	}
	return out.Key
}

// liveConn is an open stream.
type liveConn struct{ conn *websocket.Conn }

// dialLive opens the stream of base with the API key and waits for ready.
func dialLive(t *testing.T, base, key string) *liveConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/audit-logs/stream",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + key}}})
	if err != nil {
		t.Fatalf("dial %s: %v", base, err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	c := &liveConn{conn}
	if m := c.next(t); m.Type != "ready" {
		t.Fatalf("first message %+v; want ready", m)
	}
	return c
}

type liveMessage struct {
	Type  string `json:"type"`
	Event struct {
		Seq int64 `json:"seq"`
	} `json:"event"`
}

func (c *liveConn) next(t *testing.T) liveMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	var m liveMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// events reads until n events came and returns their seqs.
func (c *liveConn) events(t *testing.T, n int) []int64 {
	t.Helper()
	var seqs []int64
	for len(seqs) < n {
		if m := c.next(t); m.Type == "event" {
			seqs = append(seqs, m.Event.Seq)
		}
	}
	return seqs
}

// closed reads until the server closes the stream.
func (c *liveConn) closed(t *testing.T) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		_, _, err := c.conn.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("stream ended with %v; want a close frame", err)
		}
		return ce.Code, ce.Reason
	}
}
