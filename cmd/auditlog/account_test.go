package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// TestCreateAccountCommand creates accounts as an operator: with public
// sign-up off, with a password from a file or a generated one, and with the
// rules of sign-up, each error naming its flag.
func TestCreateAccountCommand(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	env := envMap(map[string]string{"AUDITLOG_ENV": "development", "PUBLIC_SIGNUP": "false", "RATE_LIMIT_SIGNUP": "1/1h"})
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse battery staple\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	create := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runTest(t, append([]string{"create-account"}, args...), env, &out, io.Discard)
		return out.String(), err
	}
	out, err := create("--name", "My Store", "--domain", "my-store.com", "--owner-email", "owner@my-store.com",
		"--owner-first-name", "John", "--owner-last-name", "Owner", "--owner-password-file", pwFile)
	if err != nil || !strings.Contains(out, `created account 1 "My Store" (my-store.com) with owner owner@my-store.com (user 1)`) || strings.Contains(out, "password") {
		t.Fatalf("create-account = %v:\n%s", err, out)
	}
	// A second one, past the sign-up limit, with a generated password.
	out, err = create("--name", "Second", "--domain", "second.example.com", "--owner-email", "boss@second.example.com")
	if err != nil || !strings.Contains(out, "owner password (shown once") {
		t.Fatalf("create-account with a generated password = %v:\n%s", err, out)
	}
	generated := strings.TrimSpace(out[strings.LastIndex(out, ": ")+2:])

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "X", "--domain", "my-store.com", "--owner-email", "other@my-store.com"}, "create-account: --domain: An account with this domain already exists."},
		{[]string{"--name", "X", "--domain", "x.example.com", "--owner-email", "owner@my-store.com"}, "create-account: --owner-email: owner_email must be an address at the account's domain, x.example.com (such as name@x.example.com)."},
		{[]string{"--domain", "x.example.com", "--owner-email", "o@x.example.com"}, "create-account: --name: name is required."},
		{[]string{"--name", "X", "--domain", "x.example.com", "--owner-email", "o@x.example.com", "--owner-password-file", filepath.Join(dir, "missing")}, "create-account: owner password: open "},
	} {
		_, err := create(tt.args...)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("create-account %q = %v; want %q", tt.args, err, tt.want)
		}
	}

	db, err := sqlstore.Open(t.Context(), "sqlite:///"+filepath.Join(dir, "audit_logs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := password.NewHasher(password.OWASP)
	for email, pw := range map[string]string{"owner@my-store.com": "correct horse battery staple", "boss@second.example.com": generated} {
		u, err := db.UserByEmail(t.Context(), email)
		if err != nil {
			t.Fatalf("UserByEmail(%s): %v", email, err)
		}
		if ok, err := h.Verify(t.Context(), pw, u.PasswordHash); !ok || err != nil {
			t.Errorf("%s: the password does not verify (%v)", email, err)
		}
	}
	if u, _ := db.UserByEmail(t.Context(), "owner@my-store.com"); u.FirstName != "John" || u.LastName != "Owner" || u.Role != "owner" {
		t.Errorf("owner %+v", u)
	}
}
