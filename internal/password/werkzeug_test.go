package password_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/password/werkzeugtest"
)

// TestWerkzeugVectors checks hashes made by Werkzeug itself (Debian 12's
// python3-werkzeug), committed in testdata/werkzeug.txt.
func TestWerkzeugVectors(t *testing.T) {
	f, err := os.Open("testdata/werkzeug.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := password.NewHasher(password.OWASP)
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		method, hash, _ := strings.Cut(line, " ")
		n++
		t.Run(method+"/"+hash[:strings.Index(hash, "$")], func(t *testing.T) {
			if !password.IsLegacy(hash) || !password.ValidLegacy(hash) || !password.NeedsRehash(hash) {
				t.Fatalf("%q is not taken for a valid legacy hash", hash)
			}
			for pw, want := range map[string]bool{"owner123": true, "Owner123": false} {
				got, err := h.Verify(t.Context(), pw, hash)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("Verify(%q, %q) = %v; want %v", pw, hash, got, want)
				}
			}
		})
	}
	if n < 5 {
		t.Fatalf("read %d vectors; want the 6 of the file", n)
	}
}

// TestWerkzeugHashes checks hashes made by the documented algorithm with
// golang.org/x/crypto, including salts and passwords beyond ASCII.
func TestWerkzeugHashes(t *testing.T) {
	h := password.NewHasher(password.OWASP)
	tests := []struct {
		name, password, hash string
	}{
		{"pbkdf2", "owner123", werkzeugtest.PBKDF2("owner123", "abcdEFGH12345678", 1000)},
		{"pbkdf2 one iteration", "x", werkzeugtest.PBKDF2("x", "s", 1)},
		{"pbkdf2 unicode", "pässwörd ✓", werkzeugtest.PBKDF2("pässwörd ✓", "sälz", 2000)},
		{"scrypt default cost", "admin123", werkzeugtest.Scrypt("admin123", "QWERTYuiop123456", 1<<15, 8, 1)},
		{"scrypt small", "analyst123", werkzeugtest.Scrypt("analyst123", "salt", 1024, 8, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(t.Context(), tt.password, tt.hash)
			if err != nil || !ok {
				t.Fatalf("Verify(right password) = %v, %v; want true", ok, err)
			}
			ok, err = h.Verify(t.Context(), tt.password+"!", tt.hash)
			if err != nil || ok {
				t.Fatalf("Verify(wrong password) = %v, %v; want false", ok, err)
			}
		})
	}
}

// TestWerkzeugMalformed checks that a hash Verify cannot use is an error,
// never a match, and that costs beyond the bounds are refused.
func TestWerkzeugMalformed(t *testing.T) {
	h := password.NewHasher(password.OWASP)
	good := werkzeugtest.PBKDF2("pw", "salt", 10)
	key := good[strings.LastIndex(good, "$")+1:]
	for _, hash := range []string{
		"pbkdf2",
		"pbkdf2:sha256:10$salt",
		"pbkdf2:sha256:10$$" + key,
		"pbkdf2:sha256:ten$salt$" + key,
		"pbkdf2:sha256:0$salt$" + key,
		"pbkdf2:sha256:20000000$salt$" + key,
		"pbkdf2:md5:10$salt$" + key,
		"pbkdf2:sha256:10$salt$" + key[:10],
		"pbkdf2:sha256:10$salt$zz" + key[2:],
		"pbkdf2:sha256:10:1$salt$" + key,
		"scrypt:32768:8$salt$" + key,
		"scrypt:1000:8:1$salt$" + key + key,
		"scrypt:1048576:8:1$salt$" + key + key,
		"scrypt:32768:8:1$salt$" + key,
		"scryptish$salt$" + key,
	} {
		ok, err := h.Verify(t.Context(), "pw", hash)
		if ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want false and an error", hash, ok, err)
		}
		if password.ValidLegacy(hash) {
			t.Errorf("ValidLegacy(%q) = true", hash)
		}
	}
	if password.NeedsRehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw") {
		t.Error("NeedsRehash(argon2id) = true")
	}
}
