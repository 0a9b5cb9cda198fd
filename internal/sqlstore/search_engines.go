package sqlstore

import (
	"strings"

	"github.com/auditlog/auditlog/internal/query"
)

// SQLite: actions by range on (account_id, action, …); metadata by
// json_type, json_extract (strings) and -> (the JSON text of numbers and
// booleans, as written); words by the FTS5 table events_fts, whose
// expression language has phrases ("a b"), prefixes ("a b" *) and binary
// NOT.
var sqliteSearch = searchDialect{
	// SQLite evaluates e.id IN (full-text subquery) by building the set of
	// every match first, whichever plan it picks. Walking an index on events
	// as well then pays off only when the matches are many (a rare word
	// walked the whole account to find its few events); NOT INDEXED leaves
	// the rowid lookups of the matches as the one way in, and SearchEvents
	// drops it when the count says the walk is shorter (walkFaster).
	wordsFrom:     " NOT INDEXED",
	walkTime:      " INDEXED BY events_account_time_idx",
	walkTimeWords: " INDEXED BY events_account_time_idx",
	// Without statistics SQLite picks among a search's indexes by their
	// shape alone; SearchEvents names the one that reads least.
	indexHint:        func(index string) string { return " INDEXED BY " + index },
	accountUnindexed: "+e.account_id",
	actionPrefix:     func(b *sqlBuilder, prefix string) string { return rangePrefix(b, "e.action", prefix) },
	// search_text holds the tokens as they are, lower-cased like the
	// word's: instr compares bytes.
	textWord: func(b *sqlBuilder, w query.Word) string {
		same := func(t string) string { return t }
		return "instr(' ' || e.search_text || ' ', " + b.arg(textPattern(w, same, same)) + ") > 0"
	},
	metadata: func(b *sqlBuilder, path []string, value string) string {
		p := jsonPath(path)
		// Parsed only where the text can hold the value (metadataText).
		return "(instr(e.metadata, " + b.arg(value) + ") > 0 OR instr(e.metadata, '\\') > 0) AND " +
			"CASE WHEN json_type(e.metadata, " + b.arg(p) + ") = 'text' THEN json_extract(e.metadata, " + b.arg(p) +
			") WHEN json_type(e.metadata, " + b.arg(p) + ") IN ('integer', 'real', 'true', 'false') THEN e.metadata -> " + b.arg(p) +
			" END = " + b.arg(value)
	},
	words: func(b *sqlBuilder, accountID int64, words []query.Word) []string {
		var pos, neg []string
		for _, w := range words {
			// Tokens hold only letters, digits and marks: nothing to
			// escape inside the quotes.
			t := `"` + strings.Join(w.Tokens, " ") + `"`
			if w.Prefix {
				t += " *"
			}
			if w.Negated {
				neg = append(neg, t)
			} else {
				pos = append(pos, t)
			}
		}
		const sub = "SELECT rowid FROM events_fts WHERE account_id = ? AND events_fts MATCH ?"
		if len(pos) == 0 {
			b.args = append(b.args, accountID, strings.Join(neg, " OR "))
			return []string{"e.id NOT IN (" + sub + ")"}
		}
		expr := strings.Join(pos, " AND ")
		for _, n := range neg {
			expr += " NOT " + n
		}
		b.args = append(b.args, accountID, expr)
		return []string{"e.id IN (" + sub + ")"}
	},
}

// PostgreSQL: actions by LIKE (indexable under the C collation, and
// correct under any); metadata by the json type (not jsonb, which would
// rewrite numbers) and #>> with the path as a text[] argument; words by
// the stored tsvector search_tsv, indexed by GIN (events_search_idx),
// against one tsquery.
var postgresSearch = searchDialect{
	countByRange: true,
	actionPrefix: func(b *sqlBuilder, prefix string) string {
		return "e.action LIKE " + b.arg(likeEscape(prefix)+"%") + " ESCAPE '!'"
	},
	metadata: func(b *sqlBuilder, path []string, value string) string {
		// Parsed only where the text can hold the value (metadataText).
		return "(strpos(e.metadata, " + b.arg(value) + ") > 0 OR strpos(e.metadata, '\\') > 0) AND " +
			"CASE WHEN json_typeof(e.metadata::json #> " + b.arg(path) + "::text[]) IN ('string', 'number', 'boolean') THEN e.metadata::json #>> " +
			b.arg(path) + "::text[] END = " + b.arg(value)
	},
	words: func(b *sqlBuilder, accountID int64, words []query.Word) []string {
		var pos, neg []string
		for _, w := range words {
			// Tokens hold only letters, digits and marks: quoting each
			// keeps to_tsquery from reading operators in them.
			q := make([]string, len(w.Tokens))
			for i, t := range w.Tokens {
				q[i] = "'" + t + "'"
			}
			if w.Prefix {
				q[len(q)-1] += ":*"
			}
			t := "(" + strings.Join(q, " <-> ") + ")"
			if w.Negated {
				neg = append(neg, t)
			} else {
				pos = append(pos, t)
			}
		}
		const match = postgresMatch
		if len(pos) == 0 {
			b.args = append(b.args, strings.Join(neg, " | "))
			return []string{"(" + match + ") IS NOT TRUE"}
		}
		expr := strings.Join(pos, " & ")
		for _, n := range neg {
			expr += " & !" + n
		}
		b.args = append(b.args, expr)
		return []string{match}
	},
}

// metadataText: on SQLite and PostgreSQL a metadata value is looked for
// in the metadata's text before the JSON is parsed, and only an event
// whose text holds the value, or a backslash, is parsed: a member whose
// text is the value holds it as written (a number or true/false as
// written, a string as its characters) unless the string is escaped, and
// an escape is a backslash. So the check finds the same events; parsing
// the JSON of each event walked was most of the cost of a rare value (65-71
// ms p50 on PostgreSQL at a million events, 21-39 with the text first).

// postgresMatch is how the PostgreSQL dialect matches words: an operator
// that the GIN index events_search_idx serves. postgresMatchWalked is the
// same match as a function call, which no index serves: the count by rows
// examined uses it for a phrase or a prefix word (postgresWalkWords).
const (
	postgresMatch       = "e.search_tsv @@ to_tsquery('simple', ?)"
	postgresMatchWalked = "ts_match_vq(e.search_tsv, to_tsquery('simple', ?))"
)

// postgresWalkWords returns where with its word matches (postgresMatch)
// written so that no index serves them, when q has a phrase or a prefix
// word that must match. PostgreSQL cannot estimate those: counting the
// newest 10,000 events it read the GIN entries of the words in every
// account (142,016 for "refund issued" at a million events, 308 ms)
// instead of checking the 10,000 rows (19 ms). A single word keeps the
// index, whose statistics tell a rare word from a common one.
func postgresWalkWords(where string, q *query.Query) string {
	for _, w := range q.Words {
		if !w.Negated && (w.Prefix || len(w.Tokens) > 1) {
			return strings.ReplaceAll(where, postgresMatch, postgresMatchWalked)
		}
	}
	return where
}

// MySQL and MariaDB: actions by range on (account_id, action, …) under
// utf8mb4_bin; metadata by JSON_EXTRACT with the path as an argument; words
// by MATCH … AGAINST in boolean mode on the FULLTEXT index over
// search_text, whose tokens are spelled by mysqlToken. InnoDB has no prefix
// inside a phrase, so a word such as order.ref* is the phrase of its
// leading tokens and the prefix of its last one, checked to be adjacent by
// LIKE on the rows the index found.
var mysqlSearch = searchDialect{
	// Left to itself, MySQL read every event of a common action prefix
	// and sorted them (1.2 s at 200,000 events). The FULLTEXT index must
	// stay allowed, or MATCH fails (error 1191); with a word, MySQL still
	// reads its matches through it.
	walkTime: " FORCE INDEX (events_account_time_idx)",
	// Without MATCH the hint is allowed, so a word matched in search_text
	// (spelled tokens, compared byte for byte under utf8mb4_bin) can walk
	// too: a common word's page went from seconds to milliseconds.
	walkTimeWords: " FORCE INDEX (events_account_time_idx)",
	// MySQL's own choice among a search's indexes read the action's
	// 50,000 rows to find 10,000 of a type; SearchEvents names the
	// index that reads least.
	indexHint: func(index string) string { return " FORCE INDEX (" + index + ")" },
	textWord: func(b *sqlBuilder, w query.Word) string {
		return "INSTR(CONCAT(' ', e.search_text, ' '), " + b.arg(textPattern(w, mysqlToken, mysqlPrefix)) + ") > 0"
	},
	actionPrefix: func(b *sqlBuilder, prefix string) string { return rangePrefix(b, "e.action", prefix) },
	metadata: func(b *sqlBuilder, path []string, value string) string {
		p := jsonPath(path)
		return "CASE WHEN JSON_TYPE(JSON_EXTRACT(e.metadata, " + b.arg(p) + ")) IN ('STRING', 'INTEGER', 'UNSIGNED INTEGER', 'DOUBLE', 'DECIMAL', 'BOOLEAN')" +
			" THEN JSON_UNQUOTE(JSON_EXTRACT(e.metadata, " + b.arg(p) + ")) END = " + b.arg(value)
	},
	words: func(b *sqlBuilder, accountID int64, words []query.Word) []string {
		const match = "MATCH (e.search_text) AGAINST (? IN BOOLEAN MODE)"
		const adjacent = "CONCAT(' ', e.search_text) LIKE ? ESCAPE '!'"
		var pos, conds []string
		var posLikes []string
		type negated struct{ term, like string }
		var negs []negated
		for _, w := range words {
			term, like := mysqlTerm(w)
			if w.Negated {
				negs = append(negs, negated{term, like})
				continue
			}
			pos = append(pos, term)
			if like != "" {
				posLikes = append(posLikes, like)
			}
		}
		if len(pos) > 0 {
			conds = append(conds, match)
			b.args = append(b.args, strings.Join(pos, " "))
			for _, l := range posLikes {
				conds = append(conds, adjacent)
				b.args = append(b.args, l)
			}
		}
		for _, n := range negs {
			cond := match
			b.args = append(b.args, n.term)
			if n.like != "" {
				cond += " AND " + adjacent
				b.args = append(b.args, n.like)
			}
			conds = append(conds, "("+cond+") IS NOT TRUE")
		}
		return conds
	},
}

// mysqlTerm returns a word as a required term of a boolean-mode AGAINST,
// and, for a prefix word of several tokens, the LIKE pattern on
// " "+search_text that checks its tokens are adjacent.
func mysqlTerm(w query.Word) (term, like string) {
	toks := make([]string, len(w.Tokens))
	for i, t := range w.Tokens {
		toks[i] = mysqlToken(t)
	}
	if w.Prefix {
		toks[len(toks)-1] = mysqlPrefix(w.Tokens[len(w.Tokens)-1])
	}
	switch {
	case len(toks) == 1 && w.Prefix:
		return "+" + toks[0] + "*", ""
	case len(toks) == 1:
		return "+" + toks[0], ""
	case !w.Prefix:
		return `+"` + strings.Join(toks, " ") + `"`, ""
	}
	lead := toks[:len(toks)-1]
	return `+"` + strings.Join(lead, " ") + `" +` + toks[len(toks)-1] + "*", "% " + likeEscape(strings.Join(toks, " ")) + "%"
}
