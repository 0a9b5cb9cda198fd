package query

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
)

// FuzzParse feeds arbitrary text to Parse. It must never panic; an error
// must be an *Error whose position lies within the input; a query must come
// back Equal from its canonical form, which is no longer than the input and
// is a fixed point of String.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, tt := range errorTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s, testNow)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %T %v; want *Error", s, err, err)
			}
			if e.Pos < 0 || e.Pos > len(s) || e.Column != utf8.RuneCountInString(s[:e.Pos])+1 || e.Msg == "" {
				t.Fatalf("Parse(%q) = %+v: position outside the input or no message", s, e)
			}
			if ae := e.AuditError(); ae.Code != audit.EINVALID || ae.Field != "q" {
				t.Fatalf("AuditError() = %+v", ae)
			}
			return
		}
		checkInvariants(t, s, q)
		canon := q.String()
		if len(canon) > len(s) {
			t.Fatalf("Parse(%q).String() = %q: longer than the input", s, canon)
		}
		q2, err := Parse(canon, testNow)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q, which does not parse: %v", s, canon, err)
		}
		if !q.Equal(q2) {
			t.Fatalf("Parse(%q) = %#v\nbut its canonical form %q parses to %#v", s, q, canon, q2)
		}
		if again := q2.String(); again != canon {
			t.Fatalf("String is not a fixed point: %q then %q", canon, again)
		}
	})
}

// checkInvariants checks what every parsed query promises.
func checkInvariants(t *testing.T, s string, q *Query) {
	t.Helper()
	if n := len(q.Clauses) + len(q.Words); n > MaxTerms {
		t.Fatalf("Parse(%q): %d terms", s, n)
	}
	for _, c := range q.Clauses {
		if c.Pos < 0 || c.Pos >= len(s) || len(c.Values) == 0 || len(c.Values) > MaxValues {
			t.Fatalf("Parse(%q): clause %#v", s, c)
		}
		for _, v := range c.Values {
			if c.Field == FieldCreated && !v.Since.IsZero() && !v.Until.IsZero() && v.Op == OpRange && v.Since.After(v.Until) {
				t.Fatalf("Parse(%q): empty range %#v", s, v)
			}
		}
	}
	for _, w := range q.Words {
		if w.Pos < 0 || w.Pos >= len(s) || len(w.Tokens) == 0 {
			t.Fatalf("Parse(%q): word %#v", s, w)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	const q = `action:order.refunded,order.cancelled -actor:"Adam Admin" created:>-24h ip:10.0.0.0/8 outcome:failure metadata.plan:pro "refund issued" refund*`
	for b.Loop() {
		if _, err := Parse(q, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
