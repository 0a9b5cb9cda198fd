// Package jsonenc appends JSON values to a byte slice exactly as
// encoding/json writes them with HTML escaping on (its default): strings
// escaped the same way, embedded JSON compacted the same way. The
// hand-written encoders of hot paths (the NDJSON export, the event
// listing) use it so that their bytes stay those of encoding/json at a
// fraction of its cost; their tests and this package's hold them to that.
package jsonenc

import (
	"encoding/json"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// safeASCII[c] is set for the ASCII bytes that encoding/json writes as
// they are inside a string (with HTML escaping on).
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendString appends s as a JSON string, escaped as encoding/json
// escapes it: HTML-safe (<, > and & as \u00XX), invalid UTF-8 as U+FFFD,
// U+2028 and U+2029 escaped.
func AppendString(b []byte, s string) []byte {
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

// AppendRaw appends the JSON text raw as encoding/json embeds a
// json.RawMessage: compacted, with <, >, &, U+2028 and U+2029 escaped;
// null when raw is nil. Text that is already compact and holds none of
// those (the usual stored metadata) is copied as it is, without being
// validated: callers pass JSON that was validated when it was stored.
// Anything else goes through encoding/json, which fails on invalid JSON
// as it would have.
func AppendRaw(b []byte, raw []byte) ([]byte, error) {
	if raw == nil {
		return append(b, "null"...), nil
	}
	if plainJSON(raw) {
		return append(b, raw...), nil
	}
	out, err := json.Marshal(json.RawMessage(raw))
	if err != nil {
		return b, err
	}
	return append(b, out...), nil
}

// plainJSON reports whether encoding/json would embed raw unchanged: it
// is not empty, has no whitespace outside strings, and holds no byte that
// encoding/json escapes in embedded JSON (<, >, &, and the lead byte of
// U+2028 and U+2029, which is also that of other characters: those take
// the slow path too).
func plainJSON(raw []byte) bool {
	if len(raw) == 0 {
		return false
	}
	inString, escaped := false, false
	for _, c := range raw {
		switch {
		case c == '<' || c == '>' || c == '&' || c == 0xE2:
			return false
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		}
	}
	return true
}
