package server

import (
	"strconv"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// refundSchema requires metadata.amount_cents, a non-negative integer.
var refundSchema = map[string]any{
	"type":     "object",
	"required": []string{"metadata"},
	"properties": map[string]any{
		"metadata": map[string]any{
			"type":       "object",
			"required":   []string{"amount_cents"},
			"properties": map[string]any{"amount_cents": map[string]any{"type": "integer", "minimum": 0}},
		},
	},
}

// TestEventSchemas: who registers, reads and deletes event schemas, and
// how ingest (single, batch, platform batch) checks events against them,
// all or nothing, on every engine.
func TestEventSchemas(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		plat, _ := e.platformClient("schemas", audit.PlatformScopeSchemasWrite, audit.PlatformScopeEventsWrite, audit.PlatformScopeAccountsWrite)
		noScope, _ := e.platformClient("events-only", audit.PlatformScopeEventsWrite)
		tn := e.newTenant("acme")
		other := e.newTenant("other")
		admin, _ := e.addUser(tn, audit.RoleAdmin)
		analyst, _ := e.addUser(tn, audit.RoleAnalyst)
		r := tn.owner.do("POST", "/api/api-keys", map[string]any{"name": "shop", "scopes": []string{"events:write"}}).want(t, 201)
		key := e.client()
		key.bearer = r.body["key"].(string)
		acct := strconv.FormatInt(tn.accountID, 10)

		// Who may register, and what a schema must be.
		for _, c := range []struct {
			name   string
			by     *client
			body   map[string]any
			status int
			code   string
			field  string
		}{
			{"no schemas:write scope", noScope, map[string]any{"all_accounts": true, "action": "order.refunded", "schema": refundSchema}, 403, "forbidden", ""},
			{"an admin", admin, map[string]any{"action": "order.refunded", "schema": refundSchema}, 403, "forbidden", ""},
			{"an analyst", analyst, map[string]any{"action": "order.refunded", "schema": refundSchema}, 403, "forbidden", ""},
			{"an API key", key, map[string]any{"action": "order.refunded", "schema": refundSchema}, 403, "forbidden", ""},
			{"an owner for all accounts", tn.owner, map[string]any{"all_accounts": true, "action": "order.refunded", "schema": refundSchema}, 403, "forbidden", ""},
			{"an owner for another account", tn.owner, map[string]any{"account_id": other.accountID, "action": "order.refunded", "schema": refundSchema}, 404, "not_found", ""},
			{"a platform naming no account", plat, map[string]any{"action": "order.refunded", "schema": refundSchema}, 400, "invalid", "account_id"},
			{"a platform naming an unknown account", plat, map[string]any{"external_id": "nope", "action": "order.refunded", "schema": refundSchema}, 404, "not_found", ""},
			{"a bad action", tn.owner, map[string]any{"action": "Order Refunded", "schema": refundSchema}, 400, "invalid", "action"},
			{"no schema", tn.owner, map[string]any{"action": "order.refunded"}, 400, "invalid", "schema"},
			{"a schema that is not an object", tn.owner, map[string]any{"action": "order.refunded", "schema": []int{1}}, 400, "invalid", "schema"},
			{"a schema with a bad keyword", tn.owner, map[string]any{"action": "order.refunded", "schema": map[string]any{"type": "thing"}}, 400, "invalid", "schema"},
			{"a schema reading a file", tn.owner, map[string]any{"action": "order.refunded", "schema": map[string]any{"$ref": "file:///etc/passwd"}}, 400, "invalid", "schema"},
			{"a schema fetching a URL", tn.owner, map[string]any{"action": "order.refunded", "schema": map[string]any{"$ref": "https://example.com/s.json"}}, 400, "invalid", "schema"},
			{"a bad pattern", tn.owner, map[string]any{"action": "order.refunded", "schema": map[string]any{"pattern": "("}}, 400, "invalid", "schema"},
			{"too large", tn.owner, map[string]any{"action": "order.refunded", "schema": map[string]any{"description": strings.Repeat("x", 40<<10)}}, 400, "invalid", "schema"},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.by.do("POST", "/api/event-schemas", c.body).wantError(t, c.status, c.code, c.field)
			})
		}
		// A file reference's error names no file content.
		if r := tn.owner.do("POST", "/api/event-schemas", map[string]any{"action": "a.b", "schema": map[string]any{"$ref": "file:///etc/passwd"}}); strings.Contains(string(r.raw), "root:") {
			t.Errorf("the error shows a file's content: %s", r.raw)
		}

		// The platform's schema for every account; the owner's own, for theirs.
		global := plat.do("POST", "/api/event-schemas", map[string]any{"all_accounts": true, "action": "order.refunded", "schema": refundSchema}).want(t, 201).obj("event_schema")
		if global["account_id"] != nil || num(global, "version") != 1 || global["used"] != false {
			t.Errorf("all-accounts schema: %v", global)
		}
		own := tn.owner.do("POST", "/api/event-schemas", map[string]any{"action": "order.refunded",
			"schema": map[string]any{"properties": map[string]any{"resource_type": map[string]any{"const": "order"}}}}).want(t, 201).obj("event_schema")
		if num(own, "account_id") != tn.accountID || num(own, "version") != 1 {
			t.Errorf("account schema: %v", own)
		}
		ownID := strconv.FormatInt(num(own, "id"), 10)
		globalID := strconv.FormatInt(num(global, "id"), 10)

		// Reading: the owner and admins see their account's and the
		// platform's; another account's owner sees only the platform's.
		if l := admin.do("GET", "/api/event-schemas", nil).want(t, 200).list("event_schemas"); len(l) != 2 {
			t.Errorf("admin lists %d schemas; want 2", len(l))
		}
		if l := other.owner.do("GET", "/api/event-schemas?action=order.refunded", nil).want(t, 200).list("event_schemas"); len(l) != 1 {
			t.Errorf("another account lists %d schemas; want the platform's only", len(l))
		}
		other.owner.do("GET", "/api/event-schemas/"+ownID, nil).wantError(t, 404, "not_found", "")
		other.owner.do("DELETE", "/api/event-schemas/"+ownID, nil).wantError(t, 404, "not_found", "")
		other.owner.do("GET", "/api/event-schemas/"+globalID, nil).want(t, 200)
		tn.owner.do("DELETE", "/api/event-schemas/"+globalID, nil).wantError(t, 403, "forbidden", "")
		analyst.do("GET", "/api/event-schemas", nil).wantError(t, 403, "forbidden", "")
		if l := plat.do("GET", "/api/event-schemas?account_id="+acct, nil).want(t, 200).list("event_schemas"); len(l) != 2 {
			t.Errorf("the platform lists %d schemas of the account; want 2", len(l))
		}
		if l := plat.do("GET", "/api/event-schemas", nil).want(t, 200).list("event_schemas"); len(l) != 1 {
			t.Errorf("the platform lists %d all-accounts schemas; want 1", len(l))
		}
		plat.do("GET", "/api/event-schemas?account_id=x", nil).wantError(t, 400, "invalid", "account_id")
		tn.owner.do("GET", "/api/event-schemas/999999", nil).wantError(t, 404, "not_found", "")

		// Ingest: every path checks, all or nothing, naming the field.
		size := e.logSize(tn.accountID)
		good := map[string]any{"action": "order.refunded", "resource_type": "order", "metadata": map[string]any{"amount_cents": 4200}}
		for _, c := range []struct {
			name  string
			by    *client
			path  string
			body  any
			field string
			ptr   string
		}{
			{"missing metadata", key, "/api/audit-logs", map[string]any{"action": "order.refunded", "resource_type": "order"}, "metadata", `"/metadata"`},
			{"a negative amount", key, "/api/audit-logs", map[string]any{"action": "order.refunded", "resource_type": "order", "metadata": map[string]any{"amount_cents": -1}}, "metadata.amount_cents", `"/metadata/amount_cents"`},
			{"a string amount", key, "/api/audit-logs", map[string]any{"action": "order.refunded", "resource_type": "order", "metadata": map[string]any{"amount_cents": "42"}}, "metadata.amount_cents", `"/metadata/amount_cents"`},
			{"the account's schema", key, "/api/audit-logs", map[string]any{"action": "order.refunded", "resource_type": "invoice", "metadata": map[string]any{"amount_cents": 1}}, "resource_type", `"/resource_type"`},
			{"one bad event of a batch", key, "/api/audit-logs/batch", map[string]any{"events": []any{good, map[string]any{"action": "order.refunded", "resource_type": "order", "metadata": map[string]any{}}}}, "metadata.amount_cents", `"/metadata/amount_cents"`},
			{"one bad event of a platform batch", plat, "/api/platform/events/batch", map[string]any{"events": []any{
				map[string]any{"account_id": tn.accountID, "action": "order.created"},
				map[string]any{"account_id": other.accountID, "action": "order.refunded", "metadata": map[string]any{"amount_cents": 1.5}}}}, "metadata.amount_cents", `"/metadata/amount_cents"`},
			{"a platform's single event", plat, "/api/platform/events", map[string]any{"account_id": tn.accountID, "action": "order.refunded", "resource_type": "order"}, "metadata", `"/metadata"`},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := c.by.do("POST", c.path, c.body)
				r.wantError(t, 400, "invalid", c.field)
				if msg, _ := r.body["error"].(string); !strings.Contains(msg, c.ptr) || !strings.Contains(msg, "order.refunded") {
					t.Errorf("the error does not name the JSON pointer %s: %s", c.ptr, r.raw)
				}
			})
		}
		if got := e.logSize(tn.accountID); got != size {
			t.Fatalf("invalid requests wrote %d events", got-size)
		}
		// The same events, valid, are written; other actions are not checked.
		key.do("POST", "/api/audit-logs", good).want(t, 201)
		key.do("POST", "/api/audit-logs/batch", map[string]any{"events": []any{good, map[string]any{"action": "order.created"}}}).want(t, 201)
		plat.do("POST", "/api/platform/events/batch", map[string]any{"events": []any{
			map[string]any{"account_id": other.accountID, "action": "order.refunded", "metadata": map[string]any{"amount_cents": 0}}}}).want(t, 201)

		// Used versions are immutable; a new version replaces them.
		tn.owner.do("DELETE", "/api/event-schemas/"+ownID, nil).wantError(t, 409, "conflict", "")
		plat.do("DELETE", "/api/event-schemas/"+globalID, nil).wantError(t, 409, "conflict", "")
		if g := tn.owner.do("GET", "/api/event-schemas/"+ownID, nil).want(t, 200).obj("event_schema"); g["used"] != true {
			t.Errorf("a used schema says used=%v", g["used"])
		}
		v2 := plat.do("POST", "/api/event-schemas", map[string]any{"all_accounts": true, "action": "order.refunded",
			"schema": map[string]any{"required": []string{"actor"}}}).want(t, 201).obj("event_schema")
		if num(v2, "version") != 2 {
			t.Errorf("second version: %v", v2)
		}
		key.do("POST", "/api/audit-logs", good).wantError(t, 400, "invalid", "actor")
		// An unused version can be deleted, and the previous one applies again.
		r = plat.do("DELETE", "/api/event-schemas/"+strconv.FormatInt(num(v2, "id"), 10), nil).want(t, 200)
		if !strings.Contains(r.body["message"].(string), "version 2") {
			t.Errorf("delete: %s", r.raw)
		}
		key.do("POST", "/api/audit-logs", good).want(t, 201)
		v2own := tn.owner.do("POST", "/api/event-schemas", map[string]any{"action": "order.refunded", "schema": map[string]any{}}).want(t, 201).obj("event_schema")
		tn.owner.do("DELETE", "/api/event-schemas/"+strconv.FormatInt(num(v2own, "id"), 10), nil).want(t, 200)
		admin.do("DELETE", "/api/event-schemas/"+ownID, nil).wantError(t, 403, "forbidden", "")

		// Changes to the account's schemas are in its trail.
		got := actions(tn.events(t, "q=action:event_schema_created,event_schema_deleted"))
		if strings.Join(got, " ") != "event_schema_deleted event_schema_created event_schema_created" {
			t.Errorf("recorded %v", got)
		}
	})
}
