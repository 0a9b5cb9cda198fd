// Package query is the search language of the audit log: the q parameter of
// the JSON API, the console's search box, the chat assistant and the MCP
// tool all hand it the same string. It parses and checks the string into a
// typed Query; turning a Query into SQL for each engine is the store's job.
// It imports only the standard library and internal/audit.
//
// # The language
//
// A query is terms separated by spaces. Every term must match (AND). A term
// is a qualifier (name:values), a free word or a quoted phrase, each of
// which may be excluded with a leading "-".
//
//	action:order.refunded,order.cancelled -actor:"Adam Admin" created:>-24h "refund issued"
//
// Grammar (EBNF; space is the space character or any other Unicode space
// separator, such as U+00A0 or U+3000):
//
//	query     = { space } [ term { space { space } term } ] { space } .
//	term      = [ "-" ] ( qualifier | phrase | word ) | "AND" .
//	qualifier = name ":" value { "," value } .
//	name      = "action" | "actor" | "actor_type" | "resource" | "resource_type"
//	          | "resource_id" | "ip" | "outcome" | "created" | "user_id"
//	          | "metadata." key .                  (names in any case)
//	key       = segment { "." segment } .
//	segment   = ( letter | digit | "_" ) { letter | digit | "_" } .   (ASCII)
//	value     = quoted | bare .                    (created: see below)
//	quoted    = `"` { char | `\"` | `\\` } `"` .
//	bare      = char { char } .                    (no space, `"` or ",")
//	phrase    = quoted .
//	word      = char { char } .                    (no space or `"`; not "-" first)
//
//	created-value = [ cmp ] moment | end ".." end .
//	cmp           = ">" | ">=" | "<" | "<=" .
//	end           = moment | "*" .
//	moment        = date | date-time | relative .   (a bare moment has no "..")
//	relative      = "-" digit { digit } ( "m" | "h" | "d" | "w" ) .  (1 to 6 digits)
//
// A term is a qualifier when it starts with an ASCII letter, then letters,
// digits, "_" and ".", then a colon; any other term is a word, so 12:30 and
// ::1 are words while foo:bar is an unknown qualifier (quote it to search
// for the text). The bare words OR and NOT are errors that explain how to
// say it instead; AND is accepted and ignored. Inside quotes, \" is a quote
// and \\ a backslash; any other backslash is an error. Outside quotes a
// backslash is an ordinary character. Commas separate values only outside
// quotes.
//
// # Qualifiers
//
//	action:order.refunded     exact action; lower case, any case accepted
//	action:order.*            actions starting with "order." (a "*" only at the end)
//	actor:adam@example.com    actor ID, email or name, exactly as typed
//	actor_type:api_key        user, api_key, system, external or a client's type
//	resource:order            resource type order, any ID
//	resource:order:1234       resource type order and ID 1234 (split at the first colon)
//	resource_type:"gift card" resource type
//	resource_id:ord_123       resource ID
//	ip:203.0.113.7            IPv4 or IPv6 address (IPv4-mapped IPv6 is unmapped)
//	ip:10.0.0.0/8             CIDR range (host bits are masked off)
//	outcome:failure           success or failure
//	user_id:42                the acting user's ID
//	metadata.plan:pro         metadata member plan, compared as text
//	created:2026-01-31        see Times
//
// A list of values matches any of them: action:a,b is action a or b.
// Negation excludes the whole list: -action:a,b is neither a nor b. Terms
// on the same qualifier combine with AND like any others, so
// created:>=2026-01-01 created:<2026-02-01 is January.
//
// A metadata value matches the text of a JSON string, number or boolean at
// that key: metadata.amount:100 matches {"amount":100} and {"amount":"100"}
// but not 100.0; metadata.gift:true matches true and "true". Objects,
// arrays and null match nothing.
//
// A "*" in a bare value other than at the end of an action, and a bare value
// starting with "<" or ">" other than in created, are errors that say to
// quote the value for the literal text; they are kept free for future
// meanings.
//
// # Times
//
// created takes the date and date-time forms of audit.ParseTimeBound
// (2026-01-31, 2026-01-31T12:00:00Z, 2026-01-31T14:00+02:00, a date-time
// without a zone is UTC; the form with a space needs quotes) and relative
// times that count back from the now passed to Parse: -30m, -24h, -7d, -2w
// (minutes, hours, days of 24 hours, weeks).
//
// A date stands for the whole day, a date-time for that instant:
//
//	created:2026-01-31            during that day
//	created:>2026-01-31           after that day (from 2026-02-01)
//	created:>=2026-01-31          from the start of that day
//	created:<2026-01-31           before that day
//	created:<=2026-01-31          up to the end of that day
//	created:2026-01-01..2026-01-31  both ends inclusive; either may be *
//	created:-7d                   in the last 7 days (same as >=-7d)
//	created:>-24h                 in the last 24 hours
//
// Value.Since and Value.Until hold the result as inclusive bounds in UTC,
// with microsecond precision like stored times: lower bounds are rounded
// up, upper bounds down, so that the compiler only writes >= and <=.
//
// # Free words and phrases
//
// Words and phrases are matched by full-text search over the event's action,
// resource type and ID, details, and actor name and email. Word.Text keeps
// what was typed; Word.Tokens is Text split and lower-cased by Tokenize:
// runs of letters, digits and combining marks, lower-cased with
// strings.ToLower; everything else separates tokens. No stemming, stop
// words or accent folding. The tokens of one word or phrase match next to
// each other, in order: Order.Refunded and "order refunded" both look for
// "order" followed by "refunded". A bare word ending in "*" (refund*)
// matches its last token as a prefix.
//
// # Limits
//
//	MaxQueryLen  1000 bytes for the whole query
//	MaxTerms       32 terms (qualifiers, words and phrases)
//	MaxValues      20 values in one qualifier
//	MaxValueLen   255 characters in one value or phrase
//	MaxWordLen    100 characters in one word
//	MaxKeyLen     100 bytes and MaxKeyDepth 8 segments in a metadata key
//
// The query must be valid UTF-8 without control characters (tabs and line
// breaks included) or bidirectional formatting characters.
//
// # Errors
//
// Parse returns an *Error with the byte offset and the character column of
// the problem and a message that names it, such as
//
//	unknown qualifier "acton" at column 1: did you mean "action"?
//	missing value after "action:" at column 8
//	unterminated quote starting at column 12: add the closing quote
//	"2026-13-01" is not a date at column 9: write a date as 2026-01-31 and …
//
// Error.AuditError converts it to an *audit.Error with code audit.EINVALID
// and field "q", which the HTTP layer answers with 400.
//
// # Canonical form
//
// Query.String writes a query in canonical form, which parses back to an
// Equal query with the same now. It keeps the relative times as typed, so
// a saved search keeps its meaning.
//
// # The seed's parameters
//
// FromFilter turns the seed's user_id, action, resource_type, start_date
// and end_date (an audit.EventFilter) into a Query, and Query.And combines
// it with the parsed q.
package query
