package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// publicHook is a destination the default policy accepts (an address of
// TEST-NET-3 that nothing here connects to).
const publicHook = "https://203.0.113.10/hook"

func streamPath(id int64, suffix string) string {
	return "/api/streams/" + strconv.FormatInt(id, 10) + suffix
}

// TestStreamsAPI walks one stream through its life: created with a
// generated secret shown once, listed, read, renamed, paused, resumed,
// deleted; every change is an event of the account, and no response
// carries the secret again.
func TestStreamsAPI(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		admin, _ := e.addUser(tn, audit.RoleAdmin)

		r := admin.do("POST", "/api/streams", map[string]any{"name": "SIEM", "type": "webhook", "url": publicHook}).want(t, http.StatusCreated)
		secret, _ := r.body["secret"].(string)
		if !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 {
			t.Fatalf("generated secret %q", secret)
		}
		st := r.obj("stream")
		id := num(st, "id")
		if st["name"] != "SIEM" || st["type"] != "webhook" || st["url"] != publicHook || st["state"] != "active" || st["failures"] != 0.0 {
			t.Errorf("created stream %s", r.raw)
		}
		if _, ok := st["secret"]; ok {
			t.Errorf("stream shows its secret: %s", r.raw)
		}
		// The stream starts at the event that records its creation.
		created := tn.eventsWith(t, audit.ActionStreamCreated)
		if len(created) != 1 || num(st, "cursor_seq") != num(created[0], "seq")-1 {
			t.Fatalf("cursor_seq %d; stream_created events %v", num(st, "cursor_seq"), created)
		}
		if d := created[0]["details"].(string); !strings.Contains(d, "203.0.113.10") || strings.Contains(d, "/hook") {
			t.Errorf("stream_created details %q: want the host, not the path", d)
		}

		tn.owner.do("POST", "/api/streams", map[string]any{"name": "Splunk", "type": "splunk_hec", "url": "https://203.0.113.11:8088/services/collector/event", "secret": "0a1b2c3d-hec-token"}).want(t, http.StatusCreated)
		list := tn.owner.do("GET", "/api/streams", nil).want(t, http.StatusOK)
		if n := len(list.list("streams")); n != 2 {
			t.Fatalf("%d streams listed; want 2: %s", n, list.raw)
		}
		got := tn.owner.do("GET", streamPath(id, ""), nil).want(t, http.StatusOK)
		if num(got.obj("stream"), "id") != id {
			t.Errorf("GET: %s", got.raw)
		}
		r = tn.owner.do("PATCH", streamPath(id, ""), map[string]any{"name": "Main SIEM", "secret": "a-new-secret-of-24-chars"}).want(t, http.StatusOK)
		if r.obj("stream")["name"] != "Main SIEM" {
			t.Errorf("PATCH: %s", r.raw)
		}
		r = tn.owner.do("POST", streamPath(id, "/pause"), nil).want(t, http.StatusOK)
		if r.obj("stream")["state"] != "paused" {
			t.Errorf("pause: %s", r.raw)
		}
		tn.owner.do("POST", streamPath(id, "/pause"), nil).want(t, http.StatusOK) // already paused: nothing recorded
		r = tn.owner.do("POST", streamPath(id, "/resume"), nil).want(t, http.StatusOK)
		if r.obj("stream")["state"] != "active" {
			t.Errorf("resume: %s", r.raw)
		}
		tn.owner.do("DELETE", streamPath(id, ""), nil).want(t, http.StatusOK)
		tn.owner.do("GET", streamPath(id, ""), nil).wantError(t, http.StatusNotFound, "not_found", "")

		for action, want := range map[string]int{
			audit.ActionStreamCreated: 2, audit.ActionStreamUpdated: 1, audit.ActionStreamPaused: 1,
			audit.ActionStreamResumed: 1, audit.ActionStreamDeleted: 1,
		} {
			evs := tn.eventsWith(t, action)
			if len(evs) != want {
				t.Errorf("%d %s events; want %d", len(evs), action, want)
			}
			for _, ev := range evs {
				if d, _ := ev["details"].(string); strings.Contains(d, "a-new-secret") || strings.Contains(d, "hec-token") {
					t.Errorf("%s details %q hold a secret", action, d)
				}
			}
		}
		all := tn.events(t, "per_page=100")
		for _, s := range []string{secret, "a-new-secret", "hec-token", "v1:"} {
			if bytes.Contains(all.raw, []byte(s)) {
				t.Errorf("the audit log holds %q", s)
			}
		}
	})
}

// TestStreamsRules checks who may configure streams, tenant scope and the
// refusals of bad input, SSRF among them.
func TestStreamsRules(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		analyst, _ := e.addUser(tn, audit.RoleAnalyst)
		creator, _ := e.addUser(tn, audit.RoleContentCreator)
		other := e.newTenant("other")
		theirs := num(other.owner.do("POST", "/api/streams", map[string]any{"name": "Theirs", "type": "webhook", "url": publicHook}).
			want(t, http.StatusCreated).obj("stream"), "id")
		ours := num(tn.owner.do("POST", "/api/streams", map[string]any{"name": "Ours", "type": "webhook", "url": publicHook}).
			want(t, http.StatusCreated).obj("stream"), "id")
		hook := func(url string) map[string]any { return map[string]any{"name": "S", "type": "webhook", "url": url} }

		tests := []struct {
			name         string
			c            *client
			method, path string
			body         any
			status       int
			code, field  string
		}{
			{"analyst may not create", analyst, "POST", "/api/streams", hook(publicHook), 403, "forbidden", ""},
			{"analyst may not list", analyst, "GET", "/api/streams", nil, 403, "forbidden", ""},
			{"content creator may not read", creator, "GET", streamPath(ours, ""), nil, 403, "forbidden", ""},
			{"content creator may not delete", creator, "DELETE", streamPath(ours, ""), nil, 403, "forbidden", ""},
			{"analyst may not test", analyst, "POST", streamPath(ours, "/test"), nil, 403, "forbidden", ""},
			{"another account's stream: get", tn.owner, "GET", streamPath(theirs, ""), nil, 404, "not_found", ""},
			{"another account's stream: update", tn.owner, "PATCH", streamPath(theirs, ""), map[string]any{"name": "Mine"}, 404, "not_found", ""},
			{"another account's stream: pause", tn.owner, "POST", streamPath(theirs, "/pause"), nil, 404, "not_found", ""},
			{"another account's stream: test", tn.owner, "POST", streamPath(theirs, "/test"), nil, 404, "not_found", ""},
			{"another account's stream: delete", tn.owner, "DELETE", streamPath(theirs, ""), nil, 404, "not_found", ""},
			{"not an id", tn.owner, "GET", "/api/streams/abc", nil, 404, "not_found", ""},
			{"no name", tn.owner, "POST", "/api/streams", map[string]any{"type": "webhook", "url": publicHook}, 400, "invalid", "name"},
			{"no type", tn.owner, "POST", "/api/streams", map[string]any{"name": "S", "url": publicHook}, 400, "invalid", "type"},
			{"unknown type", tn.owner, "POST", "/api/streams", map[string]any{"name": "S", "type": "syslog", "url": publicHook}, 400, "invalid", "type"},
			{"no url", tn.owner, "POST", "/api/streams", map[string]any{"name": "S", "type": "webhook"}, 400, "invalid", "url"},
			{"not a URL", tn.owner, "POST", "/api/streams", hook("siem.example.com/hook"), 400, "invalid", "url"},
			{"plain http", tn.owner, "POST", "/api/streams", hook("http://203.0.113.10/hook"), 400, "invalid", "url"},
			{"other scheme", tn.owner, "POST", "/api/streams", hook("ftp://203.0.113.10/hook"), 400, "invalid", "url"},
			{"credentials in the URL", tn.owner, "POST", "/api/streams", hook("https://u:p@203.0.113.10/hook"), 400, "invalid", "url"},
			{"loopback", tn.owner, "POST", "/api/streams", hook("https://127.0.0.1/hook"), 400, "invalid", "url"},
			{"10/8", tn.owner, "POST", "/api/streams", hook("https://10.1.2.3/hook"), 400, "invalid", "url"},
			{"192.168/16", tn.owner, "POST", "/api/streams", hook("https://192.168.0.1/hook"), 400, "invalid", "url"},
			{"link-local metadata", tn.owner, "POST", "/api/streams", hook("https://169.254.169.254/latest"), 400, "invalid", "url"},
			{"IPv6 loopback", tn.owner, "POST", "/api/streams", hook("https://[::1]/hook"), 400, "invalid", "url"},
			{"IPv6 unique local", tn.owner, "POST", "/api/streams", hook("https://[fc00::1]/hook"), 400, "invalid", "url"},
			{"IPv4-mapped loopback", tn.owner, "POST", "/api/streams", hook("https://[::ffff:127.0.0.1]/hook"), 400, "invalid", "url"},
			{"a name for loopback", tn.owner, "POST", "/api/streams", hook("https://localhost:8443/hook"), 400, "invalid", "url"},
			{"splunk without token", tn.owner, "POST", "/api/streams", map[string]any{"name": "S", "type": "splunk_hec", "url": publicHook}, 400, "invalid", "secret"},
			{"datadog without key", tn.owner, "POST", "/api/streams", map[string]any{"name": "S", "type": "datadog", "url": publicHook}, 400, "invalid", "secret"},
			{"splunk to another path", tn.owner, "POST", "/api/streams", map[string]any{"name": "S", "type": "splunk_hec", "url": "https://203.0.113.11:8088/services/collector/raw", "secret": "0a1b2c3d-hec-token"}, 400, "invalid", "url"},
			{"datadog to another path", tn.owner, "POST", "/api/streams", map[string]any{"name": "S", "type": "datadog", "url": "https://203.0.113.12/v1/input", "secret": "dd-api-key-0123"}, 400, "invalid", "url"},
			{"short webhook secret", tn.owner, "POST", "/api/streams", map[string]any{"name": "S", "type": "webhook", "url": publicHook, "secret": "short"}, 400, "invalid", "secret"},
			{"secret with spaces", tn.owner, "POST", "/api/streams", map[string]any{"name": "S", "type": "webhook", "url": publicHook, "secret": "a secret with spaces in it"}, 400, "invalid", "secret"},
			{"name not text", tn.owner, "POST", "/api/streams", map[string]any{"name": 5, "type": "webhook", "url": publicHook}, 400, "invalid", "name"},
			{"nothing to change", tn.owner, "PATCH", streamPath(ours, ""), map[string]any{}, 400, "invalid", ""},
			{"update to loopback", tn.owner, "PATCH", streamPath(ours, ""), map[string]any{"url": "https://127.0.0.1/"}, 400, "invalid", "url"},
			{"empty secret", tn.owner, "PATCH", streamPath(ours, ""), map[string]any{"secret": ""}, 400, "invalid", "secret"},
			{"empty name", tn.owner, "PATCH", streamPath(ours, ""), map[string]any{"name": " "}, 400, "invalid", "name"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.c.do(tt.method, tt.path, tt.body).wantError(t, tt.status, tt.code, tt.field)
			})
		}
		if n := len(tn.eventsWith(t, audit.ActionStreamCreated)); n != 1 {
			t.Errorf("%d stream_created events; want 1 (refusals record nothing)", n)
		}
		if n := len(tn.eventsWith(t, audit.ActionStreamUpdated)); n != 0 {
			t.Errorf("%d stream_updated events; want 0", n)
		}
		r := other.owner.do("GET", streamPath(theirs, ""), nil).want(t, http.StatusOK)
		if r.obj("stream")["name"] != "Theirs" || r.obj("stream")["state"] != "active" {
			t.Errorf("the other account's stream changed: %s", r.raw)
		}
	})
}

// TestStreamTestDelivery sends test deliveries to a receiver that checks
// the signature as docs/streams.md says to, and to one that refuses.
func TestStreamTestDelivery(t *testing.T) {
	t.Parallel()
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db, func(d *testDeps) { d.Config.StreamsAllowHTTP, d.Config.StreamsAllowPrivate = true, true })
	tn := e.newTenant("acme")
	var mu sync.Mutex
	var bodies []map[string]any
	var secret string
	verified := 0
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		// Auditlog-Signature: t=<unix>,v1=<hex HMAC-SHA-256 of "<t>.<body>">
		var ts, sig string
		for _, part := range strings.Split(r.Header.Get("Auditlog-Signature"), ",") {
			k, v, _ := strings.Cut(part, "=")
			switch k {
			case "t":
				ts = v
			case "v1":
				sig = v
			}
		}
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "." + string(body)))
		if got, _ := hex.DecodeString(sig); hmac.Equal(got, m.Sum(nil)) {
			verified++
		}
		var b map[string]any
		json.Unmarshal(body, &b)
		bodies = append(bodies, b)
	}))
	defer receiver.Close()
	r := tn.owner.do("POST", "/api/streams", map[string]any{"name": "Local", "type": "webhook", "url": receiver.URL + "/hook"}).want(t, http.StatusCreated)
	secret = r.body["secret"].(string)
	id := num(r.obj("stream"), "id")
	r = tn.owner.do("POST", streamPath(id, "/test"), nil).want(t, http.StatusOK)
	if r.body["ok"] != true || r.body["error"] != nil {
		t.Fatalf("test delivery: %s", r.raw)
	}
	mu.Lock()
	if verified != 1 || len(bodies) != 1 || bodies[0]["test"] != true || num(bodies[0], "stream_id") != id {
		t.Errorf("receiver verified %d of %v", verified, bodies)
	}
	if cp, _ := bodies[0]["checkpoint"].(map[string]any); num(cp, "tree_size") < 1 {
		t.Errorf("test delivery's checkpoint %v", bodies[0]["checkpoint"])
	}
	mu.Unlock()

	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	defer refusing.Close()
	tn.owner.do("PATCH", streamPath(id, ""), map[string]any{"url": refusing.URL}).want(t, http.StatusOK)
	r = tn.owner.do("POST", streamPath(id, "/test"), nil).want(t, http.StatusOK)
	if r.body["ok"] != false || !strings.Contains(r.body["error"].(string), "401") {
		t.Errorf("test delivery to a refusing receiver: %s", r.raw)
	}
}
