package query

import (
	"strings"
	"unicode/utf8"
)

// String returns q in canonical form: the clauses in order, then the words
// and phrases in order, separated by single spaces; qualifier names, actions,
// actor types and outcomes in lower case; IP addresses and ranges in
// standard form; relative times without leading zeros; values in quotes only
// where they need them. For a Query from Parse, Parse(q.String(), now) gives
// a Query Equal to q, with the same now, and the canonical form is never
// longer than the query it came from. Values that Parse would reject (from
// FromFilter, say) are still written so that they read back as the same
// text.
func (q *Query) String() string {
	if q == nil {
		return ""
	}
	var b strings.Builder
	sep := func() {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
	}
	for _, c := range q.Clauses {
		sep()
		c.write(&b)
	}
	for _, w := range q.Words {
		sep()
		if w.Negated {
			b.WriteByte('-')
		}
		if w.Phrase {
			writeQuoted(&b, w.Text)
		} else {
			b.WriteString(w.Text)
		}
	}
	return b.String()
}

// String returns c as a qualifier term in canonical form.
func (c Clause) String() string {
	var b strings.Builder
	c.write(&b)
	return b.String()
}

func (c Clause) write(b *strings.Builder) {
	if c.Negated {
		b.WriteByte('-')
	}
	b.WriteString(string(c.Field))
	if c.Field == FieldMetadata {
		b.WriteString("." + c.Key)
	}
	b.WriteByte(':')
	for i, v := range c.Values {
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case v.Op == OpPrefix:
			writeValue(b, v.Text, false)
			b.WriteByte('*')
		case c.Field == FieldCreated:
			if v.Op != OpEq && v.Op != OpRange {
				b.WriteString(string(v.Op))
			}
			writeValue(b, v.Text, true)
			if v.Op == OpRange {
				b.WriteString("..")
				writeValue(b, v.To, true)
			}
		default:
			writeValue(b, v.Text, false)
		}
	}
}

// writeValue writes s bare when it reads back as itself, else in quotes. In
// a created value, "*" is bare (an open end) and ".." needs quotes.
func writeValue(b *strings.Builder, s string, created bool) {
	bare := s != "" && s[0] != '<' && s[0] != '>' && s[0] != '"'
	for _, r := range s {
		if isSpace(r) || r == '"' || r == ',' || r == '*' && !(created && s == "*") {
			bare = false
		}
	}
	if created && strings.Contains(s, "..") {
		bare = false
	}
	if bare {
		b.WriteString(s)
		return
	}
	writeQuoted(b, s)
}

// writeQuoted writes s in double quotes, escaping quotes and backslashes.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteString(s[:n])
		s = s[n:]
	}
	b.WriteByte('"')
}
