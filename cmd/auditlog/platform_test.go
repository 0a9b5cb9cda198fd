package main

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
)

// TestPlatformKeyCommand creates, lists and revokes platform keys as an
// operator, each error naming its flag.
func TestPlatformKeyCommand(t *testing.T) {
	t.Chdir(t.TempDir())
	env := envMap(map[string]string{"AUDITLOG_ENV": "development"})
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runTest(t, append([]string{"platform-key"}, args...), env, &out, io.Discard)
		return out.String(), err
	}
	out, err := run("create", "--name", "billing", "--scopes", "events:write, accounts:write")
	if err != nil || !strings.Contains(out, `created platform key 1 "billing"`) || !strings.Contains(out, "accounts:write events:write") {
		t.Fatalf("create = %v:\n%s", err, out)
	}
	if !regexp.MustCompile(`key \(shown once[^)]*\): plk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\n`).MatchString(out) {
		t.Errorf("the key is not shown once:\n%s", out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "--scopes", "events:write"}, "platform-key create: --name: name is required."},
		{[]string{"create", "--name", "x", "--scopes", "users:write"}, `platform-key create: --scopes: unknown scope "users:write"`},
		{[]string{"create", "--name", "x"}, "platform-key create: --scopes: scopes is required"},
		{[]string{"revoke", "9"}, "platform-key revoke: Platform key not found."},
		{[]string{"rotate"}, "platform-key: want create, list or revoke"},
	} {
		if _, err := run(tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("platform-key %q = %v; want %q", tt.args, err, tt.want)
		}
	}
	if out, err = run("revoke", "1"); err != nil || !strings.Contains(out, `revoked platform key 1 "billing"`) {
		t.Errorf("revoke = %v:\n%s", err, out)
	}
	out, err = run("list")
	if err != nil || !strings.Contains(out, "billing") || strings.Contains(out, "_") && strings.Contains(out, "plk_") && regexp.MustCompile(`plk_[0-9a-f]{12}_`).MatchString(out) {
		t.Errorf("list = %v:\n%s", err, out)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || strings.HasSuffix(strings.TrimSpace(lines[1]), "-") {
		t.Errorf("list shows the key as not revoked:\n%s", out)
	}
}
