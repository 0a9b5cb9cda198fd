package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/server"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// The tests and examples run against the real service in this process:
// its HTTP handler over a real SQLite database, started once by
// TestMain. Each test signs up an account of its own (newAccount).
var (
	apiHandler http.Handler // the service's API
	// front is what the test server serves: apiHandler, unless a test
	// puts a wrapper in front of it (see serveThrough).
	front atomic.Pointer[http.Handler]
	// serverURL is the test server's base URL.
	serverURL string
	accounts  atomic.Int64
	// service is the service's application layer, for what only an
	// operator does (platform keys).
	service *app.App
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "auditlog-client-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	svc, err := startService(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer svc.close()
	service, apiHandler = svc.app, svc.handler
	front.Store(&apiHandler)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*front.Load()).ServeHTTP(w, r) }))
	defer ts.Close()
	serverURL = ts.URL
	return m.Run()
}

// testService is one instance of the service: its application layer,
// API handler and group-commit writer over a SQLite database of its own.
type testService struct {
	app     *app.App
	handler http.Handler
	writer  *ingest.Writer
	close   func()
}

// startService starts the service over a new SQLite database in dir, with
// roomy rate limits that adjust may change.
func startService(dir string, adjust func(*config.Config)) (*testService, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sqlstore.Open(ctx, "sqlite:///"+filepath.Join(dir, fmt.Sprintf("audit-%d.db", accounts.Add(1))))
	if err != nil {
		return nil, err
	}
	skey, _, err := tlog.GenerateKey("client-test.auditlog")
	if err != nil {
		db.Close()
		return nil, err
	}
	signer, err := tlog.NewSigner(skey)
	if err != nil {
		db.Close()
		return nil, err
	}
	cfg := config.Default()
	cfg.Env = config.Development
	roomy := ratelimit.Rule{Limit: 1_000_000, Period: time.Minute}
	cfg.RateLimitLoginIP, cfg.RateLimitLoginAccount, cfg.RateLimitReads, cfg.RateLimitSignUp, cfg.RateLimitIngest = roomy, roomy, roomy, roomy, roomy
	if adjust != nil {
		adjust(&cfg)
	}
	w := ingest.NewWriter(db, signer, ingest.Options{})
	a := app.New(app.Deps{
		Store: db, Signer: signer, Ingest: w, Config: cfg, SecretKey: []byte("client-test-secret"),
		Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
	})
	return &testService{
		app: a, handler: server.New(server.Deps{App: a, Store: db, Config: cfg}), writer: w,
		close: func() { a.Close(context.Background()); w.Close(); db.Close() },
	}, nil
}

// serveThrough puts h in front of the service until the test ends. Tests
// that use it do not run in parallel.
func serveThrough(t *testing.T, h http.Handler) {
	front.Store(&h)
	t.Cleanup(func() { front.Store(&apiHandler) })
}

// newAccount signs up an account through the API and returns an API key
// of it with events:write and events:read.
func newAccount() (string, error) { return newAccountAt(serverURL) }

// newAccountAt is newAccount on the service at serverURL.
func newAccountAt(serverURL string) (string, error) {
	n := accounts.Add(1)
	domain := fmt.Sprintf("shop%d.example.com", n)
	hc := &http.Client{Timeout: time.Minute}
	post := func(path string, body any, cookie *http.Cookie) (*http.Response, map[string]any, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", serverURL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, nil, err
		}
		if resp.StatusCode >= 300 {
			return nil, nil, fmt.Errorf("POST %s: %d %v", path, resp.StatusCode, out)
		}
		return resp, out, nil
	}
	if _, _, err := post("/api/accounts", map[string]string{
		"name": "Shop", "domain": domain, "owner_email": "owner@" + domain, "owner_password": "owner-password-1",
	}, nil); err != nil {
		return "", err
	}
	resp, _, err := post("/api/auth/login", map[string]string{"email": "owner@" + domain, "password": "owner-password-1"}, nil)
	if err != nil {
		return "", err
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			session = c
		}
	}
	_, out, err := post("/api/api-keys", map[string]any{"name": "platform", "scopes": []string{"events:write", "events:read"}}, session)
	if err != nil {
		return "", err
	}
	return out["key"].(string), nil
}

// mustAccount is newAccount for a test.
func mustAccount(t *testing.T) string {
	t.Helper()
	key, err := newAccount()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// newPlatformKey creates a platform key with the scopes, as an operator
// does on the command line.
func newPlatformKey(scopes ...string) (string, error) {
	key, _, err := service.CreatePlatformKey(context.Background(), "client test", fmt.Sprintf("platform-%d", accounts.Add(1)), scopes)
	return key, err
}
