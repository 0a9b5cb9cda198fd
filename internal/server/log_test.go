package server

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// lockedBuffer is a bytes.Buffer safe for the server's concurrent logging.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNoSecretsInLogs signs in, fails to sign in and creates a user with
// debug logging on, and checks that no password, hash or token was logged.
func TestNoSecretsInLogs(t *testing.T) {
	var logs lockedBuffer
	e := newTestEnv(t, sqltest.OpenSQLite(t), withLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	tn := e.newTenant("acme")
	e.addUser(tn, audit.RoleAdmin)
	e.client().do("POST", "/api/auth/login", map[string]string{"email": "owner@acme.example.com", "password": "wrong-password-xyz"})
	e.client().do("POST", "/api/auth/login", `{"email": "owner@acme.example.com", "password": "broken-json-pw`)

	out := logs.String()
	if !strings.Contains(out, "/api/auth/login") {
		t.Fatalf("no access log written; the test would prove nothing:\n%s", out)
	}
	cookie := tn.owner.hc.Jar.Cookies(mustURL(e.ts.URL))[0].Value
	for _, secret := range []string{"owner-password", "user-password", "wrong-password-xyz", "broken-json-pw", "argon2", cookie} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
}
