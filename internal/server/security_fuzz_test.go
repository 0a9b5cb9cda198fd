package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/totp"
)

// FuzzAuthDecoders feeds any body to the decoders of the login, MFA,
// password and user-management requests: none panics, and every failure is
// an application error a client can act on, never an internal error. A
// decoded MFA code is either refused with a field error or normalized to
// the two accepted shapes.
func FuzzAuthDecoders(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@b.co","password":"x"}`, `{"mfa_token":"abc","code":"123456"}`, `{"mfa_token":"abc","code":"abcd-efgh-ijkl-mnop"}`,
		`{"code":" 123 456 "}`, `{"code":123456}`, `{"code":null}`, `{"password":"owner-password"}`,
		`{"current_password":"a","new_password":"b"}`, `{"role":"admin","is_active":false}`, `{"role":null,"is_active":"yes"}`,
		`{"require_mfa":true}`, `{"require_mfa":1}`, `{}`, `[]`, `null`, ``, "{\"code\":\"\xff\"}", `{"a":` + strings.Repeat("[", 1000),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, dst := range []any{&loginRequest{}, &mfaVerifyRequest{}, &mfaCodeRequest{}, &mfaSetupRequest{}, &changePasswordRequest{}, &updateUserRequest{}, &accountSecurityRequest{}} {
			r := httptest.NewRequest("POST", "/", strings.NewReader(body))
			err := decodeJSON(httptest.NewRecorder(), r, dst)
			if code := audit.ErrorCode(err); err != nil && code == audit.EINTERNAL {
				t.Fatalf("decodeJSON(%q) into %T = internal error %v", body, dst, err)
			}
			var raw string
			switch v := dst.(type) {
			case *mfaVerifyRequest:
				raw = v.Code
			case *mfaCodeRequest:
				raw = v.Code
			default:
				continue
			}
			checkParseCode(t, raw)
		}
	})
}

// FuzzParseCode checks the MFA code normalizer on any string.
func FuzzParseCode(f *testing.F) {
	for _, seed := range []string{"123456", "123 456", "12345", "abcd-efgh-ijkl-mnop", "ABCD EFGH IJKL MNOP", "abcd-efgh-ijkl-mno1", "", "------", "１２３４５６", "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) { checkParseCode(t, raw) })
}

func checkParseCode(t *testing.T, raw string) {
	t.Helper()
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
}
