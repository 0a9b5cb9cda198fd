package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// TestReadOnlyCommandsCreateNoKey checks that only the commands that write
// events create the checkpoint signing key: migrate and init-db leave
// service_keys empty, and verifier-key on such a database fails with a
// clear message instead of inventing a key.
func TestReadOnlyCommandsCreateNoKey(t *testing.T) {
	t.Chdir(t.TempDir())
	url := "sqlite:///" + filepath.Join(t.TempDir(), "keys.db")
	env := envMap(map[string]string{"AUDITLOG_ENV": "development", "DATABASE_URL": url, "LOG_LEVEL": "error"})
	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate"}, env, &out, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if !strings.Contains(out.String(), "applied 0001_") || !strings.Contains(out.String(), "up to date") {
		t.Errorf("migrate of an empty database says:\n%s\nwant each migration named, then up to date", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"migrate"}, env, &out, io.Discard); err != nil || strings.Contains(out.String(), "applied") {
		t.Errorf("second migrate = %v:\n%s\nwant nothing applied", err, out.String())
	}
	if err := run(t.Context(), []string{"init-db"}, env, io.Discard, io.Discard); err != nil {
		t.Fatalf("init-db: %v", err)
	}
	storedKey := func() (string, error) {
		db, err := sqlstore.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		return db.StoredCheckpointKey(context.Background())
	}
	if _, err := storedKey(); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("after migrate and init-db, the stored key: %v; want none", err)
	}

	out.Reset()
	err := run(t.Context(), []string{"verifier-key"}, env, &out, io.Discard)
	if !errors.Is(err, errNoSigningKey) || out.Len() != 0 {
		t.Errorf("verifier-key without a key = %v, printed %q; want errNoSigningKey and nothing", err, out.String())
	}
	if !strings.Contains(errNoSigningKey.Error(), "auditlog serve") || !strings.Contains(errNoSigningKey.Error(), "SIGNING_KEY") {
		t.Errorf("the message %q does not say how to get a key", errNoSigningKey)
	}
	if _, err := storedKey(); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("after verifier-key, the stored key: %v; want none", err)
	}

	// Loading the sample writes events, so it creates the key, which
	// verifier-key then prints.
	if err := run(t.Context(), []string{"init-db", "--sample"}, env, io.Discard, io.Discard); err != nil {
		t.Fatalf("init-db --sample: %v", err)
	}
	skey, err := storedKey()
	if err != nil {
		t.Fatalf("after init-db --sample: %v; want a stored key", err)
	}
	signer, err := newSigner(skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Without LOG_NAME the generated key names this deployment alone.
	if !regexp.MustCompile(`^auditlog-[0-9a-f]{12}$`).MatchString(signer.Name()) {
		t.Errorf("generated key name %q; want auditlog-<12 hex digits>", signer.Name())
	}
	out.Reset()
	if err := run(t.Context(), []string{"verifier-key"}, env, &out, io.Discard); err != nil || strings.TrimSpace(out.String()) != signer.VerifierKey() {
		t.Errorf("verifier-key = %q, %v; want %q", out.String(), err, signer.VerifierKey())
	}
}
