package query

import (
	"strings"
	"testing"
)

// parseTests are valid queries: canon is the expected String() ("" when it
// is the input itself) and want the expected Query.
var parseTests = []struct {
	name, in, canon string
	want            *Query
}{
	// Qualifiers.
	{"action", "action:user_login", "", clauses(cl(FieldAction, eq("user_login")))},
	{"action dotted", "action:order.refunded", "", clauses(cl(FieldAction, eq("order.refunded")))},
	{"action wildcard after dot", "action:order.*", "", clauses(cl(FieldAction, prefix("order.")))},
	{"action wildcard in a word", "action:order.ref*", "", clauses(cl(FieldAction, prefix("order.ref")))},
	{"action wildcard without dot", "action:order*", "", clauses(cl(FieldAction, prefix("order")))},
	{"action any case", "ACTION:Order.Refunded", "action:order.refunded", clauses(cl(FieldAction, eq("order.refunded")))},
	{"action OR list", "action:order.refunded,order.cancelled", "", clauses(cl(FieldAction, eq("order.refunded"), eq("order.cancelled")))},
	{"action OR list mixed", "action:order.*,user_login", "", clauses(cl(FieldAction, prefix("order."), eq("user_login")))},
	{"actor email", "actor:adam@example.com", "", clauses(cl(FieldActor, eq("adam@example.com")))},
	{"actor name quoted", `actor:"Adam Admin"`, "", clauses(cl(FieldActor, eq("Adam Admin")))},
	{"actor id keeps case", "actor:Usr_123", "", clauses(cl(FieldActor, eq("Usr_123")))},
	{"actor quoted without need", `actor:"adam"`, "actor:adam", clauses(cl(FieldActor, eq("adam")))},
	{"actor quoted commas", `actor:"Smith, John","Doe, Jane"`, "", clauses(cl(FieldActor, eq("Smith, John"), eq("Doe, Jane")))},
	{"actor quoted star", `actor:"a*b"`, "", clauses(cl(FieldActor, eq("a*b")))},
	{"actor escapes", `actor:"say \"hi\" \\o/"`, "", clauses(cl(FieldActor, eq(`say "hi" \o/`)))},
	{"actor bare backslash", `actor:dom\adam`, "", clauses(cl(FieldActor, eq(`dom\adam`)))},
	{"actor leading minus", "actor:-x", "", clauses(cl(FieldActor, eq("-x")))},
	{"actor_type", "actor_type:API_Key", "actor_type:api_key", clauses(cl(FieldActorType, eq("api_key")))},
	{"actor_type client", "actor_type:customer,external", "", clauses(cl(FieldActorType, eq("customer"), eq("external")))},
	{"resource type", "resource:order", "", clauses(cl(FieldResource, res("order", "order", "")))},
	{"resource type and id", "resource:order:1234", "", clauses(cl(FieldResource, res("order:1234", "order", "1234")))},
	{"resource id with colons", "resource:urn:isbn:123", "", clauses(cl(FieldResource, res("urn:isbn:123", "urn", "isbn:123")))},
	{"resource quoted", `resource:"gift card:GC 1"`, "", clauses(cl(FieldResource, res("gift card:GC 1", "gift card", "GC 1")))},
	{"resource OR list", "resource:order:1,order:2", "", clauses(cl(FieldResource, res("order:1", "order", "1"), res("order:2", "order", "2")))},
	{"resource_type and resource_id", "resource_type:order resource_id:ord_123", "", clauses(cl(FieldResourceType, eq("order")), cl(FieldResourceID, eq("ord_123")))},
	{"resource_id with dots", "resource_id:1..2", "", clauses(cl(FieldResourceID, eq("1..2")))},
	{"resource_id quoted comparison", `resource_id:"<5>"`, "", clauses(cl(FieldResourceID, eq("<5>")))},
	{"ip v4", "ip:203.0.113.7", "", clauses(cl(FieldIP, ipv("203.0.113.7")))},
	{"ip v6", "ip:2001:DB8:0:0::1", "ip:2001:db8::1", clauses(cl(FieldIP, ipv("2001:db8::1")))},
	{"ip v4-mapped", "ip:::ffff:192.0.2.1", "ip:192.0.2.1", clauses(cl(FieldIP, ipv("192.0.2.1")))},
	{"ip cidr", "ip:10.0.0.0/8", "", clauses(cl(FieldIP, cidr("10.0.0.0/8")))},
	{"ip cidr masked", "ip:10.1.2.3/8", "ip:10.0.0.0/8", clauses(cl(FieldIP, cidr("10.0.0.0/8")))},
	{"ip cidr v6", "ip:2001:db8::/32", "", clauses(cl(FieldIP, cidr("2001:db8::/32")))},
	{"ip cidr v4-mapped", "ip:::ffff:10.0.0.0/104", "ip:10.0.0.0/8", clauses(cl(FieldIP, cidr("10.0.0.0/8")))},
	{"ip OR list", "ip:192.0.2.1,10.0.0.0/8", "", clauses(cl(FieldIP, ipv("192.0.2.1"), cidr("10.0.0.0/8")))},
	{"outcome", "outcome:success", "", clauses(cl(FieldOutcome, eq("success")))},
	{"outcome any case", "Outcome:FAILURE", "outcome:failure", clauses(cl(FieldOutcome, eq("failure")))},
	{"user_id", "user_id:42", "", clauses(cl(FieldUserID, uid("42", 42)))},
	{"user_id leading zeros", "user_id:0042,7", "user_id:42,7", clauses(cl(FieldUserID, uid("42", 42), uid("7", 7)))},
	{"metadata", "metadata.plan:pro", "", clauses(meta("plan", eq("pro")))},
	{"metadata nested", `metadata.shipping.country:"United Kingdom"`, "", clauses(meta("shipping.country", eq("United Kingdom")))},
	{"metadata key keeps case", "Metadata.Plan_Tier:Gold", "metadata.Plan_Tier:Gold", clauses(meta("Plan_Tier", eq("Gold")))},
	{"metadata number", "metadata.amount:100,250.5", "", clauses(meta("amount", eq("100"), eq("250.5")))},
	{"metadata key digits", "metadata.2fa:true", "", clauses(meta("2fa", eq("true")))},

	// created.
	{"created date", "created:2026-01-31", "", clauses(cl(FieldCreated, at(OpEq, "2026-01-31", "", "2026-01-31T00:00:00Z", "2026-01-31T23:59:59.999999Z")))},
	{"created after date", "created:>2026-01-31", "", clauses(cl(FieldCreated, at(OpGT, "2026-01-31", "", "2026-02-01T00:00:00Z", "")))},
	{"created from date", "created:>=2026-01-31", "", clauses(cl(FieldCreated, at(OpGTE, "2026-01-31", "", "2026-01-31T00:00:00Z", "")))},
	{"created before date", "created:<2026-01-31", "", clauses(cl(FieldCreated, at(OpLT, "2026-01-31", "", "", "2026-01-30T23:59:59.999999Z")))},
	{"created up to date", "created:<=2026-01-31", "", clauses(cl(FieldCreated, at(OpLTE, "2026-01-31", "", "", "2026-01-31T23:59:59.999999Z")))},
	{"created range", "created:2026-01-01..2026-01-31", "", clauses(cl(FieldCreated, at(OpRange, "2026-01-01", "2026-01-31", "2026-01-01T00:00:00Z", "2026-01-31T23:59:59.999999Z")))},
	{"created range one day", "created:2026-01-31..2026-01-31", "", clauses(cl(FieldCreated, at(OpRange, "2026-01-31", "2026-01-31", "2026-01-31T00:00:00Z", "2026-01-31T23:59:59.999999Z")))},
	{"created range open end", "created:2026-01-01..*", "", clauses(cl(FieldCreated, at(OpRange, "2026-01-01", "*", "2026-01-01T00:00:00Z", "")))},
	{"created range open start", "created:*..2026-01-31", "", clauses(cl(FieldCreated, at(OpRange, "*", "2026-01-31", "", "2026-01-31T23:59:59.999999Z")))},
	{"created range of instants", "created:2026-01-31T08:00:00Z..2026-01-31T17:30", "", clauses(cl(FieldCreated, at(OpRange, "2026-01-31T08:00:00Z", "2026-01-31T17:30", "2026-01-31T08:00:00Z", "2026-01-31T17:30:00Z")))},
	{"created instant", "created:2026-01-31T12:00:00Z", "", clauses(cl(FieldCreated, at(OpEq, "2026-01-31T12:00:00Z", "", "2026-01-31T12:00:00Z", "2026-01-31T12:00:00Z")))},
	{"created instant offset", "created:2026-01-31T14:00:00+02:00", "", clauses(cl(FieldCreated, at(OpEq, "2026-01-31T14:00:00+02:00", "", "2026-01-31T12:00:00Z", "2026-01-31T12:00:00Z")))},
	{"created after instant", "created:>2026-01-31T12:00:00Z", "", clauses(cl(FieldCreated, at(OpGT, "2026-01-31T12:00:00Z", "", "2026-01-31T12:00:00.000001Z", "")))},
	{"created before instant", "created:<2026-01-31T12:00:00Z", "", clauses(cl(FieldCreated, at(OpLT, "2026-01-31T12:00:00Z", "", "", "2026-01-31T11:59:59.999999Z")))},
	{"created from nanoseconds rounds up", "created:>=2026-01-31T12:00:00.0000005Z", "", clauses(cl(FieldCreated, at(OpGTE, "2026-01-31T12:00:00.0000005Z", "", "2026-01-31T12:00:00.000001Z", "")))},
	{"created before nanoseconds", "created:<2026-01-31T12:00:00.0000005Z", "", clauses(cl(FieldCreated, at(OpLT, "2026-01-31T12:00:00.0000005Z", "", "", "2026-01-31T12:00:00Z")))},
	{"created up to nanoseconds rounds down", "created:<=2026-01-31T12:00:00.0000005Z", "", clauses(cl(FieldCreated, at(OpLTE, "2026-01-31T12:00:00.0000005Z", "", "", "2026-01-31T12:00:00Z")))},
	{"created lower-case designators", "created:>=2026-01-31t12:00z", "", clauses(cl(FieldCreated, at(OpGTE, "2026-01-31t12:00z", "", "2026-01-31T12:00:00Z", "")))},
	{"created quoted space", `created:>="2026-01-31 12:00:00"`, "", clauses(cl(FieldCreated, at(OpGTE, "2026-01-31 12:00:00", "", "2026-01-31T12:00:00Z", "")))},
	{"created quoted range", `created:"2026-01-31 08:00:00".."2026-01-31 17:00:00"`, "", clauses(cl(FieldCreated, at(OpRange, "2026-01-31 08:00:00", "2026-01-31 17:00:00", "2026-01-31T08:00:00Z", "2026-01-31T17:00:00Z")))},
	{"created quoted without need", `created:"2026-01-31"`, "created:2026-01-31", clauses(cl(FieldCreated, at(OpEq, "2026-01-31", "", "2026-01-31T00:00:00Z", "2026-01-31T23:59:59.999999Z")))},
	{"created OR list", "created:2026-01-01,2026-01-05", "", clauses(cl(FieldCreated,
		at(OpEq, "2026-01-01", "", "2026-01-01T00:00:00Z", "2026-01-01T23:59:59.999999Z"),
		at(OpEq, "2026-01-05", "", "2026-01-05T00:00:00Z", "2026-01-05T23:59:59.999999Z")))},
	{"created both bounds", "created:>=2026-01-01 created:<2026-02-01", "", clauses(
		cl(FieldCreated, at(OpGTE, "2026-01-01", "", "2026-01-01T00:00:00Z", "")),
		cl(FieldCreated, at(OpLT, "2026-02-01", "", "", "2026-01-31T23:59:59.999999Z")))},

	// Relative times, from testNow = 2026-12-01T07:30:00Z.
	{"relative hours", "created:>-24h", "", clauses(cl(FieldCreated, at(OpGT, "-24h", "", "2026-11-30T07:30:00.000001Z", "")))},
	{"relative from", "created:>=-24h", "", clauses(cl(FieldCreated, at(OpGTE, "-24h", "", "2026-11-30T07:30:00Z", "")))},
	{"relative alone means since", "created:-7d", "", clauses(cl(FieldCreated, at(OpEq, "-7d", "", "2026-11-24T07:30:00Z", "")))},
	{"relative minutes", "created:>=-30m", "", clauses(cl(FieldCreated, at(OpGTE, "-30m", "", "2026-12-01T07:00:00Z", "")))},
	{"relative weeks before", "created:<-2w", "", clauses(cl(FieldCreated, at(OpLT, "-2w", "", "", "2026-11-17T07:29:59.999999Z")))},
	{"relative up to", "created:<=-1d", "", clauses(cl(FieldCreated, at(OpLTE, "-1d", "", "", "2026-11-30T07:30:00Z")))},
	{"relative range", "created:-7d..-1d", "", clauses(cl(FieldCreated, at(OpRange, "-7d", "-1d", "2026-11-24T07:30:00Z", "2026-11-30T07:30:00Z")))},
	{"relative range open", "created:*..-7d", "", clauses(cl(FieldCreated, at(OpRange, "*", "-7d", "", "2026-11-24T07:30:00Z")))},
	{"relative leading zeros", "created:>-007d", "created:>-7d", clauses(cl(FieldCreated, at(OpGT, "-7d", "", "2026-11-24T07:30:00.000001Z", "")))},
	{"relative mixed with date", "created:2026-01-01..-1d", "", clauses(cl(FieldCreated, at(OpRange, "2026-01-01", "-1d", "2026-01-01T00:00:00Z", "2026-11-30T07:30:00Z")))},

	// Negation.
	{"negated qualifier", "-action:user_login", "", clauses(not(cl(FieldAction, eq("user_login"))))},
	{"negated OR list", "-action:user_login,user_logout", "", clauses(not(cl(FieldAction, eq("user_login"), eq("user_logout"))))},
	{"negated quoted", `-actor:"Adam Admin"`, "", clauses(not(cl(FieldActor, eq("Adam Admin"))))},
	{"negated created", "-created:>-24h", "", clauses(not(cl(FieldCreated, at(OpGT, "-24h", "", "2026-11-30T07:30:00.000001Z", ""))))},
	{"negated word", "-refund", "", &Query{Words: []Word{notw(word("refund", "refund"))}}},
	{"negated phrase", `-"refund issued"`, "", &Query{Words: []Word{notw(phrase("refund issued", "refund", "issued"))}}},

	// Words and phrases.
	{"word", "refund", "", &Query{Words: []Word{word("refund", "refund")}}},
	{"word normalised", "Order.Refunded", "", &Query{Words: []Word{word("Order.Refunded", "order", "refunded")}}},
	{"word email", "Adam@Example.com", "", &Query{Words: []Word{word("Adam@Example.com", "adam", "example", "com")}}},
	{"word unicode", "Café ÜBER", "", &Query{Words: []Word{word("Café", "café"), word("ÜBER", "über")}}},
	{"word colon", "12:30", "", &Query{Words: []Word{word("12:30", "12", "30")}}},
	{"word ipv6", "::1", "", &Query{Words: []Word{word("::1", "1")}}},
	{"word hyphen", "e-mail", "", &Query{Words: []Word{word("e-mail", "e", "mail")}}},
	{"word prefix", "refund*", "", &Query{Words: []Word{{Text: "refund*", Tokens: []string{"refund"}, Prefix: true}}}},
	{"word lower-case operators", "or and not", "", &Query{Words: []Word{word("or", "or"), word("and", "and"), word("not", "not")}}},
	{"word negated AND", "-AND", "", &Query{Words: []Word{notw(word("AND", "and"))}}},
	{"phrase", `"refund issued"`, "", &Query{Words: []Word{phrase("refund issued", "refund", "issued")}}},
	{"phrase escapes", `"say \"hi\" \\ now"`, "", &Query{Words: []Word{phrase(`say "hi" \ now`, "say", "hi", "now")}}},
	{"phrase of an operator", `"OR"`, "", &Query{Words: []Word{phrase("OR", "or")}}},
	{"phrase with colon", `"foo:bar"`, "", &Query{Words: []Word{phrase("foo:bar", "foo", "bar")}}},
	{"phrase one word", `"refund"`, "", &Query{Words: []Word{phrase("refund", "refund")}}},

	// Spacing, AND, order, empty.
	{"empty", "", "", &Query{}},
	{"spaces only", "   ", "", &Query{}},
	{"AND is implicit", "action:user_login AND refund", "action:user_login refund", &Query{Clauses: []Clause{cl(FieldAction, eq("user_login"))}, Words: []Word{word("refund", "refund")}}},
	{"AND alone", "AND", "", &Query{}},
	{"unicode spaces", "  action:user_login\u00a0\u3000refund\u2003 ", "action:user_login refund", &Query{Clauses: []Clause{cl(FieldAction, eq("user_login"))}, Words: []Word{word("refund", "refund")}}},
	{"clauses before words", `refund action:order.* "issued"`, `action:order.* refund "issued"`, &Query{Clauses: []Clause{cl(FieldAction, prefix("order."))}, Words: []Word{word("refund", "refund"), phrase("issued", "issued")}}},
	{"everything", `action:order.refunded,order.cancelled -actor:"Adam Admin" created:>-24h ip:10.0.0.0/8 outcome:failure metadata.plan:pro "refund issued"`, "", &Query{
		Clauses: []Clause{
			cl(FieldAction, eq("order.refunded"), eq("order.cancelled")),
			not(cl(FieldActor, eq("Adam Admin"))),
			cl(FieldCreated, at(OpGT, "-24h", "", "2026-11-30T07:30:00.000001Z", "")),
			cl(FieldIP, cidr("10.0.0.0/8")),
			cl(FieldOutcome, eq("failure")),
			meta("plan", eq("pro")),
		},
		Words: []Word{phrase("refund issued", "refund", "issued")},
	}},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, testNow)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("Parse(%q) =\n%#v\nwant\n%#v", tt.in, got, tt.want)
			}
			canon := tt.canon
			if canon == "" && !tt.want.IsZero() {
				canon = strings.Join(strings.Fields(tt.in), " ")
			}
			if s := got.String(); s != canon {
				t.Errorf("Parse(%q).String() = %q; want %q", tt.in, s, canon)
			}
		})
	}
}

// TestRoundTrip checks that the canonical form of every query above parses
// back to an Equal query and is its own canonical form.
func TestRoundTrip(t *testing.T) {
	for _, tt := range parseTests {
		q, err := Parse(tt.in, testNow)
		if err != nil {
			continue // TestParse reports it
		}
		canon := q.String()
		q2, err := Parse(canon, testNow)
		if err != nil {
			t.Errorf("Parse(%q) (canonical form of %q) error: %v", canon, tt.in, err)
			continue
		}
		if !q.Equal(q2) {
			t.Errorf("canonical form %q of %q parses to\n%#v\nwant\n%#v", canon, tt.in, q2, q)
		}
		if again := q2.String(); again != canon {
			t.Errorf("String() of %q = %q; want it unchanged", canon, again)
		}
		checkInvariants(t, tt.in, q)
	}
}

// TestPositions checks the byte offsets of terms.
func TestPositions(t *testing.T) {
	q, err := Parse(`  é action:a -actor:"x y"  -"p q" refund`, testNow)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, c := range q.Clauses {
		got = append(got, c.Pos)
	}
	for _, w := range q.Words {
		got = append(got, w.Pos)
	}
	want := []int{5, 14, 2, 28, 35}
	if !slicesEqual(got, want) {
		t.Errorf("positions = %v; want %v", got, want)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
