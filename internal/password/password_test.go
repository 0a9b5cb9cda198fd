package password

import (
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	ctx := t.Context()
	h := NewHasher(OWASP)
	hash, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not record the OWASP parameters", hash)
	}
	other, _ := h.Hash(ctx, "correct horse battery staple")
	if other == hash {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
	tests := []struct {
		name     string
		password string
		hash     string
		want     bool
	}{
		{"right password", "correct horse battery staple", hash, true},
		{"wrong password", "correct horse battery stapler", hash, false},
		{"empty password", "", hash, false},
		{"unknown user (empty hash)", "correct horse battery staple", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Verify(ctx, tt.password, tt.hash)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Verify(%q) = %v; want %v", tt.password, got, tt.want)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := NewHasher(OWASP)
	for _, hash := range []string{
		"plain",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=18$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
	} {
		if ok, err := h.Verify(t.Context(), "x", hash); ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", hash, ok, err)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(OWASP)
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "benchmark password"); err != nil {
			b.Fatal(err)
		}
	}
}
