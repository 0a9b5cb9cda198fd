package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/live"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// streamWait bounds every wait of the stream tests for a message.
const streamWait = 15 * time.Second

// tailConn is an open GET /api/audit-logs/stream.
type tailConn struct {
	conn *websocket.Conn
}

// dialStream opens the stream with the query as c (its cookies or API key)
// and the extra headers; the response when the server refused.
func (c *client) dialStream(query string, hdr ...string) (*tailConn, *http.Response, error) {
	h := http.Header{}
	if c.bearer != "" {
		h.Set("Authorization", "Bearer "+c.bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	url := "ws" + strings.TrimPrefix(c.env.ts.URL, "http") + "/api/audit-logs/stream?" + query
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Jar: c.hc.Jar}, HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(1 << 20)
	return &tailConn{conn: conn}, resp, nil
}

// stream opens the stream and reads its ready message; it returns the
// ready message's after_seq.
func (c *client) stream(t *testing.T, query string) (*tailConn, int64) {
	t.Helper()
	tc, resp, err := c.dialStream(query)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial stream ?%s: %v (status %d)", query, err, status)
	}
	t.Cleanup(func() { tc.conn.CloseNow() })
	var replayed []map[string]any
	for {
		m := tc.next(t)
		if m["type"] == "ready" {
			if len(replayed) > 0 {
				t.Fatalf("use replay() for a stream that replays")
			}
			return tc, num(m, "after_seq")
		}
		replayed = append(replayed, m)
	}
}

// next reads one message.
func (tc *tailConn) next(t *testing.T) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	_, b, err := tc.conn.Read(ctx)
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("stream message %s: %v", b, err)
	}
	return m
}

// events reads messages until n events came, and returns them; it fails
// on any message other than an event, a checkpoint or ready.
func (tc *tailConn) events(t *testing.T, n int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for len(out) < n {
		m := tc.next(t)
		switch m["type"] {
		case "event":
			out = append(out, m["event"].(map[string]any))
		case "checkpoint", "ready":
		default:
			t.Fatalf("unexpected message %v", m)
		}
	}
	return out
}

// closed reads until the server closes the stream and returns the close
// status and reason.
func (tc *tailConn) closed(t *testing.T) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	for {
		_, _, err := tc.conn.Read(ctx)
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

// seqs returns each event's seq.
func eventSeqs(events []map[string]any) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = num(e, "seq")
	}
	return out
}

func TestStreamDeliversEventsAsListed(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		writer, _ := e.newKey(tn, "svc", "events:write")
		tc, pos := tn.owner.stream(t, "")
		if pos < 1 { // the account's creation and the owner's sign-in are logged
			t.Fatalf("ready after_seq %d", pos)
		}
		for i := range 3 {
			writer.do("POST", "/api/audit-logs", map[string]any{
				"action": "order.refunded", "resource_type": "order", "resource_id": strconv.Itoa(i),
				"actor": map[string]any{"type": "customer", "id": "u1", "email": "u1@acme.example.com"}, "metadata": map[string]any{"amount": i},
			}).want(t, 201)
		}
		got := tc.events(t, 3)
		if s := eventSeqs(got); !reflect.DeepEqual(s, []int64{pos + 1, pos + 2, pos + 3}) {
			t.Fatalf("seqs %v; want the three after %d in order", s, pos)
		}
		// Each event is the JSON of the list's item, field for field.
		listed := tn.events(t, "action=order.refunded").list("audit_logs")
		for i, ev := range got {
			want := listed[len(listed)-1-i].(map[string]any)
			if !reflect.DeepEqual(ev, want) {
				t.Errorf("streamed %v\nlisted   %v", ev, want)
			}
		}
		// A checkpoint covering them follows within seconds.
		for {
			m := tc.next(t)
			if m["type"] != "checkpoint" {
				continue
			}
			c := m["checkpoint"].(map[string]any)
			if num(c, "tree_size") >= pos+3 && c["checkpoint"] != "" {
				break
			}
		}
	})
}

func TestStreamFiltersAndTenants(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	a, b := e.newTenant("acme"), e.newTenant("other")
	all, _ := a.owner.stream(t, "")
	refunds, _ := a.owner.stream(t, "action=order.refunded")
	searched, _ := a.owner.stream(t, "q="+strings.ReplaceAll("action:order.* -resource_id:2", " ", "+"))
	other, _ := b.owner.stream(t, "")
	for i, action := range []string{"order.refunded", "order.created", "order.refunded", "user.created"} {
		e.appendEvents(&audit.Event{AccountID: a.accountID, Action: action, ResourceType: "order", ResourceID: strconv.Itoa(i)})
		e.appendEvents(&audit.Event{AccountID: b.accountID, Action: "secret." + action})
	}
	actionsOf := func(evs []map[string]any) (out []string) {
		for _, ev := range evs {
			out = append(out, ev["action"].(string)+":"+ev["resource_id"].(string))
		}
		return out
	}
	if got := actionsOf(all.events(t, 4)); !reflect.DeepEqual(got, []string{"order.refunded:0", "order.created:1", "order.refunded:2", "user.created:3"}) {
		t.Errorf("unfiltered stream %v", got)
	}
	if got := actionsOf(refunds.events(t, 2)); !reflect.DeepEqual(got, []string{"order.refunded:0", "order.refunded:2"}) {
		t.Errorf("action=order.refunded stream %v", got)
	}
	if got := actionsOf(searched.events(t, 2)); !reflect.DeepEqual(got, []string{"order.refunded:0", "order.created:1"}) {
		t.Errorf("searched stream %v", got)
	}
	for _, ev := range other.events(t, 4) {
		if num(ev, "seq") < 1 || !strings.HasPrefix(ev["action"].(string), "secret.") {
			t.Errorf("the other account's stream got %v", ev)
		}
	}
	// Nothing else arrives: one more event of each account shows that no
	// other was queued before it.
	e.appendEvents(&audit.Event{AccountID: a.accountID, Action: "order.refunded", ResourceID: "9"})
	if got := actionsOf(refunds.events(t, 1)); !reflect.DeepEqual(got, []string{"order.refunded:9"}) {
		t.Errorf("after the rest: %v", got)
	}
}

func TestStreamRefusals(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	tn := e.newTenant("acme")
	analyst, _ := e.addUser(tn, audit.RoleAnalyst)
	writer, _ := e.newKey(tn, "svc", "events:write")
	reader, _ := e.newKey(tn, "siem", "events:read")
	tests := []struct {
		name   string
		c      *client
		query  string
		hdr    []string
		status int
	}{
		{"signed out", e.client(), "", nil, 401},
		{"analyst", analyst, "", nil, 403},
		{"write-only key", writer, "", nil, 403},
		{"other origin", tn.owner, "", []string{"Origin", "https://evil.example"}, 403},
		{"bad after_seq", tn.owner, "after_seq=-1", nil, 400},
		{"bad filter", tn.owner, "user_id=x", nil, 400},
		{"bad search", tn.owner, "q=nope:1", nil, 400},
		{"ok key", reader, "", nil, 101},
		{"ok owner", tn.owner, "after_seq=0", nil, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, resp, err := tt.c.dialStream(tt.query, tt.hdr...)
			if tt.status == 101 {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				tc.conn.CloseNow()
				return
			}
			if err == nil {
				tc.conn.CloseNow()
				t.Fatalf("dial succeeded; want %d", tt.status)
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("dial: %v, response %v; want status %d", err, resp, tt.status)
			}
		})
	}
	// A plain GET is told to use a WebSocket, in the API's error shape.
	tn.owner.do("GET", "/api/audit-logs/stream", nil).wantError(t, 400, "invalid", "")
}

// TestStreamResumeUnderWrites resumes from positions in the past while
// events commit, with and without a filter, and checks that each stream
// gets every matching event after its position exactly once, in order.
func TestStreamResumeUnderWrites(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		for i := range 20 {
			e.appendEvents(&audit.Event{AccountID: tn.accountID, Action: []string{"w.even", "w.odd"}[i%2]})
		}
		start, err := db.LogSize(t.Context(), tn.accountID)
		if err != nil {
			t.Fatal(err)
		}
		const writes = 60
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				evs := []*audit.Event{{AccountID: tn.accountID, Action: []string{"w.even", "w.odd"}[i%2]}}
				if i%5 == 0 {
					evs = append(evs, &audit.Event{AccountID: tn.accountID, Action: "w.odd"})
				}
				e.appendEvents(evs...)
			}
		}()
		type opened struct {
			tc     *tailConn
			after  int64
			action string
		}
		var streams []opened
		for i := range 6 {
			after := start - 15 + int64(i)*3
			query, action := fmt.Sprintf("after_seq=%d", after), ""
			if i%2 == 1 {
				action = "w.odd"
				query += "&action=" + action
			}
			tc, _, err := tn.owner.dialStream(query)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tc.conn.CloseNow() })
			streams = append(streams, opened{tc, after, action})
			time.Sleep(3 * time.Millisecond)
		}
		wg.Wait()
		end := start + writes + writes/5
		all, err := exportAll(t, db, tn.accountID, end)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range streams {
			var want []int64
			for _, ev := range all {
				if ev.Seq > s.after && (s.action == "" || ev.Action == s.action) {
					want = append(want, ev.Seq)
				}
			}
			if got := eventSeqs(s.tc.events(t, len(want))); !reflect.DeepEqual(got, want) {
				t.Errorf("stream after %d, action %q: seqs %v; want %v", s.after, s.action, got, want)
			}
		}
	})
}

func TestStreamSlowConsumer(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t), func(d *testDeps) { d.Live = live.Options{Buffer: 8} })
	tn := e.newTenant("acme")
	slow, _ := tn.owner.stream(t, "")
	fast, _ := tn.owner.stream(t, "")
	evs := make([]*audit.Event, 20)
	for i := range evs {
		evs[i] = &audit.Event{AccountID: tn.accountID, Action: "bulk"}
	}
	// One commit of more events than the buffer holds: whoever has not
	// taken them yet is cut off; ingest does not wait.
	e.appendEvents(evs[:5]...)
	fast.events(t, 5)
	e.appendEvents(evs...)
	code, reason := slow.closed(t)
	if code != CloseTooSlow || !strings.Contains(reason, "after_seq=") {
		t.Fatalf("close %d %q; want %d with the position to resume from", code, reason, CloseTooSlow)
	}
	// Resuming from the position the reason gives misses nothing.
	var after int64
	fmt.Sscanf(reason[strings.Index(reason, "after_seq=")+len("after_seq="):], "%d", &after)
	resumed, _, err := tn.owner.dialStream("after_seq=" + strconv.FormatInt(after, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.conn.CloseNow()
	size, _ := e.db.LogSize(t.Context(), tn.accountID)
	got := eventSeqs(resumed.events(t, int(size-after)))
	if got[0] != after+1 || got[len(got)-1] != size {
		t.Errorf("resumed seqs %v; want %d to %d", got, after+1, size)
	}
}

func TestStreamPermissionChanges(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	tn := e.newTenant("acme")
	demoted, demotedID := e.addUserNamed(tn, audit.RoleAdmin, "demoted")
	deactivated, deactivatedID := e.addUserNamed(tn, audit.RoleAdmin, "gone")
	loggedOut, _ := e.addUserNamed(tn, audit.RoleAdmin, "leaving")
	reader, key := e.newKey(tn, "siem", "events:read")

	tests := []struct {
		name   string
		c      *client
		change func()
		code   websocket.StatusCode
	}{
		{"role dropped", demoted, func() {
			tn.owner.do("PATCH", "/api/users/"+strconv.FormatInt(demotedID, 10), map[string]any{"role": "analyst"}).want(t, 200)
		}, CloseForbidden},
		{"deactivated", deactivated, func() {
			tn.owner.do("PATCH", "/api/users/"+strconv.FormatInt(deactivatedID, 10), map[string]any{"is_active": false}).want(t, 200)
		}, CloseUnauthorized},
		{"signed out", loggedOut, func() { loggedOut.do("POST", "/api/auth/logout", nil).want(t, 200) }, CloseUnauthorized},
		{"key revoked", reader, func() {
			tn.owner.do("DELETE", "/api/api-keys/"+strconv.FormatInt(num(key, "id"), 10), nil).want(t, 200)
		}, CloseUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, _ := tt.c.stream(t, "")
			tt.change()
			start := time.Now()
			code, _ := tc.closed(t)
			if code != tt.code {
				t.Errorf("close code %d; want %d", code, tt.code)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("closed after %v; want within seconds", d)
			}
		})
	}
}

func TestStreamShutdown(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	tn := e.newTenant("acme")
	tc, pos := tn.owner.stream(t, "")
	e.hub.Close()
	code, reason := tc.closed(t)
	if code != websocket.StatusGoingAway || !strings.Contains(reason, "after_seq="+strconv.FormatInt(pos, 10)) {
		t.Errorf("close %d %q; want 1001 naming after_seq=%d", code, reason, pos)
	}
	// New streams are refused while the hub is closed.
	_, resp, err := tn.owner.dialStream("")
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Errorf("dial after close: %v %v; want 503", err, resp)
	}
}

// exportAll reads the account's events up to seq end, in seq order.
func exportAll(t *testing.T, db *sqlstore.DB, accountID, end int64) ([]*audit.Event, error) {
	var out []*audit.Event
	err := db.ExportRange(t.Context(), accountID, audit.EventFilter{}, 0, end, func(e *audit.Event) error {
		out = append(out, e)
		return nil
	})
	return out, err
}
