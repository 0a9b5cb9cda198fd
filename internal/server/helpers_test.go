package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/live"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// testParams are cheap argon2id parameters: the server tests exercise the
// flows, not the cost (internal/password tests the OWASP parameters).
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// testEnv is a running server over a real database.
type testEnv struct {
	t   *testing.T
	db  *sqlstore.DB
	app *app.App
	hub *live.Hub
	srv *Server
	ts  *httptest.Server
	cfg config.Config // the configuration of the app and the server
	// now is the clock of the app and the server; setNow and useClock
	// change it.
	now func() time.Time
}

// testDeps are what newTestEnv's options may change.
type testDeps struct {
	Config  config.Config
	Limiter ratelimit.Limiter
	Logger  *slog.Logger
	Ingest  *ingest.Writer // nil: a writer with the default options
	Live    live.Options
	// Wrap, when set, wraps the server's handler in the test's HTTP
	// server (TestOpenAPI checks every response that way).
	Wrap func(http.Handler) http.Handler
}

// newTestEnv starts a server over db. Rate limits are high enough that no
// test trips them by accident; opts may change the dependencies (see
// security_helpers_test.go), such as setting tight limits.
func newTestEnv(t *testing.T, db *sqlstore.DB, opts ...func(*testDeps)) *testEnv {
	t.Helper()
	cfg := config.Default()
	cfg.Env = config.Development
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cfg.RateLimitLoginIP, cfg.RateLimitLoginAccount, cfg.RateLimitReads, cfg.RateLimitSignUp = roomyLimit, roomyLimit, roomyLimit, roomyLimit
	signer := sqltest.Signer(t)
	deps := testDeps{Config: cfg}
	for _, o := range opts {
		o(&deps)
	}
	writer := deps.Ingest
	if writer == nil {
		writer = ingest.NewWriter(db, signer, ingest.Options{})
		t.Cleanup(writer.Close)
	}
	e := &testEnv{t: t, db: db, cfg: deps.Config, now: time.Now}
	clock := func() time.Time { return e.now() }
	witnesses, err := app.NewWitnesses(deps.Config.Witnesses)
	if err != nil {
		t.Fatal(err)
	}
	e.app = app.New(app.Deps{
		Store: db, Signer: signer, Ingest: writer, Hasher: password.NewHasher(testParams), Config: deps.Config, Logger: deps.Logger,
		SecretKey: []byte("test-secret-key"), Limiter: deps.Limiter, Now: clock, Witnesses: witnesses,
	})
	t.Cleanup(func() { // after the server has stopped, before the database closes
		if err := e.app.Close(context.Background()); err != nil {
			t.Errorf("app.Close: %v", err)
		}
	})
	e.hub = live.New(db, deps.Live)
	db.OnCommit = func(events []*audit.Event) {
		e.hub.Committed(events)
		e.app.LogsCommitted(events)
	}
	e.srv = New(Deps{App: e.app, Store: db, Config: deps.Config, Logger: deps.Logger, Now: clock, Live: e.hub})
	e.srv.streamTiming = streamTiming{ping: time.Second, recheck: 50 * time.Millisecond, write: 10 * time.Second}
	var h http.Handler = e.srv
	if deps.Wrap != nil {
		h = deps.Wrap(e.srv)
	}
	e.ts = httptest.NewServer(h)
	t.Cleanup(e.ts.Close)
	t.Cleanup(e.hub.Close) // first: the server's Close does not wait for WebSockets
	return e
}

// client is one API client with its own cookie jar.
type client struct {
	env    *testEnv
	hc     *http.Client
	bearer string // an API key to send, if any
}

// requestTimeout bounds every request of the tests: a handler that never
// answers fails the test instead of hanging it.
const requestTimeout = time.Minute

func (e *testEnv) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{env: e, hc: &http.Client{Jar: jar, Timeout: requestTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// response is a decoded response.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (c *client) do(method, path string, body any, hdr ...string) *response {
	c.env.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			c.env.t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, c.env.ts.URL+path, r)
	if err != nil {
		c.env.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// Errorf, not Fatal: do may run inside a subtest of env.t.
		c.env.t.Errorf("%s %s: %v", method, path, err)
		return &response{status: -1, header: http.Header{}}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := &response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			c.env.t.Errorf("%s %s: response is not a JSON object: %v\n%s", method, path, err, raw)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			c.env.t.Errorf("%s %s: Content-Type %q; want application/json", method, path, resp.Header.Get("Content-Type"))
		}
	}
	if bytes.Contains(raw, []byte("argon2")) || bytes.Contains(raw, []byte("password_hash")) {
		c.env.t.Errorf("%s %s: response leaks a password hash: %s", method, path, raw)
	}
	return out
}

// want fails the test unless the response has the given status.
func (r *response) want(t *testing.T, status int) *response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d; want %d; body %s", r.status, status, r.raw)
	}
	return r
}

// wantError fails the test unless r is an error response with the status,
// code and (when not empty) field.
func (r *response) wantError(t *testing.T, status int, code, field string) {
	t.Helper()
	r.want(t, status)
	if r.body["code"] != code || r.body["error"] == "" || r.body["error"] == nil {
		t.Errorf("error body %s; want code %q and a message", r.raw, code)
	}
	if field != "" && r.body["field"] != field {
		t.Errorf("error field %v; want %q (body %s)", r.body["field"], field, r.raw)
	}
}

// obj returns the nested object at key.
func (r *response) obj(key string) map[string]any {
	m, _ := r.body[key].(map[string]any)
	return m
}

// list returns the array at key.
func (r *response) list(key string) []any {
	l, _ := r.body[key].([]any)
	return l
}

// num returns m[key] as an int64.
func num(m map[string]any, key string) int64 {
	f, _ := m[key].(float64)
	return int64(f)
}

// tenant is an account created through the API, with its owner signed in.
type tenant struct {
	accountID int64
	ownerID   int64
	domain    string
	owner     *client
}

// newTenant creates an account for the domain name.example.com through
// POST /api/accounts and signs its owner in.
func (e *testEnv) newTenant(name string) *tenant {
	e.t.Helper()
	return e.newTenantAt(name + ".example.com")
}

// newTenantAt creates an account for domain, owned by owner@domain,
// through POST /api/accounts and signs its owner in.
func (e *testEnv) newTenantAt(domain string) *tenant {
	e.t.Helper()
	c := e.client()
	name, _, _ := strings.Cut(domain, ".")
	r := c.do("POST", "/api/accounts", map[string]string{
		"name": name + " Store", "domain": domain, "owner_email": "owner@" + domain,
		"owner_password": "owner-password", "owner_first_name": "Olga", "owner_last_name": name,
	}).want(e.t, http.StatusCreated)
	c.login("owner@"+domain, "owner-password")
	return &tenant{accountID: num(r.obj("account"), "id"), ownerID: num(r.obj("user"), "id"), domain: domain, owner: c}
}

// addUser creates the user role@domain with the role through the
// tenant's owner and returns a client signed in as that user, and the
// user's ID.
func (e *testEnv) addUser(tn *tenant, role audit.Role) (*client, int64) {
	e.t.Helper()
	return e.addUserNamed(tn, role, string(role))
}

// addUserNamed is addUser for the address local@domain.
func (e *testEnv) addUserNamed(tn *tenant, role audit.Role, local string) (*client, int64) {
	e.t.Helper()
	email := local + "@" + tn.domain
	r := tn.owner.do("POST", "/api/users", map[string]string{
		"email": email, "password": "user-password", "first_name": "U", "last_name": string(role), "role": string(role),
	}).want(e.t, http.StatusCreated)
	c := e.client()
	c.login(email, "user-password")
	return c, num(r.obj("user"), "id")
}

func (c *client) login(email, pw string) *response {
	c.env.t.Helper()
	return c.do("POST", "/api/auth/login", map[string]string{"email": email, "password": pw}).want(c.env.t, http.StatusOK)
}

// insertUser stores an analyst with email in the account straight through
// the store, past the application's rules: a user as one created before
// addresses had to be at their account's domain.
func (e *testEnv) insertUser(accountID int64, email string) {
	e.t.Helper()
	ctx := e.t.Context()
	u := &audit.User{AccountID: accountID, Email: email, PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", Role: audit.RoleAnalyst, IsActive: true}
	if err := e.db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		e.t.Fatal(err)
	}
}

// appendEvents writes events straight through the store's write path.
func (e *testEnv) appendEvents(evs ...*audit.Event) {
	e.t.Helper()
	ctx := e.t.Context()
	err := e.db.Update(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.AppendEvents(ctx, sqltest.Signer(e.t), evs...)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// events lists the tenant's events with the given query, as its owner,
// once the events recorded in the background (failed sign-ins) are
// written.
func (tn *tenant) events(t *testing.T, query string) *response {
	t.Helper()
	if err := tn.owner.env.app.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return tn.owner.do("GET", "/api/audit-logs?"+query, nil).want(t, http.StatusOK)
}

// actions returns the action of each listed event, in order.
func actions(r *response) []string {
	var out []string
	for _, e := range r.list("audit_logs") {
		out = append(out, e.(map[string]any)["action"].(string))
	}
	return out
}

// setNow fixes the server's clock.
func (e *testEnv) setNow(t time.Time) { e.now = func() time.Time { return t } }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func mustPrefixes(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		p, err := config.ParsePrefixes(s)
		if err != nil {
			panic(err)
		}
		ps = append(ps, p...)
	}
	return ps
}
