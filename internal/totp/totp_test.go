package totp

import (
	"bytes"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRFC6238 checks the SHA-1 test vectors of RFC 6238 Appendix B.
func TestRFC6238(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, tt := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		if got := Code(secret, Step(time.Unix(tt.unix, 0)), 8); got != tt.want {
			t.Errorf("T=%d: code %s; want %s", tt.unix, got, tt.want)
		}
	}
	// The six-digit code is the last six digits of the eight-digit one.
	if got := Code(secret, Step(time.Unix(59, 0)), 6); got != "287082" {
		t.Errorf("six digits at T=59: %s; want 287082", got)
	}
}

func TestMatch(t *testing.T) {
	secret := NewSecret()
	now := time.Unix(1_700_000_000, 0)
	cur := Step(now)
	for _, tt := range []struct {
		name string
		step int64
		used int64
		ok   bool
	}{
		{"current step", cur, 0, true},
		{"previous step (skew)", cur - 1, 0, true},
		{"next step (skew)", cur + 1, 0, true},
		{"two steps old", cur - 2, 0, false},
		{"two steps ahead", cur + 2, 0, false},
		{"current step already used", cur, cur, false},
		{"previous step, a later one used", cur - 1, cur, false},
		{"next step after the current was used", cur + 1, cur, true},
	} {
		step, ok := Match(secret, Code(secret, tt.step, Digits), now, tt.used)
		if ok != tt.ok || (ok && step != tt.step) {
			t.Errorf("%s: Match = %d, %v; want %d, %v", tt.name, step, ok, tt.step, tt.ok)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := Match(secret, bad, now, 0); ok {
			t.Errorf("Match(%q) = ok", bad)
		}
	}
	if _, ok := Match(NewSecret(), Code(secret, cur, Digits), now, 0); ok {
		t.Error("another secret's code matched")
	}
}

func TestURIAndQRCode(t *testing.T) {
	secret := []byte("12345678901234567890")
	uri := URI("auditlog", "owner@example.com", secret)
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/auditlog:owner@example.com" {
		t.Errorf("URI %s: want otpauth://totp/auditlog:owner@example.com", uri)
	}
	q := u.Query()
	if q.Get("secret") != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" || q.Get("issuer") != "auditlog" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Errorf("URI query %v", q)
	}
	if strings.Contains(uri, "=") && strings.Contains(q.Get("secret"), "=") {
		t.Error("secret is padded")
	}
	img, err := QRCodePNG(uri)
	if err != nil {
		t.Fatal(err)
	}
	m, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("QR code is not a PNG: %v", err)
	}
	if b := m.Bounds(); b.Dx() < 150 || b.Dx() != b.Dy() {
		t.Errorf("QR code is %v; want a square of at least 150 px", b)
	}
}
