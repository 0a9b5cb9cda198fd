package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Hashes made by Werkzeug's generate_password_hash, which the seed's Flask
// system stores, are verified here so that its users keep their passwords
// when their accounts are imported. Their form is
//
//	pbkdf2:<hash>:<iterations>$<salt>$<hex key>
//	scrypt:<N>:<r>:<p>$<salt>$<hex key>
//
// The salt is used as its UTF-8 bytes (Werkzeug draws it from letters and
// digits), and so is the password. PBKDF2's key is as long as the hash's
// digest; scrypt's is 64 bytes (hashlib.scrypt's default). Werkzeug's own
// check accepts "pbkdf2:<hash>" and "pbkdf2" without iterations, with the
// default of the Werkzeug version that checks; we take the current one,
// WerkzeugPBKDF2Iterations, and "scrypt" without parameters as Werkzeug's
// N=32768, r=8, p=1. A legacy hash is replaced by argon2id at its user's
// first successful sign-in (NeedsRehash).

// WerkzeugPBKDF2Iterations is the iteration count of a Werkzeug PBKDF2 hash
// that does not record one: the default of Werkzeug 3.1 (and of Debian 12's
// patched 2.2.2), which a current Flask deployment checks such a hash with.
const WerkzeugPBKDF2Iterations = 1_000_000

// Bounds on the cost of a legacy hash, so that a hash in the database
// cannot make one sign-in take minutes or gigabytes. They are far above
// what Werkzeug has ever made by default (PBKDF2 1,000,000 iterations in
// 3.1; scrypt 32 MiB).
const (
	maxPBKDF2Iterations = 10_000_000
	maxScryptMemory     = 256 << 20 // bytes: 128·N·r
)

// legacy is a parsed Werkzeug hash.
type legacy struct {
	pbkdf2Hash func() hash.Hash // nil for scrypt
	iterations int
	n, r, p    int
	salt       []byte
	key        []byte
}

// IsLegacy reports whether hash is a Werkzeug hash (of any form Verify
// accepts or not): a hash the seed's system made.
func IsLegacy(hash string) bool {
	return strings.HasPrefix(hash, "pbkdf2") || strings.HasPrefix(hash, "scrypt")
}

// ValidLegacy reports whether hash is a Werkzeug hash that Verify accepts.
func ValidLegacy(hash string) bool {
	_, err := parseLegacy(hash)
	return err == nil
}

// NeedsRehash reports whether a stored hash should be replaced by one of
// the Hasher's after a successful sign-in: a Werkzeug hash.
func NeedsRehash(hash string) bool { return IsLegacy(hash) }

// WeakPBKDF2Iterations is the count below which Weak calls a PBKDF2 hash
// weak: OWASP's recommendation for PBKDF2-HMAC-SHA256 (2023).
const WeakPBKDF2Iterations = 600_000

// Weak reports whether hash is a Werkzeug PBKDF2 hash of fewer than
// WeakPBKDF2Iterations iterations (or of SHA-1): still verified, so that its
// user can sign in, but cheaper to attack than it should be until the
// sign-in replaces it.
func Weak(hash string) bool {
	l, err := parseLegacy(hash)
	return err == nil && l.pbkdf2Hash != nil && (l.iterations < WeakPBKDF2Iterations || len(l.key) == sha1.Size)
}

// parseLegacy parses a Werkzeug hash.
func parseLegacy(s string) (*legacy, error) {
	method, rest, ok := strings.Cut(s, "$")
	if !ok {
		return nil, ErrMalformed
	}
	salt, hexKey, ok := strings.Cut(rest, "$")
	if !ok || salt == "" || strings.Contains(hexKey, "$") {
		return nil, ErrMalformed
	}
	key, err := hex.DecodeString(hexKey)
	if err != nil {
		return nil, ErrMalformed
	}
	l := &legacy{salt: []byte(salt), key: key}
	args := strings.Split(method, ":")
	switch args[0] {
	case "pbkdf2":
		name := "sha256"
		l.iterations = WerkzeugPBKDF2Iterations
		switch len(args) {
		case 1:
		case 2:
			name = args[1]
		case 3:
			name = args[1]
			if l.iterations, err = strconv.Atoi(args[2]); err != nil {
				return nil, ErrMalformed
			}
		default:
			return nil, ErrMalformed
		}
		var size int
		switch name {
		case "sha256":
			l.pbkdf2Hash, size = sha256.New, sha256.Size
		case "sha512":
			l.pbkdf2Hash, size = sha512.New, sha512.Size
		case "sha1":
			l.pbkdf2Hash, size = sha1.New, sha1.Size
		default:
			return nil, ErrMalformed
		}
		if l.iterations < 1 || l.iterations > maxPBKDF2Iterations || len(key) != size {
			return nil, ErrMalformed
		}
	case "scrypt":
		l.n, l.r, l.p = 1<<15, 8, 1
		switch len(args) {
		case 1:
		case 4:
			var errs [3]error
			l.n, errs[0] = strconv.Atoi(args[1])
			l.r, errs[1] = strconv.Atoi(args[2])
			l.p, errs[2] = strconv.Atoi(args[3])
			if errs[0] != nil || errs[1] != nil || errs[2] != nil {
				return nil, ErrMalformed
			}
		default:
			return nil, ErrMalformed
		}
		if l.n < 2 || l.n&(l.n-1) != 0 || l.r < 1 || l.p < 1 || l.p > 16 ||
			int64(128)*int64(l.n)*int64(l.r) > maxScryptMemory || len(key) != 64 {
			return nil, ErrMalformed
		}
	default:
		return nil, ErrMalformed
	}
	return l, nil
}

// verify reports whether password matches, comparing in constant time.
func (l *legacy) verify(password string) (bool, error) {
	var got []byte
	var err error
	if l.pbkdf2Hash != nil {
		got, err = pbkdf2.Key(l.pbkdf2Hash, password, l.salt, l.iterations, len(l.key))
	} else {
		got, err = scrypt.Key([]byte(password), l.salt, l.n, l.r, l.p, len(l.key))
	}
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, l.key) == 1, nil
}
