package password

import (
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
)

func TestBreachedList(t *testing.T) {
	if n := BreachedCount(); n < 10000 {
		t.Fatalf("list holds %d passwords; want the shipped 17,950", n)
	}
	for _, pw := range []string{"password123", "Password123", "PASSWORD123", "12345678", "iloveyou", "qwertyuiop", "admin123"} {
		if !Breached(pw) {
			t.Errorf("Breached(%q) = false; want true", pw)
		}
	}
	for _, pw := range []string{"owner123", "correct horse battery staple", "owner-password", "", "password123 "} {
		if Breached(pw) {
			t.Errorf("Breached(%q) = true; want false", pw)
		}
	}
}

func TestPolicy(t *testing.T) {
	on, off := Policy{CheckBreached: true}, Policy{}
	for _, tt := range []struct {
		pw      string
		on, off bool // accepted under each policy
	}{
		{"password123", false, true},
		{"Password123", false, true},
		{"short", false, false},
		{"1234567", false, false},
		{"owner123", true, true}, // 8 characters, not on the list
		{"correct horse battery staple", true, true},
		{strings.Repeat("x", 64), true, true}, // 64 characters are allowed (NIST: no maximum below 64)
		{strings.Repeat("x", 1025), false, false},
		{"  spaces kept  ", true, true},
		{"pässwörd-ünïcode", true, true},
		{"\xff\xfe invalid utf8", false, false},
	} {
		for _, c := range []struct {
			p    Policy
			want bool
		}{{on, tt.on}, {off, tt.off}} {
			err := c.p.Check("password", tt.pw)
			if (err == nil) != c.want {
				t.Errorf("%+v.Check(%q) = %v; want accepted %v", c.p, tt.pw, err, c.want)
			}
			if err != nil && (audit.ErrorCode(err) != audit.EINVALID || audit.ErrorField(err) != "password") {
				t.Errorf("%+v.Check(%q) = %v; want an invalid-field error naming password", c.p, tt.pw, err)
			}
		}
	}
	err := on.Check("new_password", "password123")
	if msg := audit.ErrorMessage(err); !strings.Contains(msg, "most common passwords") || audit.ErrorField(err) != "new_password" {
		t.Errorf("password123: %q (field %q); want a clear message naming new_password", msg, audit.ErrorField(err))
	}
}
