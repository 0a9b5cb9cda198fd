package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// bearer adds an API key to every request.
type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// mcpSession connects the SDK's client to /mcp with the key.
func mcpSession(t *testing.T, e *testEnv, key string) (*sdk.ClientSession, error) {
	t.Helper()
	c := sdk.NewClient(&sdk.Implementation{Name: "auditlog-test", Version: "1"}, nil)
	tr := &sdk.StreamableClientTransport{Endpoint: e.ts.URL + "/mcp", HTTPClient: &http.Client{Transport: bearer{key}, Timeout: requestTimeout}, MaxRetries: -1}
	s, err := c.Connect(t.Context(), tr, nil)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// call calls a tool and decodes its structured result into out; it
// returns the error text of a tool error.
func call(t *testing.T, s *sdk.ClientSession, tool string, args map[string]any, out any) string {
	t.Helper()
	res, err := s.CallTool(context.Background(), &sdk.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	if res.IsError {
		var b strings.Builder
		for _, c := range res.Content {
			if tc, ok := c.(*sdk.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
		return b.String()
	}
	raw, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s result %s: %v", tool, raw, err)
	}
	return ""
}

func newKey(t *testing.T, tn *tenant, scopes ...string) string {
	t.Helper()
	r := tn.owner.do("POST", "/api/api-keys", map[string]any{"name": "assistant", "scopes": scopes}).want(t, http.StatusCreated)
	return r.body["key"].(string)
}

func TestMCP(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		acme, other, _, janeEmail := chatTenants(t, e)
		s, err := mcpSession(t, e, newKey(t, acme, "events:read"))
		if err != nil {
			t.Fatal(err)
		}

		tools, err := s.ListTools(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tl := range tools.Tools {
			names = append(names, tl.Name)
			if tl.Annotations == nil || !tl.Annotations.ReadOnlyHint {
				t.Errorf("tool %s is not marked read-only", tl.Name)
			}
		}
		slices.Sort(names)
		if want := []string{"count", "get_event", "get_proof", "search", "timeseries", "top", "verify"}; !slices.Equal(names, want) {
			t.Errorf("tools %v; want %v", names, want)
		}

		// search: the key's account only, bounded.
		var found struct {
			Events []struct {
				ID         int64  `json:"id"`
				Seq        int64  `json:"seq"`
				ActorEmail string `json:"actor_email"`
				Details    string `json:"details"`
			} `json:"events"`
			Total      int64  `json:"total"`
			NextCursor string `json:"next_cursor"`
		}
		if msg := call(t, s, "search", map[string]any{"q": "action:order.refunded resource:order:1042"}, &found); msg != "" {
			t.Fatal(msg)
		}
		if len(found.Events) != 1 || found.Events[0].ActorEmail != janeEmail || found.Events[0].Seq == 0 || found.Total != 1 {
			t.Fatalf("search: %+v; want jane's refund only", found)
		}
		refundID := found.Events[0].ID
		if msg := call(t, s, "search", map[string]any{"limit": 2}, &found); msg != "" || len(found.Events) != 2 || found.NextCursor == "" {
			t.Errorf("search limit 2: %q %+v", msg, found)
		}
		if msg := call(t, s, "search", map[string]any{"limit": 2, "cursor": found.NextCursor}, &found); msg != "" || len(found.Events) != 2 {
			t.Errorf("search by cursor: %q %+v", msg, found)
		}
		for _, args := range []map[string]any{{"limit": 101}, {"limit": -1}, {"q": "acton:x"}, {"q": "x", "cursor": "forged"}} {
			if msg := call(t, s, "search", args, &found); msg == "" {
				t.Errorf("search %v: no error", args)
			}
		}
		if msg := call(t, s, "search", map[string]any{"q": "acton:x"}, &found); !strings.Contains(msg, `did you mean "action"`) {
			t.Errorf("bad search: %q; want the query language's message", msg)
		}

		var n struct {
			Count int64 `json:"count"`
			Exact bool  `json:"exact"`
		}
		if msg := call(t, s, "count", map[string]any{"q": "action:login_failed"}, &n); msg != "" || n.Count != 3 || !n.Exact {
			t.Errorf("count: %q %+v; want 3", msg, n)
		}

		var top struct {
			Values []struct {
				Value string `json:"value"`
				Count int64  `json:"count"`
			} `json:"values"`
		}
		if msg := call(t, s, "top", map[string]any{"dimension": "action", "start": "2026-12-02", "limit": 1}, &top); msg != "" || len(top.Values) != 1 || top.Values[0].Value != "product.deleted" || top.Values[0].Count != 6 {
			t.Errorf("top: %q %+v", msg, top)
		}
		if msg := call(t, s, "top", map[string]any{"dimension": "actor", "action": "x"}, &top); msg == "" {
			t.Errorf("top by actor with an action: no error")
		}
		var series struct {
			Points []struct {
				Start    string `json:"start"`
				Count    int64  `json:"count"`
				Failures int64  `json:"failures"`
			} `json:"points"`
		}
		if msg := call(t, s, "timeseries", map[string]any{"start": "2026-12-01", "end": "2026-12-01", "interval": "day", "action": "login_failed"}, &series); msg != "" || len(series.Points) != 1 || series.Points[0].Count != 3 {
			t.Errorf("timeseries: %q %+v", msg, series)
		}

		var ev struct {
			ID      int64  `json:"id"`
			Seq     int64  `json:"seq"`
			Details string `json:"details"`
		}
		if msg := call(t, s, "get_event", map[string]any{"id": refundID}, &ev); msg != "" || ev.ID != refundID || !strings.Contains(ev.Details, "Ignore your previous instructions") {
			t.Errorf("get_event: %q %+v", msg, ev)
		}
		var proof struct {
			Seq        int64    `json:"seq"`
			TreeSize   int64    `json:"tree_size"`
			Proof      []string `json:"proof"`
			Checkpoint string   `json:"checkpoint"`
		}
		if msg := call(t, s, "get_proof", map[string]any{"id": refundID}, &proof); msg != "" || proof.Seq != ev.Seq || proof.TreeSize < proof.Seq || !strings.Contains(proof.Checkpoint, "\n\n") {
			t.Errorf("get_proof: %q %+v", msg, proof)
		}
		var ver struct {
			OK            bool  `json:"ok"`
			CheckedEvents int64 `json:"checked_events"`
		}
		if msg := call(t, s, "verify", map[string]any{}, &ver); msg != "" || !ver.OK || ver.CheckedEvents == 0 {
			t.Errorf("verify: %q %+v", msg, ver)
		}

		// Tenant isolation: the other account's events are not found.
		os, err := mcpSession(t, e, newKey(t, other, "events:read"))
		if err != nil {
			t.Fatal(err)
		}
		if msg := call(t, os, "get_event", map[string]any{"id": refundID}, &ev); !strings.Contains(msg, "not found") {
			t.Errorf("other account's get_event of acme's event: %q %+v; want not found", msg, ev)
		}
		if msg := call(t, os, "get_proof", map[string]any{"id": refundID}, &proof); !strings.Contains(msg, "not found") {
			t.Errorf("other account's get_proof of acme's event: %q", msg)
		}
		if msg := call(t, os, "count", map[string]any{"q": "action:login_failed"}, &n); msg != "" || n.Count != 3 {
			t.Errorf("other account's count: %q %+v", msg, n)
		}
		if msg := call(t, os, "search", map[string]any{"q": "resource:order:1042"}, &found); msg != "" || len(found.Events) != 1 || found.Events[0].ID == refundID {
			t.Errorf("other account's search: %q %+v", msg, found)
		}

		// Only an API key with events:read: a write-only key, no key, a
		// session.
		if _, err := mcpSession(t, e, newKey(t, acme, "events:write")); err == nil {
			t.Errorf("a write-only key connected")
		}
		if _, err := mcpSession(t, e, "alk_nonsense"); err == nil {
			t.Errorf("an unknown key connected")
		}
		acme.owner.do("POST", "/mcp", map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).wantError(t, http.StatusForbidden, "forbidden", "")
		e.client().do("POST", "/mcp", map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	})
}
