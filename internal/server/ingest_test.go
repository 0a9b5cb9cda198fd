package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// newKey creates an API key with the scopes as the tenant's owner and
// returns a client that sends it.
func (e *testEnv) newKey(tn *tenant, name string, scopes ...string) (*client, map[string]any) {
	e.t.Helper()
	r := tn.owner.do("POST", "/api/api-keys", map[string]any{"name": name, "scopes": scopes}).want(e.t, http.StatusCreated)
	key, _ := r.body["key"].(string)
	if !strings.HasPrefix(key, "alk_") {
		e.t.Fatalf("created key %q", key)
	}
	c := e.client()
	c.bearer = key
	return c, r.obj("api_key")
}

func TestAPIKeys(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn, other := e.newTenant("acme"), e.newTenant("other")
		writer, meta := e.newKey(tn, "checkout-service", "events:write")
		reader, _ := e.newKey(tn, "siem-export", "events:read")

		// The list shows keys without secrets, newest first.
		list := tn.owner.do("GET", "/api/api-keys", nil).want(t, 200)
		keys := list.list("api_keys")
		if len(keys) != 2 || keys[1].(map[string]any)["name"] != "checkout-service" {
			t.Fatalf("keys %s", list.raw)
		}
		if strings.Contains(string(list.raw), writer.bearer) || strings.Contains(string(list.raw), "secret") {
			t.Fatalf("key list leaks a secret: %s", list.raw)
		}
		if !strings.HasPrefix(writer.bearer, meta["prefix"].(string)+"_") {
			t.Errorf("prefix %v is not the start of the key", meta["prefix"])
		}
		if len(other.owner.do("GET", "/api/api-keys", nil).want(t, 200).list("api_keys")) != 0 {
			t.Error("another account sees the keys")
		}

		// Scopes decide what a key may do; person-only routes refuse keys.
		writer.do("POST", "/api/audit-logs", map[string]any{"action": "order.created"}).want(t, 201)
		writer.do("GET", "/api/audit-logs", nil).wantError(t, 403, "forbidden", "")
		reader.do("GET", "/api/audit-logs", nil).want(t, 200)
		reader.do("POST", "/api/audit-logs", map[string]any{"action": "order.created"}).wantError(t, 403, "forbidden", "")
		for _, path := range []string{"/api/users", "/api/api-keys", "/api/auth/me", fmt.Sprintf("/api/accounts/%d", tn.accountID)} {
			reader.do("GET", path, nil).wantError(t, 403, "forbidden", "")
		}
		// A key is used: last_used_at is set (off the request's path, so
		// wait for it).
		var used map[string]any
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if used = tn.owner.do("GET", "/api/api-keys", nil).want(t, 200).list("api_keys")[1].(map[string]any); used["last_used_at"] != nil {
				break
			}
		}
		if used["last_used_at"] == nil {
			t.Errorf("last_used_at not recorded: %v", used)
		}

		// Revocation works at once; revoking again changes nothing.
		tn.owner.do("DELETE", fmt.Sprintf("/api/api-keys/%d", num(meta, "id")), nil).want(t, 200)
		writer.do("POST", "/api/audit-logs", map[string]any{"action": "order.created"}).wantError(t, 401, "unauthorized", "")
		tn.owner.do("DELETE", fmt.Sprintf("/api/api-keys/%d", num(meta, "id")), nil).want(t, 200)
		other.owner.do("DELETE", fmt.Sprintf("/api/api-keys/%d", num(meta, "id")), nil).wantError(t, 404, "not_found", "")

		// Forged and malformed keys.
		for _, bad := range []string{"nonsense", writer.bearer + "x", "alk_000000000000_" + strings.Repeat("A", 43), meta["prefix"].(string)} {
			c := e.client()
			c.bearer = bad
			c.do("GET", "/api/audit-logs", nil).wantError(t, 401, "unauthorized", "")
		}

		// Every key operation is audited.
		acts := strings.Join(actions(tn.events(t, "resource_type=api_key")), ",")
		if acts != "api_key_revoked,api_key_created,api_key_created" {
			t.Errorf("key events %s", acts)
		}
		// Only owners and admins manage keys; bad bodies are 400.
		analyst, _ := e.addUser(tn, audit.RoleAnalyst)
		analyst.do("POST", "/api/api-keys", map[string]any{"name": "x", "scopes": []string{"events:read"}}).wantError(t, 403, "forbidden", "")
		tn.owner.do("POST", "/api/api-keys", map[string]any{"name": "x", "scopes": []string{"events:delete"}}).wantError(t, 400, "invalid", "scopes")
		tn.owner.do("POST", "/api/api-keys", map[string]any{"name": "x"}).wantError(t, 400, "invalid", "scopes")
		tn.owner.do("POST", "/api/api-keys", map[string]any{"scopes": []string{"events:read"}}).wantError(t, 400, "invalid", "name")
	})
}

func TestIngestEvent(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn, other := e.newTenant("acme"), e.newTenant("other")
		svc, meta := e.newKey(tn, "checkout-service", "events:write")
		_, adminID := e.addUser(tn, audit.RoleAdmin)

		r := svc.do("POST", "/api/audit-logs", `{
			"event_id": "evt_1001",
			"action": "order.refunded",
			"resource_type": "order", "resource_id": "1001",
			"details": "Refunded $42.00\nto the card on file",
			"ip_address": "203.0.113.9", "user_agent": "checkout/2.3",
			"actor": {"id": "cust_77", "name": "Jane Roe", "email": "jane@example.net", "type": "customer"},
			"occurred_at": "2024-06-01T12:00:00.5+02:00",
			"outcome": "success",
			"metadata": {"amount_cents": 4200, "currency": "USD"},
			"changes": [{"field": "status", "old": "paid", "new": "refunded"}]
		}`).want(t, http.StatusCreated)
		ev := r.obj("audit_log")
		actor := ev["actor"].(map[string]any)
		if ev["event_id"] != "evt_1001" || ev["occurred_at"] != "2024-06-01T10:00:00.500000Z" || ev["outcome"] != "success" ||
			actor["type"] != "customer" || actor["id"] != "cust_77" || actor["email"] != "jane@example.net" ||
			fmt.Sprint(ev["metadata"]) != "map[amount_cents:4200 currency:USD]" || ev["user"] != nil {
			t.Errorf("ingested event %s", r.raw)
		}
		// Read endpoints return the same fields.
		listed := tn.events(t, "action=order.refunded").list("audit_logs")[0].(map[string]any)
		if fmt.Sprint(listed["changes"]) != "[map[field:status new:refunded old:paid]]" || listed["event_id"] != "evt_1001" {
			t.Errorf("listed event %v", listed)
		}

		// Without an actor, the key is the actor; with user_id, the user is.
		r = svc.do("POST", "/api/audit-logs", map[string]any{"action": "catalog.synced"}).want(t, 201)
		a := r.obj("audit_log")["actor"].(map[string]any)
		if a["type"] != "api_key" || a["id"] != meta["prefix"] || a["name"] != "checkout-service" {
			t.Errorf("default actor %v", a)
		}
		r = svc.do("POST", "/api/audit-logs", map[string]any{"action": "product.created", "actor": map[string]any{"user_id": adminID}}).want(t, 201)
		if u := r.obj("audit_log")["user"].(map[string]any); num(u, "id") != adminID {
			t.Errorf("user actor %v", u)
		}
		svc.do("POST", "/api/audit-logs", map[string]any{"action": "x.y", "actor": map[string]any{"user_id": other.ownerID}}).
			wantError(t, 400, "invalid", "actor.user_id")

		// A signed-in owner may record events too; an analyst may not.
		// The answer names the user as a read of the event does.
		r = tn.owner.do("POST", "/api/audit-logs", map[string]any{"action": "settings.updated"}).want(t, 201)
		created := r.obj("audit_log")
		if u, ok := created["user"].(map[string]any); !ok || num(u, "id") != tn.ownerID || u["role"] != "owner" {
			t.Errorf("signed-in actor: user %v", created["user"])
		}
		read := tn.owner.do("GET", fmt.Sprintf("/api/audit-logs/%d", num(created, "id")), nil).want(t, 200)
		if fmt.Sprint(read.obj("audit_log")["user"]) != fmt.Sprint(created["user"]) {
			t.Errorf("created user %v, read back %v", created["user"], read.obj("audit_log")["user"])
		}
		analyst, _ := e.addUser(tn, audit.RoleAnalyst)
		analyst.do("POST", "/api/audit-logs", map[string]any{"action": "settings.updated"}).wantError(t, 403, "forbidden", "")

		// Nothing reached the other account, and the log verifies.
		if strings.Contains(string(other.events(t, "per_page=100").raw), "refunded") {
			t.Error("another account sees the events")
		}
		if v := tn.owner.do("GET", "/api/audit-logs/verify", nil).want(t, 200); v.body["ok"] != true {
			t.Errorf("verify %s", v.raw)
		}
	})
}

func TestIngestIdempotency(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		svc, _ := e.newKey(tn, "svc", "events:write")
		size := func() int64 { n, _ := db.LogSize(t.Context(), tn.accountID); return n }

		first := svc.do("POST", "/api/audit-logs", map[string]any{"event_id": "evt-1", "action": "order.created"}).want(t, 201)
		again := svc.do("POST", "/api/audit-logs", map[string]any{"event_id": "evt-1", "action": "order.created"}).want(t, 200)
		if again.header.Get("Idempotent-Replayed") != "true" || num(again.obj("audit_log"), "id") != num(first.obj("audit_log"), "id") {
			t.Errorf("retry: %s", again.raw)
		}
		// The Idempotency-Key header works the same way.
		k1 := svc.do("POST", "/api/audit-logs", map[string]any{"action": "order.paid"}, "Idempotency-Key", "req-42").want(t, 201)
		k2 := svc.do("POST", "/api/audit-logs", map[string]any{"action": "order.paid"}, "Idempotency-Key", "req-42").want(t, 200)
		if num(k1.obj("audit_log"), "id") != num(k2.obj("audit_log"), "id") {
			t.Error("Idempotency-Key retry created a second event")
		}
		svc.do("POST", "/api/audit-logs", map[string]any{"event_id": "a", "action": "x.y"}, "Idempotency-Key", "b").wantError(t, 400, "invalid", "event_id")

		// Racing retries of one event, and of one batch.
		before := size()
		var wg sync.WaitGroup
		ids := make([]int64, 20)
		for i := range ids {
			wg.Go(func() {
				r := svc.do("POST", "/api/audit-logs", map[string]any{"event_id": "race-1", "action": "order.shipped"})
				ids[i] = num(r.obj("audit_log"), "id")
			})
		}
		batch := map[string]any{"events": []map[string]any{{"action": "a.b"}, {"action": "a.c"}, {"action": "a.d"}}}
		for range 10 {
			wg.Go(func() { svc.do("POST", "/api/audit-logs/batch", batch, "Idempotency-Key", "batch-7") })
		}
		wg.Wait()
		for _, id := range ids {
			if id == 0 || id != ids[0] {
				t.Fatalf("racing retries got ids %v", ids)
			}
		}
		if got := size() - before; got != 4 {
			t.Errorf("racing retries wrote %d events; want 4 (one single, three batched)", got)
		}
		r := svc.do("POST", "/api/audit-logs/batch", batch, "Idempotency-Key", "batch-7").want(t, 200)
		if num(r.body, "created") != 0 || num(r.body, "replayed") != 3 {
			t.Errorf("batch retry %s", r.raw)
		}
	})
}

func TestIngestBatch(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		svc, _ := e.newKey(tn, "svc", "events:write")
		var events []map[string]any
		for i := range 1000 {
			events = append(events, map[string]any{"event_id": fmt.Sprintf("b-%d", i), "action": "inventory.adjusted", "resource_id": fmt.Sprint(i)})
		}
		r := svc.do("POST", "/api/audit-logs/batch", map[string]any{"events": events}).want(t, 201)
		if num(r.body, "created") != 1000 || len(r.list("audit_logs")) != 1000 {
			t.Fatalf("batch of 1000: created %v", r.body["created"])
		}
		before, _ := db.LogSize(t.Context(), tn.accountID)

		// One bad event spoils the batch; every problem is named.
		mixed := []map[string]any{
			{"action": "ok.one"}, {"action": "Bad Action"}, {"action": "ok.two"},
			{"action": "ok.three", "ip_address": "999.1.1.1", "outcome": "maybe"},
		}
		r = svc.do("POST", "/api/audit-logs/batch", map[string]any{"events": mixed})
		r.wantError(t, 400, "invalid", "action")
		var got []string
		for _, p := range r.list("errors") {
			m := p.(map[string]any)
			got = append(got, fmt.Sprintf("%v:%v", m["index"], m["field"]))
		}
		if strings.Join(got, " ") != "1:action 3:ip_address 3:outcome" {
			t.Errorf("problems %v; body %s", got, r.raw)
		}
		if after, _ := db.LogSize(t.Context(), tn.accountID); after != before {
			t.Errorf("a rejected batch wrote %d events", after-before)
		}
		svc.do("POST", "/api/audit-logs/batch", map[string]any{"events": append(events, events[0])}).wantError(t, 400, "invalid", "events")
		svc.do("POST", "/api/audit-logs/batch", map[string]any{"events": []any{}}).wantError(t, 400, "invalid", "events")
		svc.do("POST", "/api/audit-logs/batch", map[string]any{}).wantError(t, 400, "invalid", "events")
	})
}

func TestIngestBadInput(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	tn := e.newTenant("acme")
	svc, _ := e.newKey(tn, "svc", "events:write")
	before, _ := e.db.LogSize(t.Context(), tn.accountID)
	tests := []struct {
		name   string
		body   string
		status int
		field  string
	}{
		{"malformed JSON", `{"action": "a.b"`, 400, ""},
		{"not an object", `["a.b"]`, 400, ""},
		{"empty body", ``, 400, ""},
		{"unknown field", `{"action": "a.b", "acton": "x"}`, 400, "acton"},
		{"duplicate field", `{"action": "a.b", "action": "c.d"}`, 400, "action"},
		{"wrong type", `{"action": 5}`, 400, "action"},
		{"wrong nested type", `{"action": "a.b", "actor": {"user_id": "7"}}`, 400, "actor.user_id"},
		{"missing action", `{"resource_id": "1"}`, 400, "action"},
		{"bad action", `{"action": "Order Refunded"}`, 400, "action"},
		{"non-UTF-8", "{\"action\": \"a.b\", \"details\": \"\xff\xfe\"}", 400, ""},
		{"control character", `{"action": "a.b", "resource_id": "1\u0007"}`, 400, "resource_id"},
		{"oversize field", `{"action": "a.b", "details": "` + strings.Repeat("x", 10_001) + `"}`, 400, "details"},
		{"oversize body", `{"action": "a.b", "details": "` + strings.Repeat("x", 300<<10) + `"}`, 413, ""},
		{"bad IP", `{"action": "a.b", "ip_address": "localhost"}`, 400, "ip_address"},
		{"bad time", `{"action": "a.b", "occurred_at": "yesterday"}`, 400, "occurred_at"},
		{"future time", `{"action": "a.b", "occurred_at": "2999-01-01T00:00:00Z"}`, 400, "occurred_at"},
		{"metadata not an object", `{"action": "a.b", "metadata": [1]}`, 400, "metadata"},
		{"metadata too large", `{"action": "a.b", "metadata": {"x": "` + strings.Repeat("y", 17<<10) + `"}}`, 400, "metadata"},
		{"change without field", `{"action": "a.b", "changes": [{"old": 1, "new": 2}]}`, 400, "changes[0].field"},
		{"both actors", `{"action": "a.b", "actor": {"user_id": 1, "id": "x"}}`, 400, "actor"},
		{"reserved actor type", `{"action": "a.b", "actor": {"id": "x", "type": "system"}}`, 400, "actor.type"},
		{"bad event_id", `{"action": "a.b", "event_id": "has space"}`, 400, "event_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := map[int]string{400: "invalid", 413: "too_large"}[tt.status]
			svc.do("POST", "/api/audit-logs", tt.body).wantError(t, tt.status, code, tt.field)
		})
	}
	svc.do("POST", "/api/audit-logs", "action=a.b", "Content-Type", "text/plain").wantError(t, 415, "unsupported", "")
	if after, _ := e.db.LogSize(t.Context(), tn.accountID); after != before {
		t.Errorf("bad requests wrote %d events", after-before)
	}
	e.client().do("GET", "/healthz", nil).want(t, 200)
}

// TestIngestSaturated fills a tiny writer queue while the database is busy
// and checks that the next request gets 503 with Retry-After at once.
func TestIngestSaturated(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	w := ingest.NewWriter(db, sqltest.Signer(t), ingest.Options{MaxQueuedEvents: 1})
	t.Cleanup(w.Close)
	e := newTestEnv(t, db, withWriter(w))
	tn := e.newTenant("acme")
	svc, _ := e.newKey(tn, "svc", "events:write")

	const deadline = 10 * time.Second // for each wait below
	held, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce) // runs before the writer's Close, registered earlier
	go db.Update(t.Context(), func(*sqlstore.Tx) error { close(held); <-release; return nil })
	select {
	case <-held:
	case <-time.After(deadline):
		t.Fatalf("the transaction holding the database did not start within %s", deadline)
	}
	first := make(chan *response, 1)
	go func() { first <- svc.do("POST", "/api/audit-logs", map[string]any{"action": "a.first"}) }()
	for start := time.Now(); w.Queued() != 1; time.Sleep(time.Millisecond) {
		if time.Since(start) > deadline {
			t.Fatalf("queued %d events after %s; want 1", w.Queued(), deadline)
		}
	}
	r := svc.do("POST", "/api/audit-logs", map[string]any{"action": "a.second"})
	r.wantError(t, 503, "unavailable", "")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	releaseOnce()
	select {
	case r := <-first:
		r.want(t, 201)
	case <-time.After(deadline):
		t.Fatalf("the queued request did not complete within %s of the release", deadline)
	}
}

// TestIngestRateLimit checks that an API key's ingest requests draw from
// its own bucket: past the limit, 429 with Retry-After, and another key is
// unaffected.
func TestIngestRateLimit(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t), withConfig(func(c *config.Config) { c.RateLimitIngest = ratelimit.Rule{Limit: 2, Period: time.Minute} }))
	tn := e.newTenant("acme")
	a, _ := e.newKey(tn, "a", "events:write")
	b, _ := e.newKey(tn, "b", "events:write")
	for range 2 {
		a.do("POST", "/api/audit-logs", map[string]any{"action": "x.y"}).want(t, 201)
	}
	r := a.do("POST", "/api/audit-logs/batch", map[string]any{"events": []any{map[string]any{"action": "x.y"}}})
	r.wantError(t, 429, "rate_limited", "")
	if r.header.Get("Retry-After") == "" || r.header.Get("RateLimit") == "" {
		t.Errorf("429 headers: %v", r.header)
	}
	b.do("POST", "/api/audit-logs", map[string]any{"action": "x.y"}).want(t, 201)
}
