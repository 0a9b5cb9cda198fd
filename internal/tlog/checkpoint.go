package tlog

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is a signed statement of a log's size and root hash.
type Checkpoint struct {
	Origin string // names the log: "<key name>/accounts/<account id>"
	Size   int64
	Root   Hash
}

// Origin returns the origin line of the log of the given account.
func Origin(keyName string, accountID int64) string {
	return keyName + "/accounts/" + strconv.FormatInt(accountID, 10)
}

// Body returns the checkpoint's note text, in the C2SP tlog-checkpoint
// format: the origin, the tree size in decimal and the root hash in
// standard base64, each on its own line.
func (c Checkpoint) Body() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n"
}

// ErrCheckpoint is wrapped by every checkpoint parsing failure.
var ErrCheckpoint = errors.New("tlog: malformed checkpoint")

// ParseCheckpointBody parses a checkpoint's note text. It is strict: exactly
// three lines, a non-empty origin without control characters, a decimal size
// without sign or leading zeros, and a 32-byte root in padded standard base64.
func ParseCheckpointBody(text string) (Checkpoint, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return Checkpoint{}, fmt.Errorf("%w: want 3 lines ending in a newline", ErrCheckpoint)
	}
	origin, sizeText, rootText := lines[0], lines[1], lines[2]
	if origin == "" || strings.ContainsFunc(origin, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Checkpoint{}, fmt.Errorf("%w: bad origin line", ErrCheckpoint)
	}
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeText {
		return Checkpoint{}, fmt.Errorf("%w: bad tree size %q", ErrCheckpoint, sizeText)
	}
	root, err := base64.StdEncoding.Strict().DecodeString(rootText)
	if err != nil || len(root) != len(Hash{}) || base64.StdEncoding.EncodeToString(root) != rootText {
		return Checkpoint{}, fmt.Errorf("%w: bad root hash %q", ErrCheckpoint, rootText)
	}
	c := Checkpoint{Origin: origin, Size: size}
	copy(c.Root[:], root)
	return c, nil
}

// Signer signs checkpoints with an Ed25519 note key.
type Signer struct {
	signer   note.Signer
	verifier string
	previous []string // verifier keys of the keys that signed before this one
	observe  func(time.Duration)
}

// WithObserver returns a copy of s that tells observe how long each
// checkpoint it signs took (for metrics). observe must not block.
func (s *Signer) WithObserver(observe func(time.Duration)) *Signer {
	c := *s
	c.observe = observe
	return &c
}

// WithPrevious returns a copy of s that also names the verifier keys of the
// signing keys used before it (after a key rotation): checkpoints they
// signed keep verifying, and the service keeps proving that each new tree
// extends the last one signed, whichever key signed it. Each must be a
// valid verifier key with s's name, so that every origin stays the same.
func (s *Signer) WithPrevious(vkeys []string) (*Signer, error) {
	c := *s
	c.previous = nil
	for _, k := range vkeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("tlog: previous verifier key %q: %w", k, err)
		}
		if v.Name() != s.Name() {
			return nil, fmt.Errorf("tlog: previous verifier key %q is named %q, not %q like the signing key: every key of a log must have its name, which begins each origin", k, v.Name(), s.Name())
		}
		if k == s.verifier || slices.Contains(c.previous, k) {
			continue
		}
		c.previous = append(c.previous, k)
	}
	return &c, nil
}

// VerifierKeys returns the signer's verifier key followed by the previous
// ones (WithPrevious).
func (s *Signer) VerifierKeys() []string {
	return append([]string{s.verifier}, s.previous...)
}

// NewSigner returns a Signer for a note signer key of the form
// "PRIVATE+KEY+<name>+<hash>+<key>", as GenerateKey makes.
func NewSigner(skey string) (*Signer, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("tlog: signing key: %w", err)
	}
	vkey, err := verifierKeyOf(skey)
	if err != nil {
		return nil, err
	}
	return &Signer{signer: s, verifier: vkey}, nil
}

// GenerateKey returns a new Ed25519 signer key and its verifier key for the
// given key name, which names the service (such as "audit.example.com").
func GenerateKey(name string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, name)
}

// verifierKeyOf derives the verifier key of a signer key.
func verifierKeyOf(skey string) (string, error) {
	// A signer key is PRIVATE+KEY+name+hash+base64(alg || private key seed).
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", fmt.Errorf("tlog: signing key is not PRIVATE+KEY+<name>+<hash>+<key>")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+32 || raw[0] != 1 {
		return "", fmt.Errorf("tlog: signing key is not an Ed25519 note key")
	}
	pub := ed25519Public(raw[1:])
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// Name returns the key's name, the first part of every origin it signs.
func (s *Signer) Name() string { return s.signer.Name() }

// VerifierKey returns the public verifier key, "<name>+<hash>+<key>", which
// anyone may hold to check this signer's checkpoints.
func (s *Signer) VerifierKey() string { return s.verifier }

// Sign returns the signed note of the checkpoint.
func (s *Signer) Sign(c Checkpoint) ([]byte, error) {
	if s.observe == nil {
		return note.Sign(&note.Note{Text: c.Body()}, s.signer)
	}
	start := time.Now()
	b, err := note.Sign(&note.Note{Text: c.Body()}, s.signer)
	if err == nil {
		s.observe(time.Since(start))
	}
	return b, err
}

// KeyName returns the name part of a verifier key "<name>+<hash>+<key>": the
// first part of every origin the key signs.
func KeyName(vkey string) string {
	name, _, _ := strings.Cut(vkey, "+")
	return name
}

// OpenCheckpoint verifies a signed checkpoint note with the verifier key and
// parses it. It fails unless the note carries a valid signature by that key.
// Other signatures (a witness's cosignature) are ignored.
func OpenCheckpoint(signed []byte, vkey string) (Checkpoint, error) {
	return OpenCheckpointAny(signed, []string{vkey})
}

// OpenCheckpointAny is OpenCheckpoint for a log whose key was rotated: the
// note must carry a valid signature by at least one of the verifier keys.
func OpenCheckpointAny(signed []byte, vkeys []string) (Checkpoint, error) {
	var vs []note.Verifier
	for _, k := range vkeys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("tlog: verifier key: %w", err)
		}
		vs = append(vs, v)
	}
	n, err := note.Open(signed, note.VerifierList(vs...))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("tlog: checkpoint signature: %w", err)
	}
	return ParseCheckpointBody(n.Text)
}
