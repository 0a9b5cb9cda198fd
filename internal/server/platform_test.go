package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// platformClient creates a platform key with the scopes, as the operator
// does, and returns a client that sends it, and the key's ID.
func (e *testEnv) platformClient(name string, scopes ...string) (*client, int64) {
	e.t.Helper()
	key, k, err := e.app.CreatePlatformKey(e.t.Context(), "test", name, scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.client()
	c.bearer = key
	return c, k.ID
}

// rawStatus GETs path, whatever its response's type, and returns the
// status.
func (c *client) rawStatus(path string) int {
	c.env.t.Helper()
	req, _ := http.NewRequest("GET", c.env.ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.bearer)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.env.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// allPlatformScopes is every scope a platform key may hold.
var allPlatformScopes = audit.PlatformScopes

// platformAccount creates an account with the external ID through the
// platform route and returns its ID.
func platformAccount(t *testing.T, c *client, ext string) int64 {
	t.Helper()
	r := c.do("POST", "/api/platform/accounts", map[string]any{"name": "Shop " + ext, "domain": ext + ".example.com", "external_id": ext}).
		want(t, http.StatusCreated)
	return num(r.obj("account"), "id")
}

// logSize returns the size of the account's log.
func (e *testEnv) logSize(id int64) int64 {
	e.t.Helper()
	n, err := e.db.LogSize(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestPlatformScopes: each platform route needs its scope (403 without
// it), platform keys work on the platform routes only and account keys and
// sessions not there, and a revoked key stops at once.
func TestPlatformScopes(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		all, allID := e.platformClient("all", allPlatformScopes...)
		acct := platformAccount(t, all, "m-1")
		id := strconv.FormatInt(acct, 10)
		ev := map[string]any{"account_id": acct, "action": "order.created"}
		calls := []struct {
			scope, method, path string
			body                any
			ok                  int
		}{
			{audit.PlatformScopeAccountsWrite, "POST", "/api/platform/accounts", map[string]any{"name": "X", "domain": "x-scope.example.com", "external_id": "x-scope"}, 201},
			{audit.PlatformScopeAccountsRead, "GET", "/api/platform/accounts?external_id=m-1", nil, 200},
			{audit.PlatformScopeAccountsRead, "GET", "/api/platform/accounts/" + id, nil, 200},
			{audit.PlatformScopeEventsWrite, "POST", "/api/platform/events", ev, 201},
			{audit.PlatformScopeEventsWrite, "POST", "/api/platform/events/batch", map[string]any{"events": []any{ev}}, 201},
			{audit.PlatformScopeEventsRead, "GET", "/api/platform/accounts/" + id + "/audit-logs", nil, 200},
			{audit.PlatformScopeEventsRead, "GET", "/api/platform/accounts/" + id + "/audit-logs/export?format=csv", nil, 200},
			{audit.PlatformScopeEventsRead, "GET", "/api/platform/accounts/" + id + "/audit-logs/checkpoint", nil, 200},
			{audit.PlatformScopeViewerCreate, "POST", "/api/viewer-tokens", map[string]any{"account_id": acct, "origins": []string{"https://admin.example.com"}}, 201},
		}
		for _, c := range calls {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				var others []string
				for _, s := range allPlatformScopes {
					if s != c.scope {
						others = append(others, s)
					}
				}
				without, _ := e.platformClient("without-"+c.scope, others...)
				with, _ := e.platformClient("with-"+c.scope, c.scope)
				without.do(c.method, c.path, c.body).wantError(t, http.StatusForbidden, "forbidden", "")
				if strings.Contains(c.path, "/export") { // not JSON
					if got := with.rawStatus(c.path); got != c.ok {
						t.Errorf("with %s: status %d; want %d", c.scope, got, c.ok)
					}
					return
				}
				if r := with.do(c.method, c.path, c.body); r.status != c.ok {
					t.Errorf("with %s: status %d; want %d: %s", c.scope, r.status, c.ok, r.raw)
				}
			})
		}

		// An account's own key and owner are refused on the platform
		// routes; the platform key is refused on the account's routes.
		tn := e.newTenant("acme")
		key, _ := e.newKey(tn, "svc", "events:write", "events:read")
		key.do("GET", "/api/platform/accounts/"+id+"/audit-logs", nil).wantError(t, http.StatusUnauthorized, "unauthorized", "")
		key.do("POST", "/api/platform/events", ev).wantError(t, http.StatusUnauthorized, "unauthorized", "")
		tn.owner.do("GET", "/api/platform/accounts/"+id+"/audit-logs", nil).wantError(t, http.StatusUnauthorized, "unauthorized", "")
		key.do("POST", "/api/viewer-tokens", map[string]any{"origins": []string{"https://a.example.com"}}).wantError(t, http.StatusForbidden, "forbidden", "")
		all.do("GET", "/api/audit-logs", nil).wantError(t, http.StatusForbidden, "forbidden", "")
		all.do("POST", "/api/audit-logs", map[string]any{"action": "order.created"}).wantError(t, http.StatusForbidden, "forbidden", "")
		all.do("GET", "/api/accounts/"+id, nil).wantError(t, http.StatusForbidden, "forbidden", "")

		// A revoked key stops at once.
		if _, err := e.app.RevokePlatformKey(t.Context(), allID); err != nil {
			t.Fatal(err)
		}
		all.do("GET", "/api/platform/accounts/"+id, nil).wantError(t, http.StatusUnauthorized, "unauthorized", "")
		all.do("POST", "/api/platform/events", ev).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	})
}

// TestPlatformAccounts: a platform key creates accounts with its own
// merchant IDs, unique, and finds them by it; account_created is recorded
// in the new account, acted by the key.
func TestPlatformAccounts(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		p, _ := e.platformClient("billing", allPlatformScopes...)
		r := p.do("POST", "/api/platform/accounts", map[string]any{"name": "Shop", "domain": "shop.example.com", "external_id": "merchant-1",
			"owner_email": "owner@shop.example.com", "owner_password": "correct-horse-battery"}).want(t, http.StatusCreated)
		acct := r.obj("account")
		if acct["external_id"] != "merchant-1" || r.obj("user")["email"] != "owner@shop.example.com" {
			t.Fatalf("created %s", r.raw)
		}
		id := num(acct, "id")
		for _, tt := range []struct {
			body   map[string]any
			status int
			code   string
			field  string
		}{
			{map[string]any{"name": "Again", "domain": "again.example.com", "external_id": "merchant-1"}, 409, "conflict", "external_id"},
			{map[string]any{"name": "Dup", "domain": "shop.example.com", "external_id": "merchant-2"}, 409, "conflict", "domain"},
			{map[string]any{"name": "NoExt", "domain": "noext.example.com"}, 400, "invalid", "external_id"},
			{map[string]any{"name": "BadExt", "domain": "badext.example.com", "external_id": "a b"}, 400, "invalid", "external_id"},
			{map[string]any{"domain": "noname.example.com", "external_id": "m-3"}, 400, "invalid", "name"},
			{map[string]any{"name": "W", "domain": "weak.example.com", "external_id": "m-4", "owner_email": "o@weak.example.com", "owner_password": "password123"}, 400, "invalid", "owner_password"},
		} {
			p.do("POST", "/api/platform/accounts", tt.body).wantError(t, tt.status, tt.code, tt.field)
		}
		got := p.do("GET", "/api/platform/accounts?external_id=merchant-1", nil).want(t, 200).obj("account")
		if num(got, "id") != id {
			t.Errorf("by external id: %v; want account %d", got, id)
		}
		p.do("GET", "/api/platform/accounts?external_id=nobody", nil).wantError(t, 404, "not_found", "")
		p.do("GET", "/api/platform/accounts", nil).wantError(t, 400, "invalid", "external_id")
		p.do("GET", "/api/platform/accounts/999999", nil).wantError(t, 404, "not_found", "")

		// The owner reads account_created and user_created, acted by the key.
		owner := e.client()
		owner.login("owner@shop.example.com", "correct-horse-battery")
		list := owner.do("GET", "/api/audit-logs", nil).want(t, 200).list("audit_logs")
		var types []string
		for _, ev := range list {
			actor, _ := ev.(map[string]any)["actor"].(map[string]any)
			if ev.(map[string]any)["action"] == "account_created" || ev.(map[string]any)["action"] == "user_created" {
				types = append(types, actor["type"].(string))
			}
		}
		if strings.Join(types, ",") != "platform_key,platform_key" {
			t.Errorf("actors of account_created and user_created: %v", types)
		}
	})
}

// TestPlatformBatchAcrossAccounts: a platform batch writes to several
// accounts all or none, keeps idempotency per account, and records the key
// as the actor; a narrowed read names one account.
func TestPlatformBatchAcrossAccounts(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		p, _ := e.platformClient("billing", allPlatformScopes...)
		a, b := platformAccount(t, p, "m-a"), platformAccount(t, p, "m-b")
		sizeA, sizeB := e.logSize(a), e.logSize(b)

		// One bad item: nothing is written in either account.
		for _, bad := range []map[string]any{
			{"account_id": b, "action": "NOT VALID"},
			{"account_id": 999999, "action": "order.created"},
			{"external_id": "nobody", "action": "order.created"},
			{"account_id": b, "external_id": "m-b", "action": "order.created"},
			{"action": "order.created"},
			{"account_id": b, "action": "order.created", "actor": map[string]any{"user_id": 1}},
		} {
			r := p.do("POST", "/api/platform/events/batch", map[string]any{"events": []any{
				map[string]any{"account_id": a, "action": "order.created", "event_id": "o-1"}, bad,
			}})
			r.wantError(t, http.StatusBadRequest, "invalid", "")
			if errs := r.list("errors"); len(errs) != 1 || num(errs[0].(map[string]any), "index") != 1 {
				t.Errorf("errors of %v: %s", bad, r.raw)
			}
			if e.logSize(a) != sizeA || e.logSize(b) != sizeB {
				t.Fatalf("a batch with a bad item (%v) wrote events", bad)
			}
		}

		// A good batch over both accounts, by ID and by external ID; the
		// same event_id in two accounts is two events.
		batch := map[string]any{"events": []any{
			map[string]any{"account_id": a, "action": "order.created", "event_id": "o-1"},
			map[string]any{"external_id": "m-b", "action": "order.created", "event_id": "o-1"},
			map[string]any{"external_id": "m-a", "action": "order.refunded", "event_id": "o-2", "actor": map[string]any{"id": "cust_1", "type": "customer"}},
		}}
		r := p.do("POST", "/api/platform/events/batch", batch).want(t, http.StatusCreated)
		items := r.list("audit_logs")
		if num(r.body, "created") != 3 || num(items[0].(map[string]any), "account_id") != a || num(items[1].(map[string]any), "account_id") != b {
			t.Fatalf("batch %s", r.raw)
		}
		if e.logSize(a) != sizeA+2 || e.logSize(b) != sizeB+1 {
			t.Fatalf("log sizes %d, %d; want %d, %d", e.logSize(a), e.logSize(b), sizeA+2, sizeB+1)
		}
		// The retry is a replay in each account.
		r = p.do("POST", "/api/platform/events/batch", batch).want(t, http.StatusOK)
		if num(r.body, "replayed") != 3 || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry %s", r.raw)
		}
		p.do("POST", "/api/platform/events", map[string]any{"external_id": "m-b", "action": "order.created", "event_id": "o-1"}).want(t, http.StatusOK)
		if e.logSize(a) != sizeA+2 || e.logSize(b) != sizeB+1 {
			t.Fatal("a replay wrote events")
		}

		// Reads name one account; the actor is the platform key unless the
		// event names one.
		list := p.do("GET", "/api/platform/accounts/"+strconv.FormatInt(b, 10)+"/audit-logs?action=order.created", nil).want(t, 200).list("audit_logs")
		if len(list) != 1 || list[0].(map[string]any)["actor"].(map[string]any)["type"] != "platform_key" {
			t.Errorf("account b's events %v", list)
		}
		p.do("GET", "/api/platform/accounts/999999/audit-logs", nil).wantError(t, 404, "not_found", "")
		p.do("GET", "/api/platform/accounts/abc/audit-logs", nil).wantError(t, 404, "not_found", "")
		// An event of account a is not found through account b.
		ida := strconv.FormatInt(num(items[0].(map[string]any), "id"), 10)
		p.do("GET", "/api/platform/accounts/"+strconv.FormatInt(b, 10)+"/audit-logs/"+ida, nil).wantError(t, 404, "not_found", "")
		p.do("GET", "/api/platform/accounts/"+strconv.FormatInt(a, 10)+"/audit-logs/"+ida, nil).want(t, 200)

		// Every account's log still verifies.
		for _, id := range []int64{a, b} {
			rep := p.do("GET", "/api/platform/accounts/"+strconv.FormatInt(id, 10)+"/audit-logs/"+ida+"/proof", nil)
			if id == a {
				rep.want(t, 200)
			}
			keys := sqltest.Signer(t).VerifierKeys()
			report, err := db.VerifyLog(t.Context(), id, keys[0], keys[1:]...)
			if err != nil || report.Failure != nil {
				t.Errorf("account %d's log: %v %+v", id, err, report)
			}
		}

		// A client cannot claim the platform key's actor type.
		p.do("POST", "/api/platform/events", map[string]any{"account_id": a, "action": "order.created",
			"actor": map[string]any{"id": "x", "type": "platform_key"}}).wantError(t, 400, "invalid", "actor.type")
	})
}
