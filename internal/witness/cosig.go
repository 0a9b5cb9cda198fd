package witness

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// algCosignatureV1 is the signed-note key type of C2SP tlog-cosignature
// Ed25519 cosignatures (cosignature/v1).
const algCosignatureV1 = 0x04

// keyID returns the 4-byte key ID of a cosignature/v1 key: the first four
// bytes of SHA-256(name || "\n" || 0x04 || public key), as a big-endian
// integer (the note package's KeyHash).
func keyID(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{algCosignatureV1})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// signedMessage returns what a cosignature/v1 signs: the header lines
// "cosignature/v1" and "time <timestamp>", then the checkpoint's note text.
func signedMessage(timestamp uint64, text []byte) []byte {
	msg := []byte("cosignature/v1\ntime " + strconv.FormatUint(timestamp, 10) + "\n")
	return append(msg, text...)
}

// GenerateKey returns a new witness key pair named name: the secret signer
// key "PRIVATE+KEY+<name>+<id>+<base64(0x04 || seed)>" and the verifier key
// "<name>+<id>+<base64(0x04 || public key)>" that a log's readers use to
// check the witness's cosignatures.
func GenerateKey(name string) (skey, vkey string, err error) {
	if name == "" || strings.ContainsAny(name, "+ \t\n") {
		return "", "", fmt.Errorf("witness: key name %q: want a name without spaces or '+'", name)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	id := fmt.Sprintf("%08x", keyID(name, pub))
	skey = "PRIVATE+KEY+" + name + "+" + id + "+" + base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, priv.Seed()...))
	vkey = name + "+" + id + "+" + base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, pub...))
	return skey, vkey, nil
}

// Signer makes cosignature/v1 signatures. It implements note.Signer, so
// note.Sign adds its cosignature line to a checkpoint.
type Signer struct {
	name string
	id   uint32
	priv ed25519.PrivateKey
	vkey string
	// Now returns the time of each cosignature; tests may replace it.
	Now func() time.Time
}

// NewSigner parses a witness signer key made by GenerateKey.
func NewSigner(skey string) (*Signer, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return nil, errors.New("witness: signer key is not PRIVATE+KEY+<name>+<id>+<key>")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != algCosignatureV1 {
		return nil, errors.New("witness: signer key is not a cosignature/v1 Ed25519 key")
	}
	priv := ed25519.NewKeyFromSeed(raw[1:])
	pub := priv.Public().(ed25519.PublicKey)
	id := keyID(parts[2], pub)
	if fmt.Sprintf("%08x", id) != parts[3] {
		return nil, errors.New("witness: signer key's ID does not match its name and key")
	}
	vkey := parts[2] + "+" + parts[3] + "+" + base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, pub...))
	return &Signer{name: parts[2], id: id, priv: priv, vkey: vkey, Now: time.Now}, nil
}

// Name implements note.Signer.
func (s *Signer) Name() string { return s.name }

// KeyHash implements note.Signer: the key ID.
func (s *Signer) KeyHash() uint32 { return s.id }

// VerifierKey returns the witness's public verifier key.
func (s *Signer) VerifierKey() string { return s.vkey }

// Sign implements note.Signer: the 8-byte big-endian timestamp (Unix
// seconds) followed by the Ed25519 signature of signedMessage.
func (s *Signer) Sign(text []byte) ([]byte, error) {
	ts := uint64(s.Now().Unix())
	sig := binary.BigEndian.AppendUint64(nil, ts)
	return append(sig, ed25519.Sign(s.priv, signedMessage(ts, text))...), nil
}

// Verifier checks cosignature/v1 signatures. It implements note.Verifier.
type Verifier struct {
	name string
	id   uint32
	pub  ed25519.PublicKey
}

// NewVerifier parses a witness verifier key "<name>+<id>+<base64(0x04 ||
// public key)>".
func NewVerifier(vkey string) (*Verifier, error) {
	parts := strings.SplitN(strings.TrimSpace(vkey), "+", 3)
	if len(parts) != 3 || parts[0] == "" {
		return nil, fmt.Errorf("witness: verifier key %q is not <name>+<id>+<key>", vkey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != algCosignatureV1 {
		return nil, fmt.Errorf("witness: verifier key %q is not a cosignature/v1 Ed25519 key", vkey)
	}
	pub := ed25519.PublicKey(raw[1:])
	id := keyID(parts[0], pub)
	if fmt.Sprintf("%08x", id) != parts[1] {
		return nil, fmt.Errorf("witness: verifier key %q: its ID does not match its name and key", vkey)
	}
	return &Verifier{name: parts[0], id: id, pub: pub}, nil
}

// Name implements note.Verifier.
func (v *Verifier) Name() string { return v.name }

// KeyHash implements note.Verifier.
func (v *Verifier) KeyHash() uint32 { return v.id }

// Verify implements note.Verifier.
func (v *Verifier) Verify(text, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	ts := binary.BigEndian.Uint64(sig)
	return ed25519.Verify(v.pub, signedMessage(ts, text), sig[8:])
}

var (
	_ note.Signer   = (*Signer)(nil)
	_ note.Verifier = (*Verifier)(nil)
)

// Policy is what a reader requires of a checkpoint beyond the log's own
// signature: cosignatures by at least Quorum of the Witnesses.
type Policy struct {
	Witnesses []*Verifier
	Quorum    int
}

// Check verifies a signed checkpoint note: the log's signature by logKey
// (a note verifier key), and valid cosignatures by at least p.Quorum
// distinct witnesses of the policy. It returns the note's text.
func (p Policy) Check(signed []byte, logKey string) (string, error) {
	lv, err := note.NewVerifier(logKey)
	if err != nil {
		return "", fmt.Errorf("witness: log key: %w", err)
	}
	known := []note.Verifier{lv}
	for _, w := range p.Witnesses {
		known = append(known, w)
	}
	n, err := note.Open(signed, note.VerifierList(known...))
	if err != nil {
		return "", fmt.Errorf("witness: checkpoint signatures: %w", err)
	}
	logSigned := false
	cosigned := map[string]bool{}
	for _, s := range n.Sigs {
		if s.Name == lv.Name() && s.Hash == lv.KeyHash() {
			logSigned = true
			continue
		}
		cosigned[fmt.Sprintf("%s+%08x", s.Name, s.Hash)] = true
	}
	if !logSigned {
		return "", errors.New("witness: the checkpoint is not signed by the log's key")
	}
	if len(cosigned) < p.Quorum {
		return "", fmt.Errorf("witness: the checkpoint carries %d valid cosignatures of the %d witnesses given; the policy needs %d", len(cosigned), len(p.Witnesses), p.Quorum)
	}
	return n.Text, nil
}
