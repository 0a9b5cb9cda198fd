package query

import (
	"errors"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
)

// errorTests are malformed queries with the byte offset and the text of
// the error.
var errorTests = []struct {
	in   string
	pos  int
	want string
}{
	// Qualifier names.
	{"acton:user_login", 0, `unknown qualifier "acton" at column 1: did you mean "action"?`},
	{"action:x actr:adam", 9, `unknown qualifier "actr" at column 10: did you mean "actor"?`},
	{"-acton:x", 1, `unknown qualifier "acton" at column 2: did you mean "action"?`},
	{"actor_id:42", 0, `unknown qualifier "actor_id" at column 1: did you mean "actor"?`},
	{"created_at:>-1d", 0, `unknown qualifier "created_at" at column 1: did you mean "created"?`},
	{"ip_address:10.0.0.1", 0, `unknown qualifier "ip_address" at column 1: did you mean "ip"?`},
	{"status:failure", 0, `unknown qualifier "status" at column 1: did you mean "outcome"?`},
	{"usr_id:1", 0, `unknown qualifier "usr_id" at column 1: did you mean "user_id"?`},
	{"foo:bar", 0, `unknown qualifier "foo" at column 1: ` + qualifierList},
	{"https://example.com", 0, `unknown qualifier "https" at column 1: ` + qualifierList},
	{"metadata:pro", 0, `metadata needs a key at column 1: such as metadata.plan:pro`},
	{"meta.plan:pro", 0, `unknown qualifier "meta.plan" at column 1: did you mean "metadata.plan"?`},
	{"metdata.Plan:pro", 0, `unknown qualifier "metdata.Plan" at column 1: did you mean "metadata.Plan"?`},
	{"fields:x", 0, `unknown qualifier "fields" at column 1: custom fields are searched as metadata.KEY, such as metadata.plan:pro`},
	{"metadat:x", 0, `unknown qualifier "metadat" at column 1: did you mean metadata.KEY, such as metadata.plan:pro?`},
	{"metadata.:x", 9, `missing metadata key at column 10: such as metadata.plan:pro`},
	{"metadata.a..b:x", 9, `"a..b" is not a metadata key at column 10: keys are names of letters, digits and "_" joined by single dots, such as metadata.shipping.country`},
	{"metadata.a.:x", 9, `"a." is not a metadata key at column 10: keys are names of letters, digits and "_" joined by single dots, such as metadata.shipping.country`},
	{"metadata.a.b.c.d.e.f.g.h.i:x", 9, `metadata key is too long at column 10: a key has at most 100 characters and 8 parts`},
	{"metadata." + strings.Repeat("k", 101) + ":x", 9, `metadata key is too long at column 10: a key has at most 100 characters and 8 parts`},

	// Values in general.
	{"action:", 7, `missing value after "action:" at column 8`},
	{"Action: refund", 7, `missing value after "Action:" at column 8`},
	{"action:a,", 9, `missing value after "," at column 10: remove the trailing comma`},
	{"action:,a", 7, `empty value at column 8: remove the extra comma`},
	{"action:a,,b", 9, `empty value at column 10: remove the extra comma`},
	{`actor:""`, 6, `empty value at column 7`},
	{`actor:"Adam Admin"x`, 18, `unexpected text after closing quote at column 19: put a space between terms, or a comma between values`},
	{`actor:Adam"Admin"`, 10, `unexpected quote inside a value at column 11: put the whole value in quotes, such as actor:"Adam Admin"`},
	{`actor:"Adam Admin`, 6, `unterminated quote starting at column 7: add the closing quote`},
	{`actor:"Adam\"`, 6, `unterminated quote starting at column 7: add the closing quote`},
	{`actor:"Adam\`, 6, `unterminated quote starting at column 7: add the closing quote`},
	{`actor:"C:\Users"`, 9, `unknown escape "\U" at column 10: inside quotes, write \" for a quote and \\ for a backslash`},
	{"actor:adam*", 10, `wildcards work only in action values at column 11: to match a literal "*", put the value in quotes`},
	{"ip:10.0.*", 8, `wildcards work only in action values at column 9: use a CIDR range, such as 10.0.0.0/8`},
	{"resource_id:>5", 12, `comparisons work only with created at column 13: to match the text, put the value in quotes`},
	{"user_id:<=5", 8, `comparisons work only with created at column 9: to match the text, put the value in quotes`},
	{"actor:" + strings.Repeat("é", 256), 6, `value is too long at column 7: a value has at most 255 characters`},
	{"action:" + strings.Repeat("a,", 20) + "a", 47, `too many values at column 48: a qualifier takes at most 20 values`},

	// action.
	{"action:*", 7, `a wildcard needs the start of an action before it at column 8: such as action:order.*`},
	{"action:order.**", 13, `misplaced wildcard at column 14: a wildcard goes only at the end, such as action:order.*`},
	{"action:*order", 7, `misplaced wildcard at column 8: a wildcard goes only at the end, such as action:order.*`},
	{"action:or*der", 9, `misplaced wildcard at column 10: a wildcard goes only at the end, such as action:order.*`},
	{`action:"order.*"`, 7, `"order.*" is not an action at column 8: a quoted value matches exactly; leave out the quotes to match a prefix, such as action:order.*`},
	{`action:"order refunded"`, 7, `"order refunded" is not an action at column 8: actions are words of letters, digits and underscores joined by dots, such as order.refunded`},
	{"action:order..refunded", 7, `"order..refunded" is not an action at column 8: actions are words of letters, digits and underscores joined by dots, such as order.refunded`},
	{"action:order-refunded", 7, `"order-refunded" is not an action at column 8: actions are words of letters, digits and underscores joined by dots, such as order.refunded`},
	{"action:1order.*", 7, `"1order.*" is not the start of an action at column 8: actions are words of letters, digits and underscores joined by dots, such as order.refunded`},
	{"action:" + strings.Repeat("a", 101), 7, `"` + strings.Repeat("a", 101) + `" is not an action at column 8: actions are words of letters, digits and underscores joined by dots, such as order.refunded`},

	// Other fields.
	{"actor_type:api-key", 11, `"api-key" is not an actor type at column 12: actor types are lower-case words such as user, api_key, system, external or customer`},
	{"outcome:failed", 8, `"failed" is not an outcome at column 9: did you mean "failure"?`},
	{"outcome:ok", 8, `"ok" is not an outcome at column 9: did you mean "success"?`},
	{"outcome:sucess", 8, `"sucess" is not an outcome at column 9: did you mean "success"?`},
	{"outcome:maybe", 8, `"maybe" is not an outcome at column 9: use success or failure`},
	{"user_id:0", 8, `"0" is not a user ID at column 9: user IDs are whole numbers from 1, such as user_id:42`},
	{"user_id:-1", 8, `"-1" is not a user ID at column 9: user IDs are whole numbers from 1, such as user_id:42`},
	{"user_id:+1", 8, `"+1" is not a user ID at column 9: user IDs are whole numbers from 1, such as user_id:42`},
	{"user_id:abc", 8, `"abc" is not a user ID at column 9: user IDs are whole numbers from 1, such as user_id:42`},
	{"user_id:99999999999999999999", 8, `"99999999999999999999" is not a user ID at column 9: user IDs are whole numbers from 1, such as user_id:42`},
	{"ip:10.0.0.300", 3, `"10.0.0.300" is not an IP address at column 4: such as 203.0.113.7 or 2001:db8::1, or a CIDR range such as 10.0.0.0/8`},
	{"ip:fe80::1%eth0", 3, `"fe80::1%eth0" is not an IP address at column 4: such as 203.0.113.7 or 2001:db8::1, or a CIDR range such as 10.0.0.0/8`},
	{"ip:10.0.0.0/33", 3, `"10.0.0.0/33" is not a CIDR range at column 4: such as 10.0.0.0/8 or 2001:db8::/32`},
	{"resource::1", 9, `missing resource type at column 10: such as resource:order or resource:order:1234`},
	{"resource:order:", 15, `missing resource ID after "order:" at column 16: such as resource:order:1234, or resource:order for any order`},

	// created.
	{"created:2026-13-01", 8, `"2026-13-01" is not a date at column 9: write a date as 2026-01-31 and a date-time as 2026-01-31T12:00:00Z`},
	{"created:>=2026-02-30", 10, `"2026-02-30" is not a date at column 11: write a date as 2026-01-31 and a date-time as 2026-01-31T12:00:00Z`},
	{"created:yesterday", 8, `"yesterday" is not a date or time at column 9: ` + dateHint},
	{"created:7d", 8, `"7d" is not a date or time at column 9: relative times count back from now and start with -, such as -7d`},
	{"created:>+24h", 9, `"+24h" is not a date or time at column 10: relative times count back from now and start with -, such as -7d`},
	{"created:-7y", 8, `"-7y" is not a relative time at column 9: count back in m (minutes), h (hours), d (days) or w (weeks), such as -7d`},
	{"created:-7D", 8, `"-7D" is not a relative time at column 9: count back in m (minutes), h (hours), d (days) or w (weeks), such as -7d`},
	{"created:-1234567d", 8, `"-1234567d" is not a relative time at column 9: count back in m (minutes), h (hours), d (days) or w (weeks), such as -7d`},
	{"created:-999999w", 8, `"-999999w" is too far back at column 9: years run from 1 to 9999`},
	{"created:0000-01-01", 8, `"0000-01-01" is out of range at column 9: years run from 1 to 9999`},
	{"created:9999-12-31T23:00:00-05:00", 8, `"9999-12-31T23:00:00-05:00" is out of range at column 9: years run from 1 to 9999`},
	{"created:>", 9, `missing time after ">" at column 10: ` + dateHint},
	{"created:<=,x", 10, `missing time after "<=" at column 11: ` + dateHint},
	{"created:*", 8, `"*" stands only for an open end of a range at column 9: such as created:2026-01-01..*`},
	{`created:"*"..2026-01-01`, 8, `"*" is not a date or time at column 9: ` + dateHint},
	{"created:*..*", 8, `a range needs at least one end at column 9: leave the qualifier out to match any time`},
	{"created:2026-02-01..2026-01-01", 8, `range ends before it starts at column 9: put the earlier time first`},
	{"created:-1d..-7d", 8, `range ends before it starts at column 9: put the earlier time first`},
	{"created:>2026-01-01..2026-02-01", 19, `a comparison cannot also be a range at column 20: write created:>=2026-01-01 or created:2026-01-01..2026-01-31`},
	{"created:..2026-01-01", 8, `missing start of range at column 9: use * for an open start, such as created:*..2026-01-31`},
	{"created:2026-01-01..", 20, `missing end of range at column 21: use * for an open end, such as created:2026-01-01..*`},
	{"created:2026-01-01..2026-01-02..2026-01-03", 30, `unexpected ".." at column 31: a range has one ".."`},
	{`created:"2026-01-01"x`, 20, `unexpected text after closing quote at column 21: put a space between terms, or a comma between values`},
	{"created:2026-01-01T12:00:00,5Z", 28, `"5Z" is not a date or time at column 29: ` + dateHint},

	// Terms.
	{"-", 1, `missing term after "-" at column 2: put "-" right before the term it excludes, such as -action:user_login`},
	{"refund - action:x", 8, `missing term after "-" at column 9: put "-" right before the term it excludes, such as -action:user_login`},
	{"--action:x", 1, `unexpected "-" at column 2: one "-" excludes a term`},
	{"action:a OR action:b", 9, `OR between terms is not supported at column 10: to match any of several values, separate them with commas, such as action:order.refunded,order.cancelled`},
	{"NOT action:a", 0, `NOT is not supported at column 1: put "-" before a term to exclude it, such as -action:user_login`},
	{`"refund`, 0, `unterminated quote starting at column 1: add the closing quote`},
	{`x "refund`, 2, `unterminated quote starting at column 3: add the closing quote`},
	{`"refund"issued`, 8, `unexpected text after closing quote at column 9: put a space between terms`},
	{`""`, 0, `empty quotes at column 1`},
	{`"!!!"`, 0, `"!!!" has no letters or digits to search for at column 1`},
	{"!!!", 0, `"!!!" has no letters or digits to search for at column 1`},
	{"*", 0, `a wildcard needs letters or digits before it at column 1: such as refund*`},
	{`ab"c d"`, 2, `unexpected quote inside a word at column 3: put a space before the quote, or put the whole phrase in quotes`},
	{"é acton:x", 3, `unknown qualifier "acton" at column 3: did you mean "action"?`},

	// Limits and characters.
	{strings.Repeat("a ", 500) + "b", 1000, `search is longer than 1000 bytes at column 1001`},
	{strings.Repeat("é", 501), 1000, `search is longer than 1000 bytes at column 501`},
	{strings.Repeat("a ", 32) + "b", 64, `too many terms at column 65: a search has at most 32 terms`},
	{strings.Repeat("x", 101), 0, `word is too long at column 1: a word has at most 100 characters`},
	{`"` + strings.Repeat("x", 256) + `"`, 0, `phrase is too long at column 1: a phrase has at most 255 characters`},
	{"a\xffb", 1, `invalid UTF-8 at column 2`},
	{"a\tb", 1, `control character U+0009 at column 2: separate terms with spaces`},
	{"a\nb", 1, `control character U+000A at column 2: separate terms with spaces`},
	{"a\x00", 1, `control character U+0000 at column 2: separate terms with spaces`},
	{"é\u0085", 2, `control character U+0085 at column 2: separate terms with spaces`},
	{"actor:\u202eadam", 6, `invisible formatting character U+202E at column 7`},
}

func TestErrors(t *testing.T) {
	for _, tt := range errorTests {
		q, err := Parse(tt.in, testNow)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, %v; want an *Error", tt.in, q, err)
			continue
		}
		if e.Pos != tt.pos || e.Error() != tt.want {
			t.Errorf("Parse(%q) error at %d:\n%s\nwant at %d:\n%s", tt.in, e.Pos, e, tt.pos, tt.want)
		}
	}
}

func TestAuditError(t *testing.T) {
	_, err := Parse("acton:x", testNow)
	ae := err.(*Error).AuditError()
	if audit.ErrorCode(ae) != audit.EINVALID || audit.ErrorField(ae) != "q" ||
		audit.ErrorMessage(ae) != `unknown qualifier "acton" at column 1: did you mean "action"?` {
		t.Errorf("AuditError() = %#v", ae)
	}
	var e *Error
	if !errors.As(ae, &e) || e.Pos != 0 {
		t.Errorf("errors.As(AuditError(), *Error) = %v", e)
	}
}
