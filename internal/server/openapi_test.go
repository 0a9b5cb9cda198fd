package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/auditlog/auditlog/api"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// openAPIDoc is api/openapi.json, read for checking responses against it.
type openAPIDoc struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	ops      map[string]*openAPIOp // by "METHOD /path/{template}"

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema // compiled, by JSON pointer
}

// openAPIOp is one operation of the document, and what the test saw of it.
type openAPIOp struct {
	method, path string
	security     []any
	hasBody      bool
	responses    map[string]any
	seen         map[int]bool // statuses the server answered
}

// docURL names the document for the schema compiler.
const docURL = "https://auditlog.invalid/openapi.json"

func loadOpenAPI(t *testing.T) *openAPIDoc {
	t.Helper()
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(api.OpenAPI))
	if err != nil {
		t.Fatalf("api/openapi.json: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(docURL, raw); err != nil {
		t.Fatal(err)
	}
	d := &openAPIDoc{doc: doc, compiler: c, ops: map[string]*openAPIOp{}, schemas: map[string]*jsonschema.Schema{}}
	if v := doc["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v; want 3.1.0", v)
	}
	for path, item := range doc["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			o := o.(map[string]any)
			op := &openAPIOp{method: strings.ToUpper(method), path: path, responses: o["responses"].(map[string]any), seen: map[int]bool{}, hasBody: o["requestBody"] != nil}
			op.security, _ = o["security"].([]any)
			if o["security"] == nil {
				op.security = doc["security"].([]any)
			}
			d.ops[op.method+" "+path] = op
		}
	}
	return d
}

// pointer escapes s as one JSON-pointer token.
func pointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// schema compiles the schema at the JSON pointer ptr of the document.
func (d *openAPIDoc) schema(ptr string) (*jsonschema.Schema, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.schemas[ptr]; s != nil {
		return s, nil
	}
	s, err := d.compiler.Compile(docURL + "#" + ptr)
	if err != nil {
		return nil, err
	}
	d.schemas[ptr] = s
	return s, nil
}

// find returns the operation whose method and path template match the
// request; a literal segment beats a parameter ("/api/audit-logs/export"
// is not "/api/audit-logs/{id}").
func (d *openAPIDoc) find(method, path string) *openAPIOp {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	segs := strings.Split(path, "/")
	var best *openAPIOp
	bestParams := 0
	for _, op := range d.ops {
		if op.method != method {
			continue
		}
		tsegs := strings.Split(op.path, "/")
		if len(tsegs) != len(segs) {
			continue
		}
		params, ok := 0, true
		for i, ts := range tsegs {
			switch {
			case strings.HasPrefix(ts, "{"):
				params++
			case ts != segs[i]:
				ok = false
			}
		}
		if ok && (best == nil || params < bestParams) {
			best, bestParams = op, params
		}
	}
	return best
}

// check checks one response of the real server against the document: its
// status is documented for the operation, and its body has a documented
// media type and matches that media type's schema (for NDJSON, each line
// does). It returns what is wrong, or nil.
func (d *openAPIDoc) check(method, path string, status int, header http.Header, body []byte) error {
	op := d.find(method, path)
	if op == nil {
		// No route: the router's JSON 404 or 405.
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			return fmt.Errorf("%s %s: no operation in the document, and answered %d", method, path, status)
		}
		sch, err := d.schema("/components/schemas/Error")
		if err != nil {
			return err
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err == nil {
			err = sch.Validate(inst)
		}
		if err != nil {
			return fmt.Errorf("%s %s: %d is not the Error shape: %v", method, path, status, err)
		}
		return nil
	}
	d.mu.Lock()
	op.seen[status] = true
	d.mu.Unlock()
	code := strconv.Itoa(status)
	resp, ok := op.responses[code].(map[string]any)
	if !ok {
		return fmt.Errorf("%s %s: status %d is not documented for %s %s (body %.300s)", method, path, status, op.method, op.path, body)
	}
	ptr := "/paths/" + pointer(op.path) + "/" + strings.ToLower(op.method) + "/responses/" + code
	if ref, ok := resp["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/responses/")
		resp = d.doc["components"].(map[string]any)["responses"].(map[string]any)[name].(map[string]any)
		ptr = "/components/responses/" + pointer(name)
	}
	content, _ := resp["content"].(map[string]any)
	if method == http.MethodHead || status == http.StatusSwitchingProtocols || status == http.StatusNotModified {
		body = nil
	}
	if len(body) == 0 {
		if len(content) > 0 && status != http.StatusSwitchingProtocols && status != http.StatusNotModified && method != http.MethodHead {
			return fmt.Errorf("%s %s: %d has no body; the document gives it one", method, path, status)
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("%s %s: Content-Type %q: %v", method, path, header.Get("Content-Type"), err)
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		return fmt.Errorf("%s %s: %d answered %s; the document lists %v", method, path, status, mt, slices.Sorted(maps.Keys(content)))
	}
	if media["schema"] == nil {
		return nil
	}
	sch, err := d.schema(ptr + "/content/" + pointer(mt) + "/schema")
	if err != nil {
		return fmt.Errorf("%s %s: schema: %v", method, path, err)
	}
	var docs [][]byte
	switch {
	case mt == "application/json":
		docs = [][]byte{body}
	case mt == "application/x-ndjson":
		docs = bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
	default:
		return nil // CSV, PDF, an event stream: not JSON
	}
	for i, doc := range docs {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
		if err != nil {
			return fmt.Errorf("%s %s: %d body (line %d) is not JSON: %v", method, path, status, i+1, err)
		}
		if err := sch.Validate(inst); err != nil {
			return fmt.Errorf("%s %s: %d body (line %d) does not match the document:\n%v\nbody: %.500s", method, path, status, i+1, err, doc)
		}
	}
	return nil
}

// recorder keeps a copy of what the handler writes, and lets a WebSocket
// take the connection over.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() { http.NewResponseController(r.ResponseWriter).Flush() }

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// conforming wraps h so that every response it writes is checked against
// the document.
func (d *openAPIDoc) conforming(t *testing.T, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if err := d.check(r.Method, r.URL.Path, rec.status, w.Header(), rec.body.Bytes()); err != nil {
			t.Error(err)
		}
	})
}

// TestOpenAPI holds api/openapi.json to the server: the router and the
// document name the same operations, and every response the server gives
// in this test — each route's success and its main errors, every route
// without credentials and as a role without its permission, and every
// request body malformed — has a documented status and matches the
// documented schema (the shared error shape for every error). Every
// operation must have answered with success at least once.
func TestOpenAPI(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		d := loadOpenAPI(t)
		e := newTestEnv(t, db, func(deps *testDeps) {
			deps.Wrap = func(h http.Handler) http.Handler { return d.conforming(t, h) }
			deps.Config.StreamsAllowHTTP, deps.Config.StreamsAllowPrivate = true, true // a stream to a local receiver
		})

		t.Run("routes", func(t *testing.T) {
			var routed []string
			for _, p := range e.srv.patterns {
				routed = append(routed, p)
				if d.ops[p] == nil {
					t.Errorf("route %s has no operation in api/openapi.json", p)
				}
			}
			for k := range d.ops {
				if !slices.Contains(routed, k) {
					t.Errorf("api/openapi.json documents %s; the router has no such route", k)
				}
			}
		})
		t.Run("errors", func(t *testing.T) { checkErrorResponses(t, d) })

		driveEveryRoute(t, e, d)

		for k, op := range d.ops {
			ok := false
			for s := range op.seen {
				ok = ok || s < 300 && s != http.StatusNoContent || s == http.StatusNoContent
			}
			if !ok {
				t.Errorf("%s never answered with success in this test: add it (statuses seen: %v)", k, slices.Sorted(maps.Keys(op.seen)))
			}
		}
	})
}

// checkErrorResponses checks that every error status of every operation
// is one of the shared responses, whose body is the Error schema.
func checkErrorResponses(t *testing.T, d *openAPIDoc) {
	shared := d.doc["components"].(map[string]any)["responses"].(map[string]any)
	for name, r := range shared {
		s := r.(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
		if s["$ref"] != "#/components/schemas/Error" {
			t.Errorf("components/responses/%s is not the Error schema", name)
		}
	}
	for k, op := range d.ops {
		for code, r := range op.responses {
			if code >= "400" && r.(map[string]any)["$ref"] == nil {
				t.Errorf("%s: response %s is not a shared error response ($ref #/components/responses/%s)", k, code, code)
			}
		}
		for _, must := range []string{"500", "503"} {
			if op.responses[must] == nil {
				t.Errorf("%s: does not document %s", k, must)
			}
		}
	}
}

// driveEveryRoute calls every route as a client would.
func driveEveryRoute(t *testing.T, e *testEnv, d *openAPIDoc) {
	anon := e.client()
	for _, p := range []string{"/healthz", "/readyz", "/api/openapi.json", "/api/verifier-key", "/api/nope"} {
		anon.do("GET", p, nil)
	}
	anon.do("DELETE", "/api/users", nil).wantError(t, http.StatusMethodNotAllowed, "not_allowed", "")
	tn := e.newTenant("acme")
	owner := tn.owner
	ownerID := strconv.FormatInt(tn.ownerID, 10)
	acct := strconv.FormatInt(tn.accountID, 10)
	analyst, analystID := e.addUser(tn, audit.RoleAnalyst)
	admin, _ := e.addUser(tn, audit.RoleAdmin)
	e.newTenant("other").owner.do("POST", "/api/accounts", map[string]string{
		"name": "Acme", "domain": "acme.example.com", "owner_email": "x@acme.example.com", "owner_password": "long-password-1",
	}).wantError(t, http.StatusConflict, "conflict", "domain")

	// Every route without credentials: 401, or the public route's answer.
	for _, op := range sortedOps(d) {
		if len(op.security) == 0 || op.path == "/api/auth/logout" {
			continue
		}
		anon.do(op.method, fill(op.path, "1"), nil).wantError(t, http.StatusUnauthorized, "unauthorized", "")
	}
	// Every route as an analyst, whose role lacks most permissions, and
	// as a session where a route wants an API key.
	for _, op := range sortedOps(d) {
		if len(op.security) == 0 || op.path == "/api/auth/logout" {
			continue
		}
		analyst.do(op.method, fill(op.path, "1"), nil)
	}
	// Every request body that is not a JSON object: 400.
	platform, _ := e.platformClient("openapi", audit.PlatformScopes...)
	for _, op := range sortedOps(d) {
		if !op.hasBody || op.path == "/mcp" {
			continue
		}
		c := owner
		if strings.HasPrefix(op.path, "/api/platform/") {
			c = platform
		}
		c.do(op.method, fill(op.path, acct), "[1]").wantError(t, http.StatusBadRequest, "invalid", "")
	}
	drivePlatformRoutes(t, platform, owner, acct)

	// Accounts and users.
	owner.do("GET", "/api/auth/me", nil).want(t, 200)
	owner.do("GET", "/api/accounts/"+acct, nil).want(t, 200)
	owner.do("GET", "/api/accounts/999999", nil).wantError(t, 404, "not_found", "")
	owner.do("GET", "/api/accounts/"+acct+"/security", nil).want(t, 200)
	owner.do("PATCH", "/api/accounts/"+acct+"/security", map[string]any{"require_mfa": false}).want(t, 200)
	owner.do("PATCH", "/api/accounts/"+acct, map[string]any{"retention_days": 90}).want(t, 200)
	owner.do("GET", "/api/users", nil).want(t, 200)
	owner.do("POST", "/api/users", map[string]string{"email": "bad", "password": "long-password-1", "role": "analyst"}).wantError(t, 400, "invalid", "email")
	owner.do("PATCH", "/api/users/"+strconv.FormatInt(analystID, 10), map[string]any{"role": "admin"}).want(t, 200)
	owner.do("PATCH", "/api/users/"+ownerID, map[string]any{"is_active": false}).wantError(t, 409, "conflict", "")
	admin.do("POST", "/api/users", map[string]string{"email": "analyst@acme.example.com", "password": "long-password-1", "role": "analyst"}).wantError(t, 409, "conflict", "email")
	admin.do("POST", "/api/users", map[string]string{"email": "o2@acme.example.com", "password": "long-password-1", "role": "owner"}).wantError(t, 403, "forbidden", "role")
	owner.do("POST", "/api/users", map[string]string{"email": "x@acme.example.com", "password": "long-password-1", "role": "analyst"}, "Content-Type", "text/plain").
		wantError(t, 415, "unsupported", "")

	// API keys and ingest.
	r := owner.do("POST", "/api/api-keys", map[string]any{"name": "shop", "scopes": []string{"events:write", "events:read"}}).want(t, 201)
	key := &client{env: e, hc: e.client().hc, bearer: r.body["key"].(string)}
	owner.do("GET", "/api/api-keys", nil).want(t, 200)
	r = owner.do("POST", "/api/api-keys", map[string]any{"name": "old", "scopes": []string{"events:read"}}).want(t, 201)
	owner.do("DELETE", "/api/api-keys/"+strconv.FormatInt(num(r.obj("api_key"), "id"), 10), nil).want(t, 200)
	owner.do("DELETE", "/api/api-keys/999999", nil).wantError(t, 404, "not_found", "")
	ev := map[string]any{
		"event_id": "ord-1", "action": "order.refunded", "resource_type": "order", "resource_id": "1001", "details": "Refunded 20.00",
		"ip_address": "203.0.113.9", "user_agent": "shop/1.0", "actor": map[string]any{"id": "cust_7", "name": "Ann", "email": "ann@example.net", "type": "customer"},
		"occurred_at": "2026-01-02T03:04:05Z", "outcome": "success", "metadata": map[string]any{"amount": 20},
		"changes": []any{map[string]any{"field": "status", "old": "paid", "new": "refunded"}},
	}
	r = key.do("POST", "/api/audit-logs", ev).want(t, 201)
	eventID := strconv.FormatInt(num(r.obj("audit_log"), "id"), 10)
	key.do("POST", "/api/audit-logs", ev).want(t, 200)
	key.do("POST", "/api/audit-logs", map[string]any{"action": "Bad Action"}).wantError(t, 400, "invalid", "action")
	batch := map[string]any{"events": []any{map[string]any{"action": "product.created", "event_id": "p-1"}, map[string]any{"action": "product.updated", "event_id": "p-2", "outcome": "failure"}}}
	key.do("POST", "/api/audit-logs/batch", batch).want(t, 201)
	key.do("POST", "/api/audit-logs/batch", batch).want(t, 200)
	key.do("POST", "/api/audit-logs/batch", map[string]any{"events": []any{map[string]any{"action": "ok.one"}, map[string]any{"action": "BAD"}}}).
		wantError(t, 400, "invalid", "action")
	owner.do("POST", "/api/audit-logs", map[string]any{"action": "note.added", "actor": map[string]any{"user_id": tn.ownerID}}).want(t, 201)

	// Reading the log.
	r = owner.do("GET", "/api/audit-logs?per_page=2", nil).want(t, 200)
	cursor, _ := r.obj("pagination")["next_cursor"].(string)
	owner.do("GET", "/api/audit-logs?per_page=2&cursor="+url.QueryEscape(cursor), nil).want(t, 200)
	owner.do("GET", "/api/audit-logs", nil, "If-None-Match", r.header.Get("ETag"))
	owner.do("GET", "/api/audit-logs?per_page=2", nil, "If-None-Match", r.header.Get("ETag")).want(t, 304)
	owner.do("GET", "/api/audit-logs?q=action:order.refunded&start_date=2020-01-01", nil).want(t, 200)
	owner.do("GET", "/api/audit-logs?user_id=x", nil).wantError(t, 400, "invalid", "user_id")
	key.do("GET", "/api/audit-logs?q=actor:cust_7", nil).want(t, 200)
	r = owner.do("GET", "/api/audit-logs/"+eventID, nil).want(t, 200)
	owner.do("GET", "/api/audit-logs/"+eventID, nil, "If-None-Match", r.header.Get("ETag")).want(t, 304)
	owner.do("GET", "/api/audit-logs/999999", nil).wantError(t, 404, "not_found", "")

	// The verifiable log.
	if err := e.app.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	r = owner.do("GET", "/api/audit-logs/checkpoint", nil).want(t, 200)
	owner.do("GET", "/api/audit-logs/checkpoint", nil, "If-None-Match", r.header.Get("ETag")).want(t, 304)
	size := strconv.FormatInt(num(r.body, "tree_size"), 10)
	owner.do("GET", "/api/audit-logs/checkpoint?size=x", nil).wantError(t, 400, "invalid", "size")
	owner.do("GET", "/api/audit-logs/"+eventID+"/proof", nil).want(t, 200)
	owner.do("GET", "/api/audit-logs/"+eventID+"/proof?size="+size, nil).want(t, 200)
	owner.do("GET", "/api/audit-logs/consistency?from=1&to="+size, nil).want(t, 200)
	owner.do("GET", "/api/audit-logs/consistency?from=2", nil).want(t, 200)
	owner.do("GET", "/api/audit-logs/verify", nil).want(t, 200)
	r = anon.do("GET", "/api/verifier-key", nil).want(t, 200)
	anon.do("GET", "/api/verifier-key", nil, "If-None-Match", r.header.Get("ETag")).want(t, 304)
	for _, f := range []string{"format=ndjson", "format=csv", "format=pdf"} {
		if x := fetchExport(t, owner, f); x.status != 200 {
			t.Errorf("export %s: %d", f, x.status)
		}
	}
	if x := fetchExport(t, key, "action=order.refunded"); x.status != 200 {
		t.Errorf("export with a key: %d", x.status)
	}
	owner.do("GET", "/api/audit-logs/export?format=xml", nil).wantError(t, 400, "invalid", "format")
	owner.do("GET", "/api/audit-logs/stream", nil).wantError(t, 400, "invalid", "")
	if tc, resp, err := key.dialStream("action=order.refunded"); err != nil {
		t.Errorf("stream: %v (%v)", err, resp)
	} else {
		tc.conn.CloseNow()
	}

	// Analytics.
	owner.do("GET", "/api/analytics/summary", nil).want(t, 200)
	owner.do("GET", "/api/analytics/timeseries?interval=hour&start_date="+time.Now().AddDate(0, 0, -1).Format("2006-01-02"), nil).want(t, 200)
	owner.do("GET", "/api/analytics/top?dimension=actor&limit=5", nil).want(t, 200)
	owner.do("GET", "/api/analytics/top?dimension=nope", nil).wantError(t, 400, "invalid", "dimension")
	key.do("GET", "/api/analytics/summary?user_id=1", nil).wantError(t, 400, "invalid", "user_id")

	// Chat and MCP.
	r = owner.do("POST", "/api/chat", map[string]any{"message": "who refunded orders this year?"}).want(t, 200)
	conv := strconv.FormatInt(num(r.body, "conversation_id"), 10)
	owner.do("POST", "/api/chat", map[string]any{"message": "and last week?", "conversation_id": num(r.body, "conversation_id")}).want(t, 200)
	owner.do("GET", "/api/chat/conversations", nil).want(t, 200)
	owner.do("GET", "/api/chat/conversations/"+conv, nil).want(t, 200)
	owner.do("DELETE", "/api/chat/conversations/"+conv, nil).want(t, 204)
	owner.do("DELETE", "/api/chat/conversations/"+conv, nil).wantError(t, 404, "not_found", "")
	if s, err := mcpSession(t, e, key.bearer); err != nil {
		t.Errorf("mcp: %v", err)
	} else if _, err := s.ListTools(t.Context(), nil); err != nil {
		t.Errorf("mcp tools: %v", err)
	}

	// Alert rules.
	owner.do("GET", "/api/alert-rules/defaults", nil).want(t, 200)
	r = owner.do("POST", "/api/alert-rules", map[string]any{"default": "refund_spike"}).want(t, 201)
	owner.do("POST", "/api/alert-rules", map[string]any{"default": "refund_spike"}).wantError(t, 409, "conflict", "default")
	rule := "/api/alert-rules/" + strconv.FormatInt(num(r.obj("alert_rule"), "id"), 10)
	owner.do("POST", "/api/alert-rules", map[string]any{"name": "Big refunds", "action": "order.refunded", "threshold": 2, "window_seconds": 60, "group_by": "actor"}).want(t, 201)
	key.do("POST", "/api/audit-logs/batch", map[string]any{"events": []any{map[string]any{"action": "order.refunded"}, map[string]any{"action": "order.refunded"}, map[string]any{"action": "order.refunded"}}}).want(t, 201)
	owner.do("GET", "/api/alert-rules", nil).want(t, 200)
	owner.do("GET", rule, nil).want(t, 200)
	owner.do("GET", "/api/alert-rules/999999", nil).wantError(t, 404, "not_found", "")
	owner.do("PATCH", rule, map[string]any{"threshold": 20}).want(t, 200)
	owner.do("PATCH", rule, map[string]any{"window_seconds": -1}).wantError(t, 400, "invalid", "window_seconds")
	owner.do("POST", rule+"/disable", nil).want(t, 200)
	owner.do("POST", rule+"/enable", nil).want(t, 200)
	owner.do("DELETE", rule, nil).want(t, 200)
	owner.do("POST", rule+"/enable", nil).wantError(t, 404, "not_found", "")

	// Streams to a SIEM.
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	defer receiver.Close()
	r = owner.do("POST", "/api/streams", map[string]any{"name": "SIEM", "type": "webhook", "url": receiver.URL + "/hook"}).want(t, 201)
	st := "/api/streams/" + strconv.FormatInt(num(r.obj("stream"), "id"), 10)
	owner.do("POST", "/api/streams", map[string]any{"name": "SIEM", "type": "pager", "url": receiver.URL}).wantError(t, 400, "invalid", "type")
	owner.do("GET", "/api/streams", nil).want(t, 200)
	owner.do("GET", st, nil).want(t, 200)
	owner.do("PATCH", st, map[string]any{"name": "SIEM 2"}).want(t, 200)
	owner.do("POST", st+"/test", nil).want(t, 200)
	owner.do("POST", st+"/pause", nil).want(t, 200)
	owner.do("POST", st+"/resume", nil).want(t, 200)
	owner.do("DELETE", st, nil).want(t, 200)
	owner.do("GET", st, nil).wantError(t, 404, "not_found", "")

	// Erasure: the erased event reads with personal_data_erased.
	owner.do("POST", "/api/erasures", map[string]any{"actor_id": "cust_7"}).want(t, 201)
	owner.do("POST", "/api/erasures", map[string]any{"user_id": 999999}).wantError(t, 404, "not_found", "")
	owner.do("POST", "/api/erasures", map[string]any{"user_id": tn.ownerID, "anonymize_user": true}).wantError(t, 409, "conflict", "anonymize_user")
	owner.do("POST", "/api/erasures", map[string]any{}).wantError(t, 400, "invalid", "")
	admin.do("POST", "/api/erasures", map[string]any{"actor_id": "cust_7"}).wantError(t, 403, "forbidden", "")
	owner.do("GET", "/api/erasures", nil).want(t, 200)
	owner.do("GET", "/api/audit-logs/"+eventID, nil).want(t, 200)

	// Passwords, MFA, signing out.
	c := e.client()
	c.login("admin@acme.example.com", "user-password")
	c.do("POST", "/api/auth/login", map[string]string{"email": "admin@acme.example.com", "password": "wrong"}).wantError(t, 401, "unauthorized", "")
	c.do("POST", "/api/auth/password", map[string]string{"current_password": "user-password", "new_password": "a-new-long-password-7"}).want(t, 200)
	c.do("POST", "/api/auth/password", map[string]string{"current_password": "wrong", "new_password": "a-new-long-password-7"}).wantError(t, 403, "forbidden", "current_password")
	secret, codes := c.enrolMFA(t, "a-new-long-password-7")
	c.do("POST", "/api/auth/mfa/confirm", map[string]string{"code": "000000"}).wantError(t, 409, "conflict", "")
	m := e.client()
	tok := m.loginMFA(t, "admin@acme.example.com", "a-new-long-password-7")
	m.do("POST", "/api/auth/mfa/verify", map[string]string{"mfa_token": tok, "code": codes[0]}).want(t, 200)
	m.do("POST", "/api/auth/mfa/verify", map[string]string{"code": "1"}).wantError(t, 400, "invalid", "mfa_token")
	_ = secret
	m.do("POST", "/api/auth/mfa/disable", map[string]string{"code": codes[1]}).want(t, 200)
	m.do("POST", "/api/auth/logout", nil).want(t, 200)
	m.do("POST", "/api/auth/logout", nil).wantError(t, 401, "unauthorized", "")
}

// sortedOps returns the document's operations in a fixed order.
func sortedOps(d *openAPIDoc) []*openAPIOp {
	return slices.SortedFunc(maps.Values(d.ops), func(a, b *openAPIOp) int {
		return strings.Compare(a.method+" "+a.path, b.method+" "+b.path)
	})
}

// fill puts id in a path template's parameters.
func fill(path, id string) string {
	for {
		i := strings.Index(path, "{")
		if i < 0 {
			return path
		}
		j := strings.Index(path[i:], "}")
		path = path[:i] + id + path[i+j+1:]
	}
}

// drivePlatformRoutes calls each platform route, and the viewer settings,
// with success.
func drivePlatformRoutes(t *testing.T, p, owner *client, acct string) {
	r := p.do("POST", "/api/platform/accounts", map[string]any{"name": "Platform Shop", "domain": "platform-shop.example.com", "external_id": "m-openapi"}).want(t, 201)
	id := strconv.FormatInt(num(r.obj("account"), "id"), 10)
	p.do("GET", "/api/platform/accounts?external_id=m-openapi", nil).want(t, 200)
	p.do("GET", "/api/platform/accounts/"+id, nil).want(t, 200)
	ev := p.do("POST", "/api/platform/events", map[string]any{"account_id": num(r.obj("account"), "id"), "action": "order.created"}).want(t, 201)
	eid := strconv.FormatInt(num(ev.obj("audit_log"), "id"), 10)
	p.do("POST", "/api/platform/events/batch", map[string]any{"events": []any{map[string]any{"external_id": "m-openapi", "action": "order.created"}}}).want(t, 201)
	base := "/api/platform/accounts/" + id + "/audit-logs"
	for _, path := range []string{base, base + "/" + eid, base + "/" + eid + "/proof", base + "/checkpoint", base + "/consistency?from=1"} {
		p.do("GET", path, nil).want(t, 200)
	}
	if got := p.rawStatus(base + "/export?format=csv"); got != 200 {
		t.Errorf("platform export: %d", got)
	}
	p.do("POST", "/api/viewer-tokens", map[string]any{"account_id": num(r.obj("account"), "id"), "origins": []string{"https://admin.example.com"}}).want(t, 201)
	owner.do("GET", "/api/accounts/"+acct+"/viewer", nil).want(t, 200)
	owner.do("PATCH", "/api/accounts/"+acct+"/viewer", map[string]any{"record_views": true}).want(t, 200)

	// Event schemas: the platform's for all accounts, the owner's own.
	schema := map[string]any{"type": "object", "required": []string{"metadata"}}
	es := p.do("POST", "/api/event-schemas", map[string]any{"all_accounts": true, "action": "schema.checked", "schema": schema}).want(t, 201)
	p.do("POST", "/api/event-schemas", map[string]any{"action": "schema.checked", "schema": schema}).wantError(t, 400, "invalid", "account_id")
	owner.do("POST", "/api/event-schemas", map[string]any{"action": "schema.checked", "schema": map[string]any{"type": "thing"}}).wantError(t, 400, "invalid", "schema")
	own := owner.do("POST", "/api/event-schemas", map[string]any{"action": "schema.checked", "schema": schema}).want(t, 201)
	p.do("GET", "/api/event-schemas?account_id="+acct, nil).want(t, 200)
	owner.do("GET", "/api/event-schemas?action=schema.checked", nil).want(t, 200)
	owner.do("GET", "/api/event-schemas/"+strconv.FormatInt(num(es.obj("event_schema"), "id"), 10), nil).want(t, 200)
	owner.do("GET", "/api/event-schemas/999999", nil).wantError(t, 404, "not_found", "")
	p.do("POST", "/api/platform/events", map[string]any{"account_id": num(r.obj("account"), "id"), "action": "schema.checked"}).
		wantError(t, 400, "invalid", "metadata")
	p.do("POST", "/api/platform/events", map[string]any{"account_id": num(r.obj("account"), "id"), "action": "schema.checked", "metadata": map[string]any{}}).want(t, 201)
	p.do("DELETE", "/api/event-schemas/"+strconv.FormatInt(num(es.obj("event_schema"), "id"), 10), nil).wantError(t, 409, "conflict", "")
	owner.do("DELETE", "/api/event-schemas/"+strconv.FormatInt(num(own.obj("event_schema"), "id"), 10), nil).want(t, 200)
}
