package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// Cursors let a client page through a long log without OFFSET, whose cost
// grows with depth: each page's next_cursor names the position of its last
// event, and ?cursor= asks for the events after it. A cursor is opaque to
// clients: the position plus an HMAC under the secret key that binds it to
// the account and the filters it was made for, so it cannot be forged or
// reused with other filters.

var errBadCursor = audit.FieldError("cursor", "cursor is not one this service issued for this listing: start again without it.")

// cursorMAC authenticates a position for an account and filter.
func (s *Server) cursorMAC(accountID int64, f audit.EventFilter, micros, seq int64) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("auditlog cursor v1\x00"))
	for _, v := range []string{
		strconv.FormatInt(accountID, 10), strconv.FormatInt(f.UserID, 10), f.Action, f.ResourceType,
		strconv.FormatInt(f.Start.UnixMicro(), 10), strconv.FormatInt(f.End.UnixMicro(), 10),
		strconv.FormatInt(micros, 10), strconv.FormatInt(seq, 10),
	} {
		m.Write([]byte(v))
		m.Write([]byte{0})
	}
	return m.Sum(nil)[:16]
}

// encodeCursor returns the cursor of the position after e.
func (s *Server) encodeCursor(accountID int64, f audit.EventFilter, e *audit.Event) string {
	micros := e.CreatedAt.UnixMicro()
	b := binary.BigEndian.AppendUint64(nil, uint64(micros))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = append(b, s.cursorMAC(accountID, f, micros, e.Seq)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor checks a cursor and returns its position.
func (s *Server) decodeCursor(accountID int64, f audit.EventFilter, c string) (*audit.Position, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 8+8+16 {
		return nil, errBadCursor
	}
	micros, seq := int64(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint64(b[8:]))
	if !hmac.Equal(b[16:], s.cursorMAC(accountID, f, micros, seq)) {
		return nil, errBadCursor
	}
	return &audit.Position{CreatedAt: time.UnixMicro(micros).UTC(), Seq: seq}, nil
}
