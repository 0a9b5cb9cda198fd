package app_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

var testSecret = []byte("keys-test-secret")

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// TestKeysCompatible checks the derivations that stored values depend on:
// session token hashes and MFA secrets sealed before Keys existed.
func TestKeysCompatible(t *testing.T) {
	k := app.NewKeys(testSecret)
	token := "qv3bJ7c5WmQpLk0x9H2sZr8TnYdFgE1aUo4iB6tVwXy"
	if got, want := k.SessionHash(token), hex.EncodeToString(hmacSHA256(testSecret, token)); got != want {
		t.Errorf("SessionHash = %s; want the stored derivation %s", got, want)
	}

	// Seal as the service did before: AES-256-GCM under
	// HMAC-SHA-256(secret, "auditlog mfa secret v1").
	block, _ := aes.NewCipher(hmacSHA256(testSecret, "auditlog mfa secret v1"))
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	secret := []byte("0123456789abcdefghij")
	sealed := "v1:" + base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, secret, []byte("account 3 user 42")))
	got, err := k.OpenMFASecret(3, 42, sealed)
	if err != nil || string(got) != string(secret) {
		t.Fatalf("OpenMFASecret(old seal) = %q, %v; want the secret", got, err)
	}
	if _, err := k.OpenMFASecret(3, 43, sealed); err == nil {
		t.Error("a secret sealed for user 42 opened for user 43")
	}
	if _, err := app.NewKeys([]byte("another secret")).OpenMFASecret(3, 42, sealed); err == nil {
		t.Error("a secret opened under another secret key")
	}
	round, err := k.OpenMFASecret(3, 42, k.SealMFASecret(3, 42, secret))
	if err != nil || string(round) != string(secret) {
		t.Errorf("seal and open = %q, %v", round, err)
	}
}

// TestKeysSeparated checks that each purpose keys the same input
// differently, and that every value depends on the secret.
func TestKeysSeparated(t *testing.T) {
	k, other := app.NewKeys(testSecret), app.NewKeys([]byte("other secret"))
	in := "same-input"
	values := map[string]string{
		"session":   k.SessionHash(in),
		"mfa login": k.MFALoginHash(in),
		"bucket":    k.BucketKey("kind", in)[len("kind:"):],
		"cursor":    hex.EncodeToString(k.CursorMAC(1, audit.EventFilter{}, 2, 3)),
	}
	seen := map[string]string{}
	for purpose, v := range values {
		for p2, v2 := range seen {
			if len(v) >= 32 && len(v2) >= 32 && v[:32] == v2[:32] {
				t.Errorf("%s and %s derive the same value", purpose, p2)
			}
		}
		seen[purpose] = v
	}
	if k.SessionHash(in) == other.SessionHash(in) || k.MFALoginHash(in) == other.MFALoginHash(in) ||
		k.BucketKey("kind", in) == other.BucketKey("kind", in) || hmac.Equal(k.CursorMAC(1, audit.EventFilter{}, 2, 3), other.CursorMAC(1, audit.EventFilter{}, 2, 3)) {
		t.Error("a value does not depend on the secret key")
	}
	if k.BucketKey("a", "b\x00c") == k.BucketKey("a\x00b", "c") {
		t.Error("BucketKey: kind and value run together")
	}
}
