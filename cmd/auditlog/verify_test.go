package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportVerifyOffline is the owner's story: download an export from a
// running service, then check it with auditlog verify and the published key,
// with no database or network; and see a doctored copy fail.
func TestExportVerifyOffline(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	env := envMap(map[string]string{"AUDITLOG_ENV": "development", "LOG_NAME": "audit.test"})
	addr, stop := startServe(t, env, "http://", "--sample")
	base := "http://" + addr

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: testHTTP.Timeout}
	resp, err := hc.Post(base+"/api/auth/login", "application/json", strings.NewReader(`{"email":"admin@sample-store.com","password":"admin123"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %v %v", resp, err)
	}
	resp.Body.Close()
	get := func(path string) []byte {
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	var vk struct {
		Key string `json:"verifier_key"`
	}
	json.Unmarshal(get("/api/verifier-key"), &vk)
	if !strings.HasPrefix(vk.Key, "audit.test+") {
		t.Fatalf("verifier key %q does not carry LOG_NAME", vk.Key)
	}
	exportFile := filepath.Join(dir, "export.ndjson")
	os.WriteFile(exportFile, get("/api/audit-logs/export?format=ndjson"), 0o600)
	filtered := filepath.Join(dir, "refunds.ndjson")
	os.WriteFile(filtered, get("/api/audit-logs/export?action=order_refunded"), 0o600)

	stop()

	// The same key is printed by the command line, from the database.
	var out bytes.Buffer
	if err := runTest(t, []string{"verifier-key"}, env, &out, io.Discard); err != nil || strings.TrimSpace(out.String()) != vk.Key {
		t.Errorf("verifier-key = %q, %v; want %q", out.String(), err, vk.Key)
	}

	// Offline: no database URL, no server.
	for _, f := range []string{exportFile, filtered} {
		out.Reset()
		if err := runTest(t, []string{"verify", "--key", vk.Key, f}, envMap(nil), &out, &out); err != nil {
			t.Fatalf("verify %s: %v\n%s", f, err, out.String())
		}
		if !strings.HasPrefix(out.String(), "OK: ") || !strings.Contains(out.String(), "Proved:") || !strings.Contains(out.String(), "Not proved:") {
			t.Errorf("verify output does not say what it proved:\n%s", out.String())
		}
	}
	// 100 sample events and the admin's sign-in; the export's own record follows.
	if !strings.Contains(mustRead(t, exportFile), `"tree_size":101`) {
		t.Errorf("export header lacks the expected tree size")
	}

	doctored := strings.Replace(mustRead(t, exportFile), `"action":"order_refunded"`, `"action":"order_fulfilled"`, 1)
	os.WriteFile(exportFile, []byte(doctored), 0o600)
	out.Reset()
	err = runTest(t, []string{"verify", "--key", vk.Key, exportFile}, envMap(nil), &out, &out)
	if !errors.Is(err, errVerifyFailed) || !strings.HasPrefix(out.String(), "FAILED: ") || !strings.Contains(out.String(), "seq") {
		t.Errorf("doctored export: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := runTest(t, []string{"verify", exportFile}, envMap(nil), &out, &out); err == nil {
		t.Error("verify without --key succeeded")
	}
}

func mustRead(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKeygen checks that a generated key signs checkpoints that its printed
// verifier key accepts, through serve's own key loading.
func TestKeygen(t *testing.T) {
	t.Chdir(t.TempDir())
	var out bytes.Buffer
	if err := runTest(t, []string{"keygen", "--name", "audit.example.com"}, envMap(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	skey, ok1 := strings.CutPrefix(lines[0], "SIGNING_KEY=")
	vkey, ok2 := strings.CutPrefix(lines[len(lines)-1], "verifier key: ")
	if !ok1 || !ok2 || !strings.HasPrefix(skey, "PRIVATE+KEY+audit.example.com+") || !strings.HasPrefix(vkey, "audit.example.com+") {
		t.Fatalf("keygen output:\n%s", out.String())
	}
	// Without --name, each key gets a name of its own.
	names := map[string]bool{}
	for range 2 {
		out.Reset()
		if err := runTest(t, []string{"keygen"}, envMap(nil), &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(out.String(), "SIGNING_KEY=PRIVATE+KEY+"), "+")
		if len(name) != len("auditlog-")+12 || !strings.HasPrefix(name, "auditlog-") {
			t.Errorf("keygen without --name: key name %q; want auditlog-<12 hex digits>", name)
		}
		names[name] = true
	}
	if len(names) != 2 {
		t.Errorf("two keygens gave the same name: %v", names)
	}
	out.Reset()
	env := envMap(map[string]string{"AUDITLOG_ENV": "development", "SIGNING_KEY": skey})
	if err := runTest(t, []string{"verifier-key"}, env, &out, io.Discard); err != nil || strings.TrimSpace(out.String()) != vkey {
		t.Errorf("verifier-key with SIGNING_KEY = %q, %v; want %q", out.String(), err, vkey)
	}
	err := runTest(t, []string{"verifier-key"}, envMap(map[string]string{"AUDITLOG_ENV": "development", "SIGNING_KEY": "not a key"}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SIGNING_KEY") {
		t.Errorf("a malformed SIGNING_KEY: %v; want an error naming SIGNING_KEY", err)
	}
}
