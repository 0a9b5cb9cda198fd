package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// FuzzHeaderBytes sends arbitrary bytes in User-Agent, X-Forwarded-For,
// Origin and Cookie through every endpoint that records its caller's
// origin, on every engine, straight to the handler (so even bytes an HTTP
// parser refuses reach it). No response is a 5xx; after every write the
// account's log verifies both on the server and offline from a full export,
// so the two can never disagree; every recorded user agent is the header
// made storable (app.NewClient) and every recorded text is valid UTF-8
// without control characters.
//
// Its seed corpus runs in every `go test` (a few seconds); the fuzz engine
// runs only with -fuzz FuzzHeaderBytes.
func FuzzHeaderBytes(f *testing.F) {
	for _, seed := range [][4]string{
		{"Mozilla/5.0", "203.0.113.9", "", "theme=dark"},
		{"bot\xff\xfe/1.0 \xc3(", "203.0.113.9, \xff\xfe", "", "a=\xff"},
		{"a\x00b\tc\x7fd\u0085e", "\x00", "null", "session=\x00"},
		{"\r\nX-Injected: 1", "10.0.0.1\r\n", "https://evil.example", "=;;=;session"},
		{strings.Repeat("é", 400) + "\xe2\x82", strings.Repeat("1.2.3.4, ", 200), "http://\xff", strings.Repeat("c=1; ", 300)},
		{"", "", "", ""},
		{"\xed\xa0\x80\xed\xb0\x80", "::ffff:192.0.2.1%\xff", "http://example.com", "session=" + strings.Repeat("A", 43)},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	// One database per engine for the whole run; each input gets a server
	// of its own and a fresh account in it.
	type engineDB struct {
		name string
		db   *sqlstore.DB
	}
	var dbs []engineDB
	for _, e := range sqltest.Engines(f) {
		if !e.Covered() {
			continue // sqltest.Engines has failed the test already if CI=true
		}
		dbs = append(dbs, engineDB{e.Name, e.Open(f)})
	}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, ua, xff, origin, cookie string) {
		for _, d := range dbs {
			fuzzHeaderFlow(t, d.name, d.db, n.Add(1), map[string]string{
				"User-Agent": ua, "X-Forwarded-For": xff, "Origin": origin, "Cookie": cookie,
			})
		}
	})
}

// headerFlow drives one account's self-audited endpoints with fixed hostile
// headers, straight through the server's handler.
type headerFlow struct {
	t       *testing.T
	e       *testEnv
	engine  string
	hdr     map[string]string
	session string // the session token sent, if any
	key     string // the API key sent, if any
	owner   string // the owner's session token, once signed in
	vkey    string
}

// do sends one request with the hostile headers (and the session, if
// signed in, ahead of the hostile cookies) and fails the test on a 5xx or a
// body that is not JSON.
func (h *headerFlow) do(method, path string, body any, origin bool) (int, map[string]any, []byte) {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	req.RemoteAddr = "10.1.2.3:4567" // a trusted proxy: X-Forwarded-For is read
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range h.hdr {
		if k != "Origin" || origin {
			req.Header[k] = []string{v}
		}
	}
	if h.session != "" {
		req.Header["Cookie"] = []string{"session=" + h.session + "; " + h.hdr["Cookie"]}
	}
	if h.key != "" {
		req.Header.Set("Authorization", "Bearer "+h.key)
	}
	w := httptest.NewRecorder()
	h.e.srv.ServeHTTP(w, req)
	raw := w.Body.Bytes()
	if w.Code >= 500 {
		h.t.Fatalf("%s: %s %s with headers %q: %d %s", h.engine, method, path, h.hdr, w.Code, raw)
	}
	var out map[string]any
	if w.Header().Get("Content-Type") == "application/json; charset=utf-8" && len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			h.t.Fatalf("%s: %s %s: body is not JSON: %v: %s", h.engine, method, path, err, raw)
		}
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == "session" && c.Value != "" {
			if h.session == h.owner { // the owner signs in, or a password change rotates the session
				h.owner = c.Value
			}
			h.session = c.Value
		}
	}
	return w.Code, out, raw
}

// write sends a write request twice at most: with the hostile Origin, which
// the cross-origin check may refuse (403), and then without it. It fails
// the test unless the request ends with want, then checks the log.
func (h *headerFlow) write(method, path string, body any, want int) map[string]any {
	h.t.Helper()
	code, out, raw := h.do(method, path, body, true)
	if code == http.StatusForbidden && out["code"] == "forbidden" && h.hdr["Origin"] != "" {
		code, out, raw = h.do(method, path, body, false)
	}
	if code != want {
		h.t.Fatalf("%s: %s %s with headers %q: %d; want %d: %s", h.engine, method, path, h.hdr, code, want, raw)
	}
	h.checkLog(method + " " + path)
	return out
}

// checkLog requires the server's verify and the offline verification of a
// full export to agree that the account's log is intact, and every recorded
// text to be storable.
func (h *headerFlow) checkLog(after string) {
	h.t.Helper()
	if h.owner == "" {
		return // not signed in yet
	}
	if err := h.e.app.Flush(h.t.Context()); err != nil { // failed sign-ins
		h.t.Fatal(err)
	}
	session, key := h.session, h.key
	h.session, h.key = h.owner, ""
	defer func() { h.session, h.key = session, key }()
	code, v, raw := h.do("GET", "/api/audit-logs/verify", nil, false)
	if code != http.StatusOK || v["ok"] != true {
		h.t.Fatalf("%s: after %s the server's verify says %d %s", h.engine, after, code, raw)
	}
	code, _, file := h.do("GET", "/api/audit-logs/export?format=ndjson", nil, false)
	if code != http.StatusOK {
		h.t.Fatalf("%s: after %s the export answers %d %s", h.engine, after, code, file)
	}
	if _, err := export.Verify(bytes.NewReader(file), h.vkey); err != nil {
		h.t.Fatalf("%s: after %s the server's verify says ok but offline verification fails: %v", h.engine, after, err)
	}
}

func fuzzHeaderFlow(t *testing.T, engine string, db *sqlstore.DB, n int64, hdr map[string]string) {
	h := &headerFlow{t: t, e: newTestEnv(t, db), engine: engine, hdr: hdr}
	domain := fmt.Sprintf("fuzz%d.example.com", n)
	_, vk, _ := h.do("GET", "/api/verifier-key", nil, false)
	h.vkey, _ = vk["verifier_key"].(string)

	acct := h.write("POST", "/api/accounts", map[string]string{
		"name": "Fuzz Store", "domain": domain, "owner_email": "owner@" + domain,
		"owner_password": "owner-password", "owner_first_name": "Olga", "owner_last_name": "Owner",
	}, http.StatusCreated)
	accountID := num(acct["account"].(map[string]any), "id")
	// A wrong password (recorded in the background), then the owner.
	code, _, raw := h.do("POST", "/api/auth/login", map[string]string{"email": "owner@" + domain, "password": "wrong-password"}, true)
	if code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Fatalf("%s: wrong password: %d %s", engine, code, raw)
	}
	h.write("POST", "/api/auth/login", map[string]string{"email": "owner@" + domain, "password": "owner-password"}, http.StatusOK)
	user := h.write("POST", "/api/users", map[string]string{
		"email": "analyst@" + domain, "password": "user-password", "role": "analyst",
	}, http.StatusCreated)
	userPath := fmt.Sprintf("/api/users/%d", num(user["user"].(map[string]any), "id"))
	h.write("PATCH", userPath, map[string]any{"role": "admin"}, http.StatusOK)
	h.write("PATCH", userPath, map[string]any{"is_active": false}, http.StatusOK)
	h.write("PATCH", userPath, map[string]any{"is_active": true}, http.StatusOK)
	key := h.write("POST", "/api/api-keys", map[string]any{"name": "svc", "scopes": []string{"events:write"}}, http.StatusCreated)
	h.write("PATCH", fmt.Sprintf("/api/accounts/%d/security", accountID), map[string]any{"require_mfa": false}, http.StatusOK)
	h.write("POST", "/api/auth/mfa/setup", map[string]string{"password": "owner-password"}, http.StatusOK)
	h.write("POST", "/api/auth/password", map[string]string{"current_password": "owner-password", "new_password": "owner-password-2"}, http.StatusOK)

	// The API key writes an event, with the same headers.
	session := h.session
	h.session, h.key = "", key["key"].(string)
	h.write("POST", "/api/audit-logs", map[string]any{"action": "order.refunded", "resource_type": "order"}, http.StatusCreated)
	h.session, h.key = session, ""
	h.write("DELETE", fmt.Sprintf("/api/api-keys/%d", num(key["api_key"].(map[string]any), "id")), nil, http.StatusOK)

	// Every recorded origin is the header made storable.
	wantUA := app.NewClient("", hdr["User-Agent"]).UserAgent()
	_, list, _ := h.do("GET", "/api/audit-logs?per_page=100", nil, false)
	events, _ := list["audit_logs"].([]any)
	if len(events) < 12 {
		t.Fatalf("%s: %d events recorded; want at least 12", engine, len(events))
	}
	for _, ev := range events {
		ev := ev.(map[string]any)
		if ev["action"] == "order.refunded" {
			continue // the service's own event: its body, not the headers
		}
		if got, _ := ev["user_agent"].(string); got != wantUA {
			t.Errorf("%s: %v recorded user agent %q; want %q", engine, ev["action"], got, wantUA)
		}
		for _, field := range []string{"ip_address", "user_agent", "details"} {
			if s, _ := ev[field].(string); !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }) {
				t.Errorf("%s: %v recorded %s %q", engine, ev["action"], field, s)
			}
		}
	}
	if code, _, raw := h.do("POST", "/api/auth/logout", nil, false); code != http.StatusOK {
		t.Fatalf("%s: logout: %d %s", engine, code, raw)
	}
}
