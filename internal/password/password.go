// Package password hashes and verifies passwords with argon2id, storing each
// hash in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with unpadded standard base64 salt and key. The parameters travel with each
// hash, so raising them later leaves old hashes verifiable. It also verifies
// the Werkzeug hashes of imported users (werkzeug.go), until they sign in
// and get an argon2id hash.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// OWASP is the OWASP Password Storage Cheat Sheet's minimum for argon2id:
// 19 MiB of memory, two passes, one thread.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformed is returned by Verify for a stored hash it cannot parse.
var ErrMalformed = errors.New("password: malformed hash")

// Hasher hashes and verifies passwords. At most GOMAXPROCS hashes run at
// once: each takes tens of milliseconds of one core and 19 MiB, and running
// more at a time than there are cores only slows them all.
type Hasher struct {
	params Params
	slots  chan struct{}
	dummy  string
}

// NewHasher returns a Hasher that makes new hashes with p.
func NewHasher(p Params) *Hasher {
	h := &Hasher{params: p, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	// The dummy needs only the shape of a hash with these parameters:
	// Verify does the same work against it whatever its key, and never
	// accepts it. A zero key spares every process an argon2id hash (and
	// its 19 MiB) at start.
	h.dummy = h.encode(make([]byte, p.SaltLen), make([]byte, p.KeyLen))
	return h
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC-format argon2id hash of password under a fresh salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	return h.encode(salt, argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)), nil
}

func (h *Hasher) encode(salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.params.Memory, h.params.Time, h.params.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether password matches the stored hash, comparing in
// constant time. An empty hash is checked against a dummy hash, so that a
// sign-in for an unknown email costs the same time as one for a known email
// and always fails. Besides its own argon2id hashes it accepts the
// Werkzeug hashes of the seed's system (see IsLegacy), which the caller
// replaces after a successful sign-in (NeedsRehash).
func (h *Hasher) Verify(ctx context.Context, password, hash string) (bool, error) {
	known := hash != ""
	if !known {
		hash = h.dummy
	}
	if IsLegacy(hash) {
		l, err := parseLegacy(hash)
		if err != nil {
			return false, err
		}
		if err := h.acquire(ctx); err != nil {
			return false, err
		}
		defer h.release()
		return l.verify(password)
	}
	p, salt, key, err := decode(hash)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1 && known, nil
}

// decode parses a PHC-format argon2id hash.
func decode(hash string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, ErrMalformed
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory < 8 || p.Memory > 1<<22 || p.Time < 1 || p.Time > 64 || p.Threads < 1 {
		return p, nil, nil, ErrMalformed
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, ErrMalformed
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}
