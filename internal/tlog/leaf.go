package tlog

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	sumdb "golang.org/x/mod/sumdb/tlog"
)

// LeafVersion is the version of the leaf encoding that the service writes
// (Sealed). Version 2 encodes whether occurred_at was given apart from its
// value; version 1, which events recorded before it carry, encodes an
// absent occurred_at as 0, the same as the Unix epoch.
const LeafVersion = 2

// LeafVersion1 is the first leaf encoding. Its leaves keep verifying.
const LeafVersion1 = 1

// commitVersion is the version byte of the personal-data commitment (§2),
// which did not change with the leaf.
const commitVersion = 1

// SaltSize is the size of the per-event salt of the personal-data commitment.
const SaltSize = 32

// Hash is a SHA-256 hash: a leaf hash, a tree node or a root.
type Hash = sumdb.Hash

// Personal is the personal data of an event. It enters the leaf only as a
// commitment, so that erasing it (deleting the cleartext and the salt)
// leaves every proof valid.
type Personal struct {
	ActorID    string `json:"actor_id"`
	ActorEmail string `json:"actor_email"`
	ActorName  string `json:"actor_name"`
	IPAddress  string `json:"ip_address"`
	UserAgent  string `json:"user_agent"`
	Details    string `json:"details"`
	Metadata   string `json:"metadata"` // compact JSON text, "" when absent
	Changes    string `json:"changes"`  // compact JSON text, "" when absent
}

// Commit returns the commitment to p under salt: HMAC-SHA-256 keyed by the
// salt over the version byte and the eight fields, each length-prefixed.
func (p Personal) Commit(salt []byte) Hash {
	m := hmac.New(sha256.New, salt)
	buf := []byte{commitVersion}
	for _, s := range []string{p.ActorID, p.ActorEmail, p.ActorName, p.IPAddress, p.UserAgent, p.Details, p.Metadata, p.Changes} {
		buf = appendString(buf, s)
	}
	m.Write(buf)
	var h Hash
	m.Sum(h[:0])
	return h
}

// Leaf is what an event contributes to its account's log.
type Leaf struct {
	// Version is the encoding's version: LeafVersion, or LeafVersion1 for
	// events recorded before it; 0 means LeafVersion.
	Version      uint8
	AccountID    int64
	Seq          int64     // 1-based; the leaf's index in the tree is Seq-1
	CreatedAt    time.Time // encoded as Unix microseconds
	OccurredAt   time.Time // the client's time; zero (encoded 0) when not given
	UserID       int64     // 0 when no user of the account acted
	ActorType    string
	EventID      string
	Action       string
	ResourceType string
	ResourceID   string
	Outcome      string
	Commitment   Hash // Personal.Commit(salt)
}

// Encode returns the canonical encoding of the leaf, in its Version:
//
//	u8  version (2, or 1)
//	u64 account_id
//	u64 seq
//	i64 created_at, Unix microseconds
//	u8  occurred_at given: 1, or 0 when absent (version 2 only)
//	i64 occurred_at, Unix microseconds, 0 when absent
//	u64 user_id
//	str actor_type
//	str event_id
//	str action
//	str resource_type
//	str resource_id
//	str outcome
//	[32] personal-data commitment
//
// Integers are big-endian; str is a u32 big-endian byte length and the
// UTF-8 bytes.
func (l *Leaf) Encode() []byte {
	version := l.version()
	buf := make([]byte, 0, 2+8*5+4*6+len(l.ActorType)+len(l.EventID)+len(l.Action)+len(l.ResourceType)+len(l.ResourceID)+len(l.Outcome)+32)
	buf = append(buf, version)
	buf = binary.BigEndian.AppendUint64(buf, uint64(l.AccountID))
	buf = binary.BigEndian.AppendUint64(buf, uint64(l.Seq))
	buf = binary.BigEndian.AppendUint64(buf, uint64(l.CreatedAt.UnixMicro()))
	if version != LeafVersion1 {
		given := byte(0)
		if !l.OccurredAt.IsZero() {
			given = 1
		}
		buf = append(buf, given)
	}
	buf = binary.BigEndian.AppendUint64(buf, uint64(micros(l.OccurredAt)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(l.UserID))
	for _, s := range []string{l.ActorType, l.EventID, l.Action, l.ResourceType, l.ResourceID, l.Outcome} {
		buf = appendString(buf, s)
	}
	return append(buf, l.Commitment[:]...)
}

// version returns the leaf's encoding version.
func (l *Leaf) version() uint8 {
	if l.Version == 0 {
		return LeafVersion
	}
	return l.Version
}

// Hash returns the leaf's RFC 6962 hash: SHA-256(0x00 || Encode()).
func (l *Leaf) Hash() Hash { return sumdb.RecordHash(l.Encode()) }

// ErrLeafEncoding is returned by DecodeLeaf for bytes that are not a leaf.
var ErrLeafEncoding = errors.New("tlog: malformed leaf encoding")

// DecodeLeaf parses the canonical encoding of a leaf. It accepts exactly the
// bytes that Encode produces and nothing else.
func DecodeLeaf(b []byte) (*Leaf, error) {
	if len(b) < 1 || (b[0] != LeafVersion && b[0] != LeafVersion1) {
		return nil, fmt.Errorf("%w: unknown version", ErrLeafEncoding)
	}
	l := Leaf{Version: b[0]}
	b = b[1:]
	var ok bool
	var u [5]uint64
	given := byte(2) // version 1: given when not 0
	for i := range u {
		if i == 3 && l.Version != LeafVersion1 {
			if len(b) < 1 {
				return nil, fmt.Errorf("%w: truncated", ErrLeafEncoding)
			}
			given, b = b[0], b[1:]
		}
		if len(b) < 8 {
			return nil, fmt.Errorf("%w: truncated", ErrLeafEncoding)
		}
		u[i], b = binary.BigEndian.Uint64(b), b[8:]
	}
	l.AccountID, l.Seq, l.CreatedAt, l.UserID = int64(u[0]), int64(u[1]), time.UnixMicro(int64(u[2])).UTC(), int64(u[4])
	switch {
	case given == 1 || (given == 2 && u[3] != 0):
		l.OccurredAt = time.UnixMicro(int64(u[3])).UTC()
	case given == 0 && u[3] != 0, given > 2:
		return nil, fmt.Errorf("%w: occurred_at flag %d with value %d", ErrLeafEncoding, given, u[3])
	}
	for _, dst := range []*string{&l.ActorType, &l.EventID, &l.Action, &l.ResourceType, &l.ResourceID, &l.Outcome} {
		if *dst, b, ok = readString(b); !ok {
			return nil, fmt.Errorf("%w: truncated string", ErrLeafEncoding)
		}
	}
	if len(b) != len(l.Commitment) {
		return nil, fmt.Errorf("%w: %d trailing bytes; want a 32-byte commitment", ErrLeafEncoding, len(b))
	}
	copy(l.Commitment[:], b)
	return &l, nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

func readString(b []byte) (string, []byte, bool) {
	if len(b) < 4 {
		return "", nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(len(b)-4) < uint64(n) {
		return "", nil, false
	}
	return string(b[4 : 4+n]), b[4+n:], true
}

// micros returns t as Unix microseconds, or 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}
