package query

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Query is a parsed search: every clause and every word must match (AND).
// The zero Query matches every event.
type Query struct {
	// Clauses are the qualifier terms, in the order they were typed.
	Clauses []Clause
	// Words are the free words and quoted phrases, in the order they were
	// typed, for full-text search.
	Words []Word
}

// Field names what a clause compares.
type Field string

// Fields. The comment on each says what its Values hold; Value.Text is
// always set.
const (
	// FieldAction: the event's action. OpEq (an action such as
	// order.refunded) or OpPrefix (Text is the part before the "*", such as
	// "order."). Lower case. A prefix is literal text: a LIKE pattern built
	// from it must escape "_", which most actions contain.
	FieldAction Field = "action"
	// FieldActor: OpEq; matches the event's actor ID, actor email or actor
	// name. As typed (case is kept).
	FieldActor Field = "actor"
	// FieldActorType: OpEq; user, api_key, system, external or a client's
	// type such as customer. Lower case.
	FieldActorType Field = "actor_type"
	// FieldResource: OpEq; Type and ID are set from Text ("order" or
	// "order:123", split at the first colon). ID "" matches any ID of Type.
	FieldResource Field = "resource"
	// FieldResourceType: OpEq; the resource type as typed.
	FieldResourceType Field = "resource_type"
	// FieldResourceID: OpEq; the resource ID as typed.
	FieldResourceID Field = "resource_id"
	// FieldIP: OpEq (an address; Prefix holds it as a single-address
	// prefix) or OpCIDR (Prefix is the range, masked). IPv4-mapped IPv6
	// addresses are unmapped, as ingest stores them.
	FieldIP Field = "ip"
	// FieldOutcome: OpEq; success or failure.
	FieldOutcome Field = "outcome"
	// FieldCreated: the event's created_at. Whatever the Op, Since and
	// Until hold the resolved inclusive bounds (see Value).
	FieldCreated Field = "created"
	// FieldMetadata: OpEq on the metadata member at Clause.Key; the value
	// is compared with the text of a JSON string, number or boolean.
	FieldMetadata Field = "metadata"
	// FieldUserID: OpEq; Int is the acting user's ID, at least 1.
	FieldUserID Field = "user_id"
)

// Op says how a value compares.
type Op string

// Ops.
const (
	OpEq     Op = "="  // equal; for created, within the day or time given (see Value)
	OpPrefix Op = "*"  // action starts with Text
	OpGT     Op = ">"  // created after
	OpGTE    Op = ">=" // created at or after
	OpLT     Op = "<"  // created before
	OpLTE    Op = "<=" // created at or before
	OpRange  Op = ".." // created from Text to To, both inclusive
	OpCIDR   Op = "/"  // ip within Prefix
)

// Clause is one qualifier term, such as action:order.refunded,order.cancelled.
// It matches an event when any of its Values does (OR); a Negated clause
// matches when none does.
type Clause struct {
	Field Field
	// Key is the dotted path into the metadata object for FieldMetadata,
	// such as "shipping.country"; "" for other fields.
	Key     string
	Negated bool
	// Values holds 1 to MaxValues alternatives.
	Values []Value
	// Pos is the byte offset of the term (its "-" when negated) in the
	// parsed query; -1 for clauses that were not parsed from text.
	Pos int
}

// Path returns the segments of a metadata clause's Key.
func (c Clause) Path() []string { return splitDots(c.Key) }

// Value is one alternative of a clause. Which fields are set depends on the
// clause's Field (see the Field constants).
type Value struct {
	Op Op
	// Text is the value as typed, without quotes or escapes, with the
	// case normalised where the field is case-insensitive. For OpPrefix it
	// is the prefix without the "*"; for OpRange the lower end ("*" when
	// open); for created it may be a relative time such as "-7d".
	Text string
	// To is the upper end of an OpRange ("*" when open).
	To string

	// Since and Until are the inclusive bounds of a created value, in UTC
	// with microsecond precision (stored times have microsecond precision,
	// so a lower bound is rounded up and an upper bound down); a zero time
	// means no bound. A bare date stands for the whole day, as in
	// audit.ParseTimeBound: created:2026-01-31 has Since 2026-01-31T00:00Z
	// and Until 2026-01-31T23:59:59.999999Z, created:>2026-01-31 has Since
	// 2026-02-01T00:00Z. A relative time counts back from the now given to
	// Parse; on its own (created:-7d) it means since then.
	Since, Until time.Time
	// Prefix is an ip value's address or range.
	Prefix netip.Prefix
	// Int is a user_id value.
	Int int64
	// Type and ID are a resource value's parts.
	Type, ID string
}

// Word is a free word or a quoted phrase, matched by full-text search over
// the event's action, resource type and ID, details, and actor name and
// email.
type Word struct {
	// Text is the word or phrase as typed, without quotes or escapes.
	Text string
	// Tokens is Text normalised for full-text search by Tokenize; never
	// empty. The tokens of a word or phrase match in this order, next to
	// each other.
	Tokens []string
	// Phrase reports whether Text was typed in quotes.
	Phrase bool
	// Prefix reports a bare word typed with a trailing "*", such as
	// refund*: its last token matches as a prefix.
	Prefix  bool
	Negated bool
	// Pos is the byte offset of the term (its "-" when negated) in the
	// parsed query.
	Pos int
}

// IsZero reports whether q has no clauses and no words: it matches every
// event.
func (q *Query) IsZero() bool { return q == nil || len(q.Clauses) == 0 && len(q.Words) == 0 }

// Relative reports whether q holds a relative time (created:>-24h): the
// events it matches then depend on the now it was parsed with, not on the
// events alone.
func (q *Query) Relative() bool {
	if q == nil {
		return false
	}
	for _, c := range q.Clauses {
		if c.Field != FieldCreated {
			continue
		}
		for _, v := range c.Values {
			if strings.HasPrefix(v.Text, "-") || strings.HasPrefix(v.To, "-") {
				return true
			}
		}
	}
	return false
}

// And returns a query that matches the events both q and r match. Neither
// is changed; either may be nil.
func (q *Query) And(r *Query) *Query {
	out := &Query{}
	for _, x := range []*Query{q, r} {
		if x == nil {
			continue
		}
		for _, c := range x.Clauses {
			c.Values = slices.Clone(c.Values)
			out.Clauses = append(out.Clauses, c)
		}
		for _, w := range x.Words {
			w.Tokens = slices.Clone(w.Tokens)
			out.Words = append(out.Words, w)
		}
	}
	return out
}

// Equal reports whether q and r have the same clauses and words in the same
// order, ignoring positions. Times are compared as instants.
func (q *Query) Equal(r *Query) bool {
	if q.IsZero() || r.IsZero() {
		return q.IsZero() == r.IsZero()
	}
	return slices.EqualFunc(q.Clauses, r.Clauses, Clause.equal) && slices.EqualFunc(q.Words, r.Words, Word.equal)
}

func (c Clause) equal(d Clause) bool {
	return c.Field == d.Field && c.Key == d.Key && c.Negated == d.Negated && slices.EqualFunc(c.Values, d.Values, Value.equal)
}

func (v Value) equal(w Value) bool {
	return v.Op == w.Op && v.Text == w.Text && v.To == w.To && v.Since.Equal(w.Since) && v.Until.Equal(w.Until) &&
		v.Prefix == w.Prefix && v.Int == w.Int && v.Type == w.Type && v.ID == w.ID
}

func (w Word) equal(x Word) bool {
	return w.Text == x.Text && w.Phrase == x.Phrase && w.Prefix == x.Prefix && w.Negated == x.Negated && slices.Equal(w.Tokens, x.Tokens)
}
