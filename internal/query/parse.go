package query

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of a query.
const (
	MaxQueryLen = 1000 // bytes of the whole query
	MaxTerms    = 32   // qualifier terms, words and phrases
	MaxValues   = 20   // comma-separated values of one qualifier
	MaxValueLen = 255  // characters of one value or quoted phrase
	MaxWordLen  = 100  // characters of one free word
	MaxKeyLen   = 100  // bytes of a metadata key
	MaxKeyDepth = 8    // segments of a metadata key
)

// Parse parses the search query q. Relative times such as created:>-24h count
// back from now, which Parse takes in UTC to the microsecond; a caller that
// pages through results should parse every page's q with the first page's
// now, so that the pages cut one list. An empty or all-space q gives a zero
// Query, which matches every event. The error, if any, is always an *Error.
func Parse(q string, now time.Time) (*Query, error) {
	p := &parser{src: q, now: now.UTC().Truncate(time.Microsecond), q: &Query{}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.q, nil
}

type parser struct {
	src   string
	i     int // the next byte to read
	now   time.Time
	q     *Query
	terms int
}

func (p *parser) errorf(pos int, hint, format string, args ...any) *Error {
	return errorAt(p.src, pos, hint, format, args...)
}

func (p *parser) parse() *Error {
	if err := p.check(); err != nil {
		return err
	}
	for {
		p.skipSpace()
		if p.i == len(p.src) {
			return nil
		}
		if err := p.term(); err != nil {
			return err
		}
	}
}

// check enforces the length limit and rejects invalid UTF-8 and control
// characters before anything else.
func (p *parser) check() *Error {
	if len(p.src) > MaxQueryLen {
		return p.errorf(MaxQueryLen, "", "search is longer than %d bytes", MaxQueryLen)
	}
	for i, r := range p.src {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(p.src[i:], "\uFFFD"):
			return p.errorf(i, "", "invalid UTF-8")
		case unicode.IsControl(r):
			return p.errorf(i, "separate terms with spaces", "control character %U", r)
		case isBidiControl(r):
			return p.errorf(i, "", "invisible formatting character %U", r)
		}
	}
	return nil
}

// isBidiControl reports the characters that reorder text on display, so
// that a query could read differently from what it is.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// isSpace reports a character that separates terms: the space and the other
// Unicode space separators, such as the no-break and ideographic spaces.
func isSpace(r rune) bool {
	return r == ' ' || r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Zs, r)
}

// atSpace reports whether the query ends at p.i or a separator starts there.
func (p *parser) atSpace() bool {
	if p.i >= len(p.src) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.i:])
	return isSpace(r)
}

func (p *parser) skipSpace() {
	for p.i < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[p.i:])
		if !isSpace(r) {
			return
		}
		p.i += n
	}
}

// term parses one term at p.i: a qualifier, a quoted phrase or a word, each
// with an optional leading "-".
func (p *parser) term() *Error {
	start := p.i
	negated := false
	if p.src[p.i] == '-' {
		negated = true
		p.i++
		switch {
		case p.atSpace():
			return p.errorf(p.i, `put "-" right before the term it excludes, such as -action:user_login`, `missing term after "-"`)
		case p.src[p.i] == '-':
			return p.errorf(p.i, `one "-" excludes a term`, `unexpected "-"`)
		}
	}
	if p.src[p.i] == '"' {
		return p.phrase(start, negated)
	}
	if name, ok := p.qualifierName(); ok {
		return p.clause(start, negated, name)
	}
	return p.word(start, negated)
}

// countTerm enforces MaxTerms for a term starting at pos.
func (p *parser) countTerm(pos int) *Error {
	if p.terms == MaxTerms {
		return p.errorf(pos, fmt.Sprintf("a search has at most %d terms", MaxTerms), "too many terms")
	}
	p.terms++
	return nil
}

// qualifierName reads the name of a qualifier term at p.i and the colon after
// it. A name starts with an ASCII letter and holds letters, digits, "_" and
// "."; a term that does not start with one and a colon is a word.
func (p *parser) qualifierName() (string, bool) {
	j := p.i
	for j < len(p.src) && (isIdent(p.src[j]) || p.src[j] == '.') {
		j++
	}
	if j == p.i || j == len(p.src) || p.src[j] != ':' || !isLetter(p.src[p.i]) {
		return "", false
	}
	name := p.src[p.i:j]
	p.i = j + 1
	return name, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isIdent(c byte) bool  { return isLetter(c) || isDigit(c) || c == '_' }

// word parses a free word at p.i.
func (p *parser) word(start int, negated bool) *Error {
	pos := p.i
	for !p.atSpace() {
		if p.src[p.i] == '"' {
			return p.errorf(p.i, "put a space before the quote, or put the whole phrase in quotes", "unexpected quote inside a word")
		}
		_, n := utf8.DecodeRuneInString(p.src[p.i:])
		p.i += n
	}
	text := p.src[pos:p.i]
	if !negated {
		switch text {
		case "AND":
			return nil // terms are joined by AND already
		case "OR":
			return p.errorf(start, "to match any of several values, separate them with commas, such as action:order.refunded,order.cancelled", "OR between terms is not supported")
		case "NOT":
			return p.errorf(start, `put "-" before a term to exclude it, such as -action:user_login`, "NOT is not supported")
		}
	}
	if err := p.countTerm(start); err != nil {
		return err
	}
	if utf8.RuneCountInString(text) > MaxWordLen {
		return p.errorf(pos, fmt.Sprintf("a word has at most %d characters", MaxWordLen), "word is too long")
	}
	w := Word{Text: text, Tokens: Tokenize(text), Prefix: strings.HasSuffix(text, "*"), Negated: negated, Pos: start}
	if len(w.Tokens) == 0 {
		if w.Prefix {
			return p.errorf(pos, "such as refund*", "a wildcard needs letters or digits before it")
		}
		return p.errorf(pos, "", "%q has no letters or digits to search for", text)
	}
	p.q.Words = append(p.q.Words, w)
	return nil
}

// phrase parses a quoted phrase at p.i.
func (p *parser) phrase(start int, negated bool) *Error {
	pos := p.i
	text, err := p.quoted()
	if err != nil {
		return err
	}
	if !p.atSpace() {
		return p.errorf(p.i, "put a space between terms", "unexpected text after closing quote")
	}
	if err := p.countTerm(start); err != nil {
		return err
	}
	switch {
	case text == "":
		return p.errorf(pos, "", "empty quotes")
	case utf8.RuneCountInString(text) > MaxValueLen:
		return p.errorf(pos, fmt.Sprintf("a phrase has at most %d characters", MaxValueLen), "phrase is too long")
	}
	w := Word{Text: text, Tokens: Tokenize(text), Phrase: true, Negated: negated, Pos: start}
	if len(w.Tokens) == 0 {
		return p.errorf(pos, "", "%q has no letters or digits to search for", text)
	}
	p.q.Words = append(p.q.Words, w)
	return nil
}

// quoted reads a quoted string at p.i (which holds the opening quote) and
// returns its text without the quotes and escapes.
func (p *parser) quoted() (string, *Error) {
	open := p.i
	p.i++
	var b strings.Builder
	for p.i < len(p.src) {
		c := p.src[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 == len(p.src) {
				p.i++
				continue // reported as unterminated below
			}
			next := p.src[p.i+1]
			if next != '"' && next != '\\' {
				r, _ := utf8.DecodeRuneInString(p.src[p.i+1:])
				return "", p.errorf(p.i, `inside quotes, write \" for a quote and \\ for a backslash`, `unknown escape "\%c"`, r)
			}
			b.WriteByte(next)
			p.i += 2
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", p.errorf(open, "add the closing quote", "unterminated quote starting")
}
