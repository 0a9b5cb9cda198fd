package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateCommand adds generated events to the sample account, checks
// that an export of it still verifies offline, creates accounts and says
// how to sign in, and refuses bad flags naming the flag.
func TestGenerateCommand(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	dbURL := "sqlite:///" + filepath.Join(dir, "audit.db")
	env := envMap(map[string]string{"AUDITLOG_ENV": "development", "DATABASE_URL": dbURL, "LOG_LEVEL": "error"})
	if err := runTest(t, []string{"init-db", "--sample"}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := runTest(t, []string{"generate", "--account", "1", "--events", "700", "--span", "30d", "--progress", "always"}, env, &out, &errOut); err != nil {
		t.Fatalf("generate --account: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "wrote 700 events") || !strings.Contains(out.String(), "sample-store.com") {
		t.Errorf("generate --account said:\n%s", out.String())
	}
	if !strings.Contains(errOut.String(), "700/700 events") {
		t.Errorf("--progress always drew no bar: %q", errOut.String())
	}

	export := filepath.Join(dir, "log.ndjson")
	if err := runTest(t, []string{"export", "--account", "1", "--output", export}, env, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var vkey bytes.Buffer
	if err := runTest(t, []string{"verifier-key"}, env, &vkey, io.Discard); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runTest(t, []string{"verify", "--key", strings.TrimSpace(vkey.String()), export}, envMap(nil), &out, &out); err != nil {
		t.Fatalf("verify the export after generate: %v\n%s", err, out.String())
	}

	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("generated-owners-pass\n"), 0o600)
	out.Reset()
	if err := runTest(t, []string{"generate", "--events", "900", "--accounts", "3", "--writers", "2", "--password-file", pw, "--seed", "5"}, env, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"wrote 900 events to 3 account(s)", "largest account: 2 ", "450 events", "sign in as the owner of the largest account: owner@", "seed5.example with the password of --password-file"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("generate said:\n%s\nwant %q in it", out.String(), want)
		}
	}

	// Refused before the database is opened: no file, no signing key.
	fresh := filepath.Join(dir, "fresh.db")
	if err := runTest(t, []string{"generate", "--events", "0", "--database-url", "sqlite:///" + fresh}, env, io.Discard, io.Discard); err == nil {
		t.Error("generate --events 0 succeeded")
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Error("generate --events 0 created the database before refusing the flag")
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--events", "0"}, "--events"},
		{[]string{"--events", "10", "--account", "1", "--accounts", "2"}, "--accounts"},
		{[]string{"--events", "10", "--account", "99"}, "--account: no account 99"},
		{[]string{"--events", "10", "--span", "a year"}, "--span"},
		{[]string{"--events", "10", "--batch", "0"}, "--batch"},
		{[]string{"--events", "10", "--writers", "0"}, "--writers"},
		{[]string{"--events", "10", "--writers", "65"}, "--writers"},
		{[]string{"--events", "10", "--largest-share", "2"}, "--largest-share"},
		{[]string{"--events", "10", "--progress", "sometimes"}, "--progress"},
		{[]string{"--events", "10", "--seed", "5", "--password-file", pw}, "pass another --seed"},
		{[]string{"--events", "ten"}, "invalid value"},
	} {
		errOut.Reset()
		err := runTest(t, append([]string{"generate"}, tt.args...), env, io.Discard, &errOut)
		if err == nil || !strings.Contains(err.Error()+errOut.String(), tt.want) {
			t.Errorf("generate %v: %v (%s), want an error about %s", tt.args, err, errOut.String(), tt.want)
		}
	}
}
