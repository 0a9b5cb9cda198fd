// Package totp implements time-based one-time passwords (RFC 6238) as
// authenticator apps use them: HMAC-SHA-1, six digits, 30-second steps, a
// 160-bit secret shared through an otpauth:// URI shown as a QR code.
//
// It is RFC 6238 on the standard library rather than a TOTP library because
// the service needs the time step a code matched, to refuse a code used
// before (replay), which the common libraries' Validate does not return; the
// algorithm itself is a dozen lines, checked against RFC 6238's test vectors.
package totp

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"image/png"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

// The parameters every common authenticator app supports.
const (
	Digits    = 6
	Period    = 30 * time.Second
	SecretLen = 20 // bytes: RFC 4226's recommended 160 bits
	// Skew is how many steps before and after the current one a code may
	// come from, for clocks that drift and codes typed near a step's end.
	Skew = 1
)

// NewSecret returns a fresh random secret.
func NewSecret() []byte {
	b := make([]byte, SecretLen)
	rand.Read(b) // never fails (crypto/rand documents it)
	return b
}

// Encode returns the secret in unpadded base32, as apps take it typed in.
func Encode(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

// Step returns the time step that t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code returns the code of secret at time step step, with digits digits
// (RFC 4226 section 5.3 dynamic truncation).
func Code(secret []byte, step int64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	s := strconv.FormatUint(uint64(v%mod), 10)
	return strings.Repeat("0", digits-len(s)) + s
}

// Match reports whether code is secret's code for a step within Skew of
// now's, and returns that step. Only steps after used match, so that the
// caller, by storing the step of the last code accepted as used, makes
// every code single-use. Each candidate is compared in constant time.
func Match(secret []byte, code string, now time.Time, used int64) (step int64, ok bool) {
	if len(code) != Digits {
		return 0, false
	}
	cur := Step(now)
	for s := cur - Skew; s <= cur+Skew; s++ {
		if s <= used {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(Code(secret, s, Digits)), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// URI returns the otpauth:// URI that enrols secret in an authenticator app
// (the Key URI Format of Google Authenticator, which every app reads):
// issuer names the service and account the user, such as their email.
func URI(issuer, account string, secret []byte) string {
	q := url.Values{}
	q.Set("secret", Encode(secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", strconv.Itoa(Digits))
	q.Set("period", strconv.Itoa(int(Period/time.Second)))
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: q.Encode()}
	return u.String()
}

// QRCodePNG returns a PNG image of a QR code holding text, such as a URI:
// error correction level M, scaled so each module is several pixels wide.
func QRCodePNG(text string) ([]byte, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	side := code.Bounds().Dx() * 6
	if code, err = barcode.Scale(code, side, side); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, code); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
