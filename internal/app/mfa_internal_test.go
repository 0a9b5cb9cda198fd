package app

import (
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/totp"
)

// FuzzParseCode checks the MFA code normalizer on any string: a code is
// either refused with a field error naming code or normalized to one of
// the two accepted shapes.
func FuzzParseCode(f *testing.F) {
	for _, seed := range []string{"123456", "123 456", "12345", "abcd-efgh-ijkl-mnop", "ABCD EFGH IJKL MNOP", "abcd-efgh-ijkl-mno1", "", "------", "１２３４５６", "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		code, err := parseCode(raw)
		if err != nil {
			if audit.ErrorCode(err) != audit.EINVALID || audit.ErrorField(err) != "code" {
				t.Fatalf("parseCode(%q) = %v; want an invalid error naming code", raw, err)
			}
			return
		}
		digits := len(code) == totp.Digits && strings.Trim(code, "0123456789") == ""
		recovery := len(code) == recoveryCodeLen && strings.Trim(code, recoveryAlphabet) == ""
		if !digits && !recovery {
			t.Fatalf("parseCode(%q) = %q; want 6 digits or a recovery code", raw, code)
		}
	})
}
