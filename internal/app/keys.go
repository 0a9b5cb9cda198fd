package app

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
)

// Labels of the keys derived from the secret key, one per purpose: each
// purpose's key is HMAC-SHA-256(secret, label), so no value computed for
// one purpose is ever valid for another. Changing a label changes every
// value of its purpose; docs/security.md says what that costs.
const (
	labelMFALogin = "auditlog mfa sign-in token v1"
	labelBucket   = "auditlog rate-limit bucket v1"
	labelCursor   = "auditlog cursor v1"
	// labelMFASecret derives the AES-256-GCM key that seals TOTP secrets
	// at rest. It must never change: secrets sealed under it must open.
	labelMFASecret = "auditlog mfa secret v1"
	// labelStreamSecret derives the AES-256-GCM key that seals streams'
	// destination secrets at rest. It must never change either.
	labelStreamSecret = "auditlog stream secret v1"
	// labelErasure keys the opaque reference an erasure record keeps of
	// its subject (ErasureRef).
	labelErasure = "auditlog erasure subject v1"
)

// Keys derives every value the service keys with its secret key:
//
//   - SessionHash: the stored form of a session token, HMAC-SHA-256 of the
//     token under the secret key itself. This derivation predates Keys and
//     is kept so that stored sessions survive upgrades; it is separate from
//     the labelled purposes because it is only ever applied to session
//     tokens, 43 base64url characters, which no label is (every label
//     contains spaces).
//   - MFALoginHash: the stored form of a pending MFA sign-in's token
//     (labelMFALogin).
//   - BucketKey: rate-limit bucket keys for emails and session hashes, so
//     that a shared Redis holds no email addresses (labelBucket).
//   - CursorMAC: the MAC that binds a list cursor to its account and
//     filters (labelCursor).
//   - SealMFASecret, OpenMFASecret: TOTP secrets at rest (labelMFASecret).
//   - SealStreamSecret, OpenStreamSecret: streams' destination secrets at
//     rest (labelStreamSecret).
//   - ErasureRef: the reference an erasure keeps of the external actor or
//     email it erased, instead of the value (labelErasure).
type Keys struct {
	secret   []byte
	mfaLogin []byte
	bucket   []byte
	cursor   []byte
	erasure  []byte
	mfa      cipher.AEAD
	stream   cipher.AEAD
}

// NewKeys derives the keys of every purpose from secret.
func NewKeys(secret []byte) Keys {
	return Keys{
		secret:   secret,
		mfaLogin: derive(secret, labelMFALogin),
		bucket:   derive(secret, labelBucket),
		cursor:   derive(secret, labelCursor),
		erasure:  derive(secret, labelErasure),
		mfa:      newAEAD(derive(secret, labelMFASecret)),
		stream:   newAEAD(derive(secret, labelStreamSecret)),
	}
}

// newAEAD returns AES-256-GCM under a 32-byte key.
func newAEAD(key []byte) cipher.AEAD {
	block, _ := aes.NewCipher(key) // a 32-byte key never fails
	aead, _ := cipher.NewGCM(block)
	return aead
}

// derive returns the key of the purpose named by label.
func derive(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func hmacHex(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	for i, p := range parts {
		if i > 0 {
			m.Write([]byte{0})
		}
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// SessionHash returns the stored form of a session token. A leaked sessions
// table then yields no usable cookie.
func (k Keys) SessionHash(token string) string { return hmacHex(k.secret, token) }

// MFALoginHash returns the stored form of a pending MFA sign-in's token.
func (k Keys) MFALoginHash(token string) string { return hmacHex(k.mfaLogin, token) }

// BucketKey returns the rate-limit bucket key for a secret-ish value such
// as an email or a session token hash: kind, a colon, and 128 bits of
// keyed hash.
func (k Keys) BucketKey(kind, value string) string {
	return kind + ":" + hmacHex(k.bucket, kind, value)[:32]
}

// ErasureRef returns the opaque reference an erasure record keeps of an
// external actor ID or email of the account: kind, a colon and 128 bits of
// keyed hash. The same subject always gets the same reference (under the
// same secret key), so an operator can tell whether a value was erased by
// computing its reference, and the record does not hold the value.
func (k Keys) ErasureRef(accountID int64, kind, value string) string {
	return kind + ":" + hmacHex(k.erasure, strconv.FormatInt(accountID, 10), kind, value)[:32]
}

// CursorMAC authenticates the listing position (micros, seq) for an
// account and filter, and the extra values that bind it further (a
// listing with a search adds the search and the time it was resolved at);
// without extras it is the MAC cursors have always had.
func (k Keys) CursorMAC(accountID int64, f audit.EventFilter, micros, seq int64, extra ...string) []byte {
	m := hmac.New(sha256.New, k.cursor)
	for _, v := range append([]string{
		strconv.FormatInt(accountID, 10), strconv.FormatInt(f.UserID, 10), f.Action, f.ResourceType,
		strconv.FormatInt(f.Start.UnixMicro(), 10), strconv.FormatInt(f.End.UnixMicro(), 10),
		strconv.FormatInt(micros, 10), strconv.FormatInt(seq, 10),
	}, extra...) {
		m.Write([]byte(v))
		m.Write([]byte{0})
	}
	return m.Sum(nil)[:16]
}

// mfaAAD binds a sealed secret to its user, so a row copied onto another
// user does not open.
func mfaAAD(accountID, userID int64) []byte {
	return []byte("account " + strconv.FormatInt(accountID, 10) + " user " + strconv.FormatInt(userID, 10))
}

// SealMFASecret encrypts a TOTP secret of a user with AES-GCM: "v1:" and
// the base64 of nonce and ciphertext.
func (k Keys) SealMFASecret(accountID, userID int64, secret []byte) string {
	return seal(k.mfa, mfaAAD(accountID, userID), secret)
}

// Errors of OpenMFASecret.
var (
	// errSealMalformed means the stored value is not a sealed secret.
	errSealMalformed = errors.New("app: sealed MFA secret is malformed")
	// errSealKey means the value does not open under this secret key,
	// which changed since enrolment (or the row was moved).
	errSealKey = errors.New("app: sealed MFA secret does not open: was SECRET_KEY changed?")
)

// OpenMFASecret decrypts the sealed TOTP secret of a user.
func (k Keys) OpenMFASecret(accountID, userID int64, sealed string) ([]byte, error) {
	secret, err := open(k.mfa, mfaAAD(accountID, userID), sealed)
	switch {
	case errors.Is(err, errOpenMalformed):
		return nil, errSealMalformed
	case err != nil:
		return nil, errSealKey
	}
	return secret, nil
}

// streamAAD binds a sealed destination secret to its stream.
func streamAAD(accountID, streamID int64) []byte {
	return []byte("account " + strconv.FormatInt(accountID, 10) + " stream " + strconv.FormatInt(streamID, 10))
}

// SealStreamSecret encrypts the destination secret of a stream (a webhook
// signing secret, a Splunk HEC token, a Datadog API key) as
// SealMFASecret does.
func (k Keys) SealStreamSecret(accountID, streamID int64, secret []byte) string {
	return seal(k.stream, streamAAD(accountID, streamID), secret)
}

// OpenStreamSecret decrypts the sealed destination secret of a stream.
func (k Keys) OpenStreamSecret(accountID, streamID int64, sealed string) ([]byte, error) {
	secret, err := open(k.stream, streamAAD(accountID, streamID), sealed)
	if err != nil {
		return nil, fmt.Errorf("app: secret of stream %d of account %d: %w", streamID, accountID, err)
	}
	return secret, nil
}

// Errors of open.
var (
	errOpenMalformed = errors.New("sealed value is malformed")
	errOpenKey       = errors.New("sealed value does not open: was SECRET_KEY changed?")
)

// seal encrypts plain under aead, bound to aad: "v1:" and the base64 of
// nonce and ciphertext.
func seal(aead cipher.AEAD, aad, plain []byte) string {
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return "v1:" + base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, aad))
}

// open decrypts what seal returned.
func open(aead cipher.AEAD, aad []byte, sealed string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	if err != nil || !strings.HasPrefix(sealed, "v1:") || len(raw) < aead.NonceSize() {
		return nil, errOpenMalformed
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], aad)
	if err != nil {
		return nil, errOpenKey
	}
	return plain, nil
}
