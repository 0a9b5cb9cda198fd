package query

import (
	"slices"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

func TestFromFilter(t *testing.T) {
	tests := []struct {
		name  string
		f     audit.EventFilter
		canon string
		want  *Query
	}{
		{"none", audit.EventFilter{}, "", &Query{}},
		{"user", audit.EventFilter{UserID: 42}, "user_id:42", clauses(cl(FieldUserID, uid("42", 42)))},
		{"action kept as given", audit.EventFilter{Action: "Order Refunded"}, `action:"Order Refunded"`, clauses(cl(FieldAction, eq("Order Refunded")))},
		{"action star is literal", audit.EventFilter{Action: "order.*"}, `action:"order.*"`, clauses(cl(FieldAction, eq("order.*")))},
		{"resource type", audit.EventFilter{ResourceType: "gift card"}, `resource_type:"gift card"`, clauses(cl(FieldResourceType, eq("gift card")))},
		{"both dates", audit.EventFilter{Start: ts("2026-01-01T00:00:00Z"), End: ts("2026-01-31T23:59:59.999999Z")},
			"created:2026-01-01T00:00:00Z..2026-01-31T23:59:59.999999Z",
			clauses(cl(FieldCreated, at(OpRange, "2026-01-01T00:00:00Z", "2026-01-31T23:59:59.999999Z", "2026-01-01T00:00:00Z", "2026-01-31T23:59:59.999999Z")))},
		{"start only, rounded up", audit.EventFilter{Start: ts("2026-01-01T00:00:00.0000001Z")},
			"created:2026-01-01T00:00:00.000001Z..*",
			clauses(cl(FieldCreated, at(OpRange, "2026-01-01T00:00:00.000001Z", "*", "2026-01-01T00:00:00.000001Z", "")))},
		{"end only, in UTC", audit.EventFilter{End: time.Date(2026, 1, 31, 14, 0, 0, 0, time.FixedZone("", 2*3600))},
			"created:*..2026-01-31T12:00:00Z",
			clauses(cl(FieldCreated, at(OpRange, "*", "2026-01-31T12:00:00Z", "", "2026-01-31T12:00:00Z")))},
		{"all", audit.EventFilter{UserID: 7, Action: "user_login", ResourceType: "user", Start: ts("2026-01-01T00:00:00Z")},
			"user_id:7 action:user_login resource_type:user created:2026-01-01T00:00:00Z..*",
			clauses(cl(FieldUserID, uid("7", 7)), cl(FieldAction, eq("user_login")), cl(FieldResourceType, eq("user")),
				cl(FieldCreated, at(OpRange, "2026-01-01T00:00:00Z", "*", "2026-01-01T00:00:00Z", "")))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := FromFilter(tt.f)
			if !q.Equal(tt.want) {
				t.Errorf("FromFilter(%+v) =\n%#v\nwant\n%#v", tt.f, q, tt.want)
			}
			if s := q.String(); s != tt.canon {
				t.Errorf("FromFilter(%+v).String() = %q; want %q", tt.f, s, tt.canon)
			}
			for _, c := range q.Clauses {
				if c.Pos != -1 {
					t.Errorf("clause %v at %d; want -1", c, c.Pos)
				}
			}
		})
	}
}

// TestFromFilterParsesBack checks that the seed's parameters, when valid in
// the search language, read back as the same query.
func TestFromFilterParsesBack(t *testing.T) {
	q := FromFilter(audit.EventFilter{UserID: 7, Action: "user_login", ResourceType: "gift card",
		Start: ts("2026-01-01T00:00:00Z"), End: ts("2026-01-31T23:59:59.999999Z")})
	back, err := Parse(q.String(), testNow)
	if err != nil || !back.Equal(q) {
		t.Errorf("Parse(%q) = %#v, %v; want %#v", q.String(), back, err, q)
	}
}

func TestAnd(t *testing.T) {
	q, err := Parse(`action:order.* refund`, testNow)
	if err != nil {
		t.Fatal(err)
	}
	f := FromFilter(audit.EventFilter{UserID: 42})
	both := f.And(q)
	if got, want := both.String(), "user_id:42 action:order.* refund"; got != want {
		t.Errorf("And = %q; want %q", got, want)
	}
	// And copies: changing the result leaves its operands alone.
	both.Clauses[1].Values[0].Text = "changed"
	both.Words[0].Tokens[0] = "changed"
	if q.Clauses[0].Values[0].Text != "order." || q.Words[0].Tokens[0] != "refund" {
		t.Errorf("And shares memory with its operand: %#v", q)
	}
	var nilq *Query
	if got := nilq.And(nil); !got.IsZero() {
		t.Errorf("nil.And(nil) = %#v; want a zero query", got)
	}
	if got := nilq.And(q); !got.Equal(q) {
		t.Errorf("nil.And(q) = %#v; want q", got)
	}
}

func TestEqual(t *testing.T) {
	parse := func(s string) *Query {
		q, err := Parse(s, testNow)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	tests := []struct {
		a, b string
		want bool
	}{
		{"action:a", "  action:a", true}, // positions differ
		{"action:a", "ACTION:A", true},
		{"action:a", "-action:a", false},
		{"action:a,b", "action:b,a", false},
		{"action:a refund", "refund action:a", true}, // clauses and words are kept apart
		{"refund", `"refund"`, false},
		{"refund", "refund*", false},
		{"created:-1d", "created:>=-1d", false},
		{"metadata.a:1", "metadata.b:1", false},
		{"", "AND", true},
	}
	for _, tt := range tests {
		if got := parse(tt.a).Equal(parse(tt.b)); got != tt.want {
			t.Errorf("Parse(%q).Equal(Parse(%q)) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
	var nilq *Query
	if !nilq.Equal(&Query{}) || nilq.Equal(parse("x")) {
		t.Error("a nil Query should equal only an empty one")
	}
	// Relative times resolve against now: the same text at another now
	// is another query.
	later, _ := Parse("created:-1d", testNow.Add(time.Hour))
	if parse("created:-1d").Equal(later) {
		t.Error("created:-1d at two different nows compared equal")
	}
}

func TestPath(t *testing.T) {
	q, err := Parse("metadata.shipping.address.country:GB action:x", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := q.Clauses[0].Path(), []string{"shipping", "address", "country"}; !slices.Equal(got, want) {
		t.Errorf("Path() = %q; want %q", got, want)
	}
	if got := q.Clauses[1].Path(); got != nil {
		t.Errorf("Path() of an action clause = %q; want nil", got)
	}
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"!!! ...", nil},
		{"refund", []string{"refund"}},
		{"Order.Refunded", []string{"order", "refunded"}},
		{"order_refunded", []string{"order", "refunded"}},
		{"adam@example.com", []string{"adam", "example", "com"}},
		{"  Refund  issued, €12.50! ", []string{"refund", "issued", "12", "50"}},
		{"ÉCOLE Straße", []string{"école", "straße"}},
		{"e\u0301cole", []string{"e\u0301cole"}}, // a combining mark stays in its token
		{"東京 タワー", []string{"東京", "タワー"}},
		{"x²", []string{"x²"}},
		{"हिन्दी", []string{"हिन्दी"}},
	}
	for _, tt := range tests {
		if got := Tokenize(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Tokenize(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestNowIsUTCAndTruncated(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 30, 0, 123456789, time.FixedZone("", 2*3600))
	q, err := Parse("created:>=-1h", now)
	if err != nil {
		t.Fatal(err)
	}
	want := ts("2026-12-01T06:30:00.123456Z")
	if got := q.Clauses[0].Values[0].Since; !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Since = %v; want %v in UTC", got, want)
	}
}
