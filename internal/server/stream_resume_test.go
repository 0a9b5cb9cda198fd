package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// send writes one text message to the stream.
func (tc *tailConn) send(t *testing.T, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	if err := tc.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("send %s: %v", msg, err)
	}
}

// TestStreamResumeMessage checks the resume message on every engine: on
// an open tail, {"type":"resume","after_seq":N} replays the matching events
// after N, then ready, then the live ones, each once; anything else is
// closed with 4400 and the position to resume from.
func TestStreamResumeMessage(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		tc, start := tn.owner.stream(t, "action=order.refunded")
		for _, action := range []string{"order.refunded", "order.created", "order.refunded", "order.refunded"} {
			e.appendEvents(&audit.Event{AccountID: tn.accountID, Action: action})
		}
		got := eventSeqs(tc.events(t, 3))
		if want := []int64{start + 1, start + 3, start + 4}; !slices.Equal(got, want) {
			t.Fatalf("live %v, want %v", got, want)
		}
		tc.send(t, `{"type":"resume","after_seq":`+itoa(start+1)+`}`)
		var replayed []int64
		for {
			m := tc.next(t)
			if m["type"] == "ready" {
				if num(m, "after_seq") != start+4 {
					t.Errorf("ready after %v, want %d", m["after_seq"], start+4)
				}
				break
			}
			if m["type"] == "event" {
				replayed = append(replayed, num(m["event"].(map[string]any), "seq"))
			}
		}
		if want := []int64{start + 3, start + 4}; !slices.Equal(replayed, want) {
			t.Errorf("replayed %v, want %v", replayed, want)
		}
		e.appendEvents(&audit.Event{AccountID: tn.accountID, Action: "order.refunded"})
		if got := eventSeqs(tc.events(t, 1)); got[0] != start+5 {
			t.Errorf("live after the resume: %v, want %d", got, start+5)
		}

		for _, bad := range []string{`{"type":"subscribe"}`, `{"type":"resume"}`, `{"type":"resume","after_seq":-1}`, `not json`} {
			tc, _ := tn.owner.stream(t, "")
			tc.send(t, bad)
			code, reason := tc.closed(t)
			if code != CloseBadMessage || !strings.Contains(reason, "resume with after_seq=") {
				t.Errorf("after %s: closed %d %q, want %d with the position", bad, code, reason, CloseBadMessage)
			}
		}
		tn.owner.do("GET", "/api/audit-logs", nil).want(t, http.StatusOK)
	})
}
