package web

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
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
	"github.com/auditlog/auditlog/internal/sample"
	"github.com/auditlog/auditlog/internal/server"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// update rewrites the golden files and docs/screenshots.
var update = flag.Bool("update", false, "rewrite golden files and docs/screenshots")

// testParams are cheap argon2id parameters: these tests exercise pages,
// not the hashing cost.
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// roomy is the rate limit the tests run under.
var roomy = ratelimit.Rule{Limit: 100000, Period: time.Minute}

// testEnv is the binary's handler (the JSON API and the console) over a
// real SQLite database holding the sample account, plus a few events
// recorded through the API with changes and metadata.
type testEnv struct {
	t         testing.TB
	app       *app.App
	db        *sqlstore.DB
	ts        *httptest.Server
	accountID int64
	// detailed is the ID of an event with changes and metadata.
	detailed int64
	// key is an API key of the account with events:write.
	key string
}

// liveBuffer is the live hub's queue per tail in the next test
// environment (0: the default); TestBrowserLive makes it small to see a
// tail overflow.
var liveBuffer int

// newTestEnv starts the handler; opts may change the configuration.
func newTestEnv(t testing.TB, opts ...func(*config.Config)) *testEnv {
	t.Helper()
	return newTestEnvClock(t, nil, opts...)
}

// newTestEnvClock is newTestEnv with the app's and the console's clock
// (nil: time.Now).
func newTestEnvClock(t testing.TB, clock func() time.Time, opts ...func(*config.Config)) *testEnv {
	t.Helper()
	ctx := context.Background()
	db := sqltest.OpenSQLite(t)
	signer := sqltest.Signer(t)
	hasher := password.NewHasher(testParams)
	if _, err := sample.Load(ctx, db, signer, hasher, time.Now()); err != nil {
		t.Fatal(err)
	}
	writer := ingest.NewWriter(db, signer, ingest.Options{})
	t.Cleanup(writer.Close)
	cfg := config.Default()
	cfg.Env = config.Development
	cfg.RateLimitLoginIP, cfg.RateLimitLoginAccount, cfg.RateLimitReads = roomy, roomy, roomy
	for _, o := range opts {
		o(&cfg)
	}
	a := app.New(app.Deps{Store: db, Signer: signer, Ingest: writer, Hasher: hasher, Config: cfg, SecretKey: []byte("test-secret-key"), Now: clock})
	hub := live.New(db, live.Options{Buffer: liveBuffer})
	t.Cleanup(hub.Close)
	db.OnCommit = hub.Committed // as serve does: the explorer's live toggle
	api := server.New(server.Deps{App: a, Store: db, Config: cfg, Now: clock, Live: hub})
	e := &testEnv{t: t, app: a, db: db}
	e.ts = httptest.NewServer(Mount(api, New(Deps{App: a, Config: cfg, Chat: api.Chat(), Now: clock, StreamCheckpoint: api.StreamEncoder().Checkpoint})))
	t.Cleanup(e.ts.Close)

	owner := e.principal(audit.RoleOwner)
	e.accountID = owner.AccountID
	key, _, err := a.CreateAPIKey(ctx, owner, app.NewClient("127.0.0.1", "test"), app.NewAPIKey{Name: "checkout-service", Scopes: []string{audit.ScopeEventsWrite}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"event_id":"evt_5001","action":"order.refunded","resource_type":"order","resource_id":"5001",
		"details":"Refunded $42.00 on order #5001","ip_address":"198.51.100.23","outcome":"success",
		"occurred_at":"2026-11-30T11:58:30Z",
		"actor":{"type":"customer","id":"cust_77","name":"Jane Roe","email":"jane@example.net"},
		"metadata":{"amount_cents":4200,"currency":"USD","reason":"damaged in transit","shipping":{"country":"GB"}},
		"changes":[{"field":"status","old":"paid","new":"refunded"},{"field":"refunded_cents","old":0,"new":4200},{"field":"note","old":null,"new":"Box arrived crushed"}]}`
	e.key = key
	var out struct {
		Log struct {
			ID int64 `json:"id"`
		} `json:"audit_log"`
	}
	e.ingest("/api/audit-logs", body, &out)
	if out.Log.ID == 0 {
		t.Fatal("ingest: no ID")
	}
	e.detailed = out.Log.ID
	return e
}

// ingest records events through the API with the environment's key:
// path is /api/audit-logs or /api/audit-logs/batch, body its JSON; the
// answer is decoded into out.
func (e *testEnv) ingest(path, body string, out any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, out) != nil {
		e.t.Fatalf("ingest: %d %s", resp.StatusCode, raw)
	}
}

// credential returns the sample user of role.
func credential(role audit.Role) sample.Credential {
	for _, c := range sample.Users {
		if c.Role == role {
			return c
		}
	}
	panic("no sample user of role " + string(role))
}

// principal signs the sample user of role in through the app.
func (e *testEnv) principal(role audit.Role) *app.Principal {
	e.t.Helper()
	c := credential(role)
	ctx := context.Background()
	res, err := e.app.Login(ctx, app.NewClient("127.0.0.1", "test"), app.Credentials{Email: c.Email, Password: c.Password})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := e.app.AuthenticateSession(ctx, res.Token)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// browserClient is an HTTP client with its own cookie jar that does not
// follow redirects, sending the headers a browser sends.
type browserClient struct {
	e  *testEnv
	hc *http.Client
}

func (e *testEnv) client() *browserClient {
	jar, _ := cookiejar.New(nil)
	return &browserClient{e: e, hc: &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// response is a response of the console.
type response struct {
	status int
	header http.Header
	body   string
}

func (c *browserClient) do(method, path string, form url.Values) response {
	c.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.e.ts.URL+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.e.ts.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	io.Copy(&buf, resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: buf.String()}
}

func (c *browserClient) get(path string) response { return c.do("GET", path, nil) }

func (c *browserClient) post(path string, form url.Values) response { return c.do("POST", path, form) }

// signIn signs the sample user of role in.
func (c *browserClient) signIn(role audit.Role) {
	c.e.t.Helper()
	cred := credential(role)
	p := c.post("/signin", url.Values{"email": {cred.Email}, "password": {cred.Password}, "next": {"/"}})
	if p.status != http.StatusSeeOther {
		c.e.t.Fatalf("sign in as %s: status %d\n%s", role, p.status, p.body)
	}
}
