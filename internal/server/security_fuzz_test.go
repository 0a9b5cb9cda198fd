package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
)

// FuzzAuthDecoders feeds any body to the decoders of the login, MFA,
// password and user-management requests: none panics, and every failure is
// an application error a client can act on, never an internal error. (The
// normalization of the decoded MFA code is fuzzed in package app.)
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
		}
	})
}
