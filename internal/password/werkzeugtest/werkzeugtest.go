// Package werkzeugtest makes password hashes as Werkzeug's
// generate_password_hash documents them, for tests of the seed's imported
// users: it derives the keys with golang.org/x/crypto's pbkdf2 and scrypt,
// apart from the verifier in package password.
package werkzeugtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"golang.org/x/crypto/pbkdf2"
	"golang.org/x/crypto/scrypt"
)

// PBKDF2 returns "pbkdf2:sha256:<iterations>$<salt>$<hex key>": PBKDF2-HMAC-SHA256
// of the password with the salt's UTF-8 bytes, a 32-byte key.
func PBKDF2(password, salt string, iterations int) string {
	key := pbkdf2.Key([]byte(password), []byte(salt), iterations, sha256.Size, sha256.New)
	return fmt.Sprintf("pbkdf2:sha256:%d$%s$%s", iterations, salt, hex.EncodeToString(key))
}

// Scrypt returns "scrypt:<n>:<r>:<p>$<salt>$<hex key>": scrypt of the
// password with the salt's UTF-8 bytes, a 64-byte key (hashlib.scrypt's
// default length).
func Scrypt(password, salt string, n, r, p int) string {
	key, err := scrypt.Key([]byte(password), []byte(salt), n, r, p, 64)
	if err != nil {
		panic(err) // parameters a test chose badly
	}
	return fmt.Sprintf("scrypt:%d:%d:%d$%s$%s", n, r, p, salt, hex.EncodeToString(key))
}
