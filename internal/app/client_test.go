package app_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/app"
)

// TestNewClient checks that a request's origin is storable text by
// construction: valid UTF-8, no control characters, bounded, and
// unchanged when it was clean.
func TestNewClient(t *testing.T) {
	long := strings.Repeat("é", 300) // 600 bytes
	tests := []struct {
		name, ip, ua   string
		wantIP, wantUA string
	}{
		{"clean", "203.0.113.7", "Mozilla/5.0 (X11)", "203.0.113.7", "Mozilla/5.0 (X11)"},
		{"unicode kept", "2001:db8::1", "Bot/1 ☃ 日本", "2001:db8::1", "Bot/1 ☃ 日本"},
		{"invalid bytes", "192.0.2.1", "bot\xff\xfe/1.0 \xc3(", "192.0.2.1", "bot\uFFFD\uFFFD/1.0 \uFFFD("},
		{"controls", "192.0.2.1\x00", "a\x00b\tc\x7fd\u0085e", "192.0.2.1\uFFFD", "a\uFFFDb\uFFFDc\uFFFDd\uFFFDe"},
		{"cut at a character", "192.0.2.1", long, "192.0.2.1", strings.Repeat("é", 256)},
		{"empty", "", "", "", ""},
	}
	for _, tt := range tests {
		c := app.NewClient(tt.ip, tt.ua)
		if c.IP() != tt.wantIP || c.UserAgent() != tt.wantUA {
			t.Errorf("%s: NewClient(%q, %q) = %q, %q; want %q, %q", tt.name, tt.ip, tt.ua, c.IP(), c.UserAgent(), tt.wantIP, tt.wantUA)
		}
	}
}

// FuzzNewClient checks the construction rule on arbitrary bytes.
func FuzzNewClient(f *testing.F) {
	f.Add("192.0.2.1", "bot\xff\x00")
	f.Fuzz(func(t *testing.T, ip, ua string) {
		c := app.NewClient(ip, ua)
		for _, s := range []string{c.IP(), c.UserAgent()} {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 }) {
				t.Fatalf("NewClient(%q, %q) keeps %q", ip, ua, s)
			}
		}
		if len(c.IP()) > 64 || len(c.UserAgent()) > 512 {
			t.Fatalf("NewClient(%q, %q) is not bounded", ip, ua)
		}
	})
}
