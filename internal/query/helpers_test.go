package query

import (
	"net/netip"
	"time"
)

// testNow is the now every test parses with.
var testNow = time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func eq(text string) Value { return Value{Op: OpEq, Text: text} }

func prefix(text string) Value { return Value{Op: OpPrefix, Text: text} }

func ipv(text string) Value {
	a := netip.MustParseAddr(text)
	return Value{Op: OpEq, Text: text, Prefix: netip.PrefixFrom(a, a.BitLen())}
}

func cidr(text string) Value {
	return Value{Op: OpCIDR, Text: text, Prefix: netip.MustParsePrefix(text)}
}

func res(text, typ, id string) Value { return Value{Op: OpEq, Text: text, Type: typ, ID: id} }

func uid(text string, n int64) Value { return Value{Op: OpEq, Text: text, Int: n} }

// at is a created value; since and until are RFC 3339 or "" for none.
func at(op Op, text, to, since, until string) Value {
	v := Value{Op: op, Text: text, To: to}
	if since != "" {
		v.Since = ts(since)
	}
	if until != "" {
		v.Until = ts(until)
	}
	return v
}

func cl(f Field, vs ...Value) Clause { return Clause{Field: f, Values: vs} }

func meta(key string, vs ...Value) Clause { return Clause{Field: FieldMetadata, Key: key, Values: vs} }

func not(c Clause) Clause { c.Negated = true; return c }

func word(text string, tokens ...string) Word { return Word{Text: text, Tokens: tokens} }

func phrase(text string, tokens ...string) Word {
	return Word{Text: text, Tokens: tokens, Phrase: true}
}

func notw(w Word) Word { w.Negated = true; return w }

func clauses(cs ...Clause) *Query { return &Query{Clauses: cs} }
