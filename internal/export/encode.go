package export

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// appendEvent appends e as encoding/json encodes it (without the trailing
// newline): the same keys in the same order, strings escaped the same way
// (HTML-safe, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped), []byte
// and hashes as standard base64. TestAppendEventMatchesJSON holds it to
// that.
func appendEvent(b []byte, e *Event) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, TypeEvent)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"created_at":`...)
	b = appendString(b, e.CreatedAt)
	b = append(b, `,"occurred_at":`...)
	b = appendString(b, e.OccurredAt)
	b = append(b, `,"user_id":`...)
	b = strconv.AppendInt(b, e.UserID, 10)
	b = append(b, `,"actor_type":`...)
	b = appendString(b, e.ActorType)
	b = append(b, `,"event_id":`...)
	b = appendString(b, e.EventID)
	b = append(b, `,"action":`...)
	b = appendString(b, e.Action)
	b = append(b, `,"resource_type":`...)
	b = appendString(b, e.ResourceType)
	b = append(b, `,"resource_id":`...)
	b = appendString(b, e.ResourceID)
	b = append(b, `,"outcome":`...)
	b = appendString(b, e.Outcome)
	b = append(b, `,"actor_id":`...)
	b = appendString(b, e.ActorID)
	b = append(b, `,"actor_email":`...)
	b = appendString(b, e.ActorEmail)
	b = append(b, `,"actor_name":`...)
	b = appendString(b, e.ActorName)
	b = append(b, `,"ip_address":`...)
	b = appendString(b, e.IPAddress)
	b = append(b, `,"user_agent":`...)
	b = appendString(b, e.UserAgent)
	b = append(b, `,"details":`...)
	b = appendString(b, e.Details)
	b = append(b, `,"metadata":`...)
	b = appendString(b, e.Metadata)
	b = append(b, `,"changes":`...)
	b = appendString(b, e.Changes)
	b = append(b, `,"salt":`...)
	if e.Salt == nil {
		b = append(b, "null"...)
	} else {
		b = appendBase64(b, e.Salt)
	}
	b = append(b, `,"commitment":`...)
	b = appendBase64(b, e.Commitment[:])
	b = append(b, `,"leaf_hash":`...)
	b = appendBase64(b, e.LeafHash[:])
	if len(e.Proof) > 0 {
		b = append(b, `,"proof":[`...)
		for i := range e.Proof {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendBase64(b, e.Proof[i][:])
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendBase64 appends src as a JSON string of its standard base64.
func appendBase64(b, src []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, src)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// safeASCII[c] is set for the ASCII bytes that encoding/json writes as
// they are (with HTML escaping on).
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				// Control characters and <, >, & (HTML-safe).
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
