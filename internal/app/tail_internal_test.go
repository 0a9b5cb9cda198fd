package app

import (
	"crypto/sha256"
	"errors"
	"testing"
)

// TestRecheckShared: tails of one credential share its check for
// recheckShare, except an internal error; the cache is keyed by the
// credential's SHA-256, never by the credential.
func TestRecheckShared(t *testing.T) {
	a := &App{}
	checks := map[string]int{}
	outcome := map[string]error{
		"alk_valid":   nil,
		"alk_revoked": ErrUnauthorized,
		"alk_db_down": errors.New("database unreachable"),
	}
	for _, c := range []struct {
		credential string
		wantChecks int
	}{
		{"alk_valid", 1},
		{"alk_valid", 1},
		{"alk_revoked", 1},
		{"alk_revoked", 1},
		{"alk_db_down", 1},
		{"alk_db_down", 2}, // an internal error is not shared
		{"alk_valid", 1},
	} {
		_, err := a.recheck(c.credential, func() (*Principal, error) {
			checks[c.credential]++
			return &Principal{AccountID: 1}, outcome[c.credential]
		})
		if !errors.Is(err, outcome[c.credential]) { // the check's own error, passed on as it is
			t.Errorf("recheck(%s) = %v; want %v", c.credential, err, outcome[c.credential])
		}
		if checks[c.credential] != c.wantChecks {
			t.Errorf("after recheck(%s), %d checks; want %d", c.credential, checks[c.credential], c.wantChecks)
		}
	}
	if len(a.rechecks.m) != 2 {
		t.Errorf("%d credentials cached; want 2", len(a.rechecks.m))
	}
	for _, cred := range []string{"alk_valid", "alk_revoked"} {
		if _, ok := a.rechecks.m[sha256.Sum256([]byte(cred))]; !ok {
			t.Errorf("no entry under the SHA-256 of %s", cred)
		}
	}
}
