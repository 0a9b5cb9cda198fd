package sqlstore

import (
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/query"
)

// A search (query.Query) compiles to one WHERE clause on events e, written
// with ? placeholders like every statement of the store:
//
//   - e.account_id = ? comes first, always, and every full-text subquery
//     names the account again, so no term can reach another account's
//     events.
//   - The values of a clause are alternatives (OR); clauses and words are
//     all required (AND). A negated clause or word is wrapped in
//     (…) IS NOT TRUE, so that an event without the field (a NULL user_id,
//     metadata without the key) counts as not matching it and is kept.
//   - Qualifiers on plain columns are the same SQL on every engine; the
//     action prefix, metadata paths and free words differ, and live in the
//     engine's searchDialect.
//
// See docs/search.md for what each term means and docs/schema.md for the
// columns and indexes that serve them.

// sqlBuilder collects the text and arguments of a WHERE clause.
type sqlBuilder struct {
	args []any
}

// arg adds v as an argument and returns its placeholder.
func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return "?"
}

// in returns "col = ?" or "col IN (?, …)" over vals.
func (b *sqlBuilder) in(col string, vals []any) string {
	if len(vals) == 1 {
		return col + " = " + b.arg(vals[0])
	}
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = b.arg(v)
	}
	return col + " IN (" + strings.Join(ph, ", ") + ")"
}

// searchDialect compiles the terms whose SQL differs between engines.
type searchDialect struct {
	// actionPrefix matches actions that start with prefix, which is made
	// of a-z, 0-9, "_" and ".".
	actionPrefix func(b *sqlBuilder, prefix string) string
	// metadata matches events whose metadata member at path (segments
	// of ASCII letters, digits and "_") is a string, number or boolean
	// whose text is value.
	metadata func(b *sqlBuilder, path []string, value string) string
	// words matches the free words and phrases, every one (AND), each
	// negated one excluded; it returns the conditions to AND together.
	words func(b *sqlBuilder, accountID int64, words []query.Word) []string
	// wordsFrom follows "events e" in a search with a word that must
	// match, to steer the plan to the matches (see sqliteSearch).
	wordsFrom string
	// walkTime follows "events e" to make the engine walk the account's
	// events newest first (events_account_time_idx), when SearchEvents
	// finds that cheaper than reading every match of a word or an action
	// prefix and sorting them; "" where the planner chooses well itself.
	// walkTimeWords is the same for a search with a word (even excluded).
	walkTime, walkTimeWords string
	// indexHint, where set, returns what follows "events e" to make the
	// engine read the named index (a search's driver, searchplan.go);
	// PostgreSQL's planner chooses from its statistics and takes no hint.
	indexHint func(index string) string
	// accountUnindexed, where set, is the account's column written so
	// that the engine uses no index for it: the one way left to read a
	// search whose driver is actor: is then the merge of the actor
	// columns' indexes. SQLite otherwise walks the account's time index.
	accountUnindexed string
	// textWord, where set, matches a word (not negated) by looking for
	// its tokens in the event's own search_text, with no full-text index:
	// the engine checks each row it walks instead of first reading every
	// match of the word in the table. SearchEvents uses it when it walks
	// the account's events newest first (wordsByText).
	textWord func(b *sqlBuilder, w query.Word) string
	// countByRange makes the count by rows examined (searchplan.go) read
	// one range of the driver's index, from the position of its
	// bound-th newest event, where the engine's indexes do not hold the
	// row's id (PostgreSQL, countNewest); InnoDB's and SQLite's do, and
	// join the newest rows' ids back to their rows.
	countByRange bool
}

// jsonPath returns the SQLite and MySQL path of a metadata key, each
// member quoted: $."shipping"."country".
func jsonPath(path []string) string {
	return `$."` + strings.Join(path, `"."`) + `"`
}

// rangePrefix matches col starting with prefix by a range, which every
// engine reads off an index on col under a binary collation: col >= prefix
// AND col < prefix with its last byte incremented. prefix is ASCII and
// does not end in 0x7f.
func rangePrefix(b *sqlBuilder, col, prefix string) string {
	hi := []byte(prefix)
	hi[len(hi)-1]++
	return "(" + col + " >= " + b.arg(prefix) + " AND " + col + " < " + b.arg(string(hi)) + ")"
}

// textPattern returns what a word looks like inside " " + search_text +
// " ", whose tokens are spelled by spell (prefix: the last token's
// spelling as a prefix): its tokens between spaces, the last one open at
// its end for a prefix word.
func textPattern(w query.Word, spell, prefix func(string) string) string {
	toks := make([]string, len(w.Tokens))
	for i, t := range w.Tokens {
		toks[i] = spell(t)
	}
	if w.Prefix {
		toks[len(toks)-1] = prefix(w.Tokens[len(w.Tokens)-1])
		return " " + strings.Join(toks, " ")
	}
	return " " + strings.Join(toks, " ") + " "
}

// likeEscape escapes LIKE's wildcards in s with "!" (ESCAPE '!').
func likeEscape(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// where builds the WHERE clause and arguments of a search of the
// account's events. q may be nil (every event). With byText (where the
// engine has a textWord), words are matched in each event's search_text
// rather than through the full-text index.
func (db *DB) where(accountID int64, q *query.Query, byText bool) (string, []any) {
	return db.whereOn("e.account_id", accountID, q, byText)
}

// whereOn is where with the account's condition on acct: e.account_id,
// or the dialect's accountUnindexed when the alternatives of an actor:
// qualifier, which each name the account, must be read off their own
// indexes (searchplan.go).
func (db *DB) whereOn(acct string, accountID int64, q *query.Query, byText bool) (string, []any) {
	b := &sqlBuilder{}
	conds := []string{acct + " = " + b.arg(accountID)}
	if q != nil {
		for _, c := range q.Clauses {
			// Each term in parentheses: an OR inside one can never
			// reach past the account's condition.
			cond := "(" + db.clause(b, accountID, c) + ")"
			if c.Negated {
				cond = "(" + cond + " IS NOT TRUE)"
			}
			conds = append(conds, cond)
		}
		switch tw := db.dialect.search.textWord; {
		case len(q.Words) == 0:
		case byText && tw != nil:
			for _, w := range q.Words {
				neg := w.Negated
				w.Negated = false
				cond := "(" + tw(b, w) + ")"
				if neg {
					// As with the index: an event without search_text
					// does not match the word, so it is kept.
					cond = "(" + cond + " IS NOT TRUE)"
				}
				conds = append(conds, cond)
			}
		default:
			for _, w := range db.dialect.search.words(b, accountID, q.Words) {
				conds = append(conds, "("+w+")")
			}
		}
	}
	return " WHERE " + strings.Join(conds, " AND "), b.args
}

// actorBranch is one way an actor: value matches an event: a condition
// that names the account and reads one index, with its arguments.
type actorBranch struct {
	index, cond string
	args        []any
}

// actorBranches returns the conditions an event of the account matches an
// actor: qualifier c by, each alone on one index: the value as the actor's
// ID, email or name, and, for a number, as the ID of a user actor. The
// qualifier matches an event that any of them matches.
func actorBranches(accountID int64, c query.Clause) []actorBranch {
	var out []actorBranch
	branch := func(index, col string, v any, more string) {
		out = append(out, actorBranch{index, "e.account_id = ? AND " + col + " = ?" + more, []any{accountID, v}})
	}
	for _, v := range c.Values {
		branch("events_account_actor_id_idx", "e.actor_id", v.Text, "")
		branch("events_account_actor_email_idx", "e.actor_email", v.Text, "")
		branch("events_account_actor_name_idx", "e.actor_name", v.Text, "")
		if id, err := strconv.ParseInt(v.Text, 10, 64); err == nil && id > 0 && strconv.FormatInt(id, 10) == v.Text {
			// A user actor is named by the user's ID.
			branch("events_account_user_idx", "e.user_id", id, " AND e.actor_type = 'user'")
		}
	}
	return out
}

// clause compiles one qualifier of a search of the account's events, its
// values as alternatives.
func (db *DB) clause(b *sqlBuilder, accountID int64, c query.Clause) string {
	var alts []string
	var eq []any
	flushEq := func(col string) {
		if len(eq) > 0 {
			alts = append(alts, b.in(col, eq))
		}
	}
	switch c.Field {
	case query.FieldAction:
		for _, v := range c.Values {
			if v.Op == query.OpPrefix && db.prefixByRange {
				alts = append(alts, rangePrefix(b, "e.action", v.Text))
			} else if v.Op == query.OpPrefix {
				alts = append(alts, db.dialect.search.actionPrefix(b, v.Text))
			} else {
				eq = append(eq, v.Text)
			}
		}
		flushEq("e.action")
	case query.FieldActorType, query.FieldOutcome, query.FieldResourceType, query.FieldResourceID:
		for _, v := range c.Values {
			eq = append(eq, v.Text)
		}
		flushEq(map[query.Field]string{
			query.FieldActorType: "e.actor_type", query.FieldOutcome: "e.outcome",
			query.FieldResourceType: "e.resource_type", query.FieldResourceID: "e.resource_id",
		}[c.Field])
	case query.FieldUserID:
		for _, v := range c.Values {
			eq = append(eq, v.Int)
		}
		flushEq("e.user_id")
	case query.FieldActor:
		// Each alternative names the account, so that an engine can read
		// it off its own index (account_id, column, …) and merge them:
		// SQLite does only when nothing else offers an index on the
		// account (searchDialect.accountUnindexed).
		for _, br := range actorBranches(accountID, c) {
			alts = append(alts, "("+br.cond+")")
			b.args = append(b.args, br.args...)
		}
	case query.FieldResource:
		for _, v := range c.Values {
			if v.ID == "" {
				eq = append(eq, v.Type)
				continue
			}
			alts = append(alts, "(e.resource_type = "+b.arg(v.Type)+" AND e.resource_id = "+b.arg(v.ID)+")")
		}
		flushEq("e.resource_type")
	case query.FieldIP:
		for _, v := range c.Values {
			if v.Op == query.OpCIDR {
				lo, hi := prefixBounds(v.Prefix)
				alts = append(alts, "e.ip_bin BETWEEN "+b.arg(lo)+" AND "+b.arg(hi))
			} else {
				eq = append(eq, addrBin(v.Prefix.Addr().Unmap()))
			}
		}
		flushEq("e.ip_bin")
	case query.FieldCreated:
		for _, v := range c.Values {
			alts = append(alts, db.createdRange(b, v.Since, v.Until))
		}
	case query.FieldMetadata:
		for _, v := range c.Values {
			alts = append(alts, db.dialect.search.metadata(b, c.Path(), v.Text))
		}
	default:
		// The parser makes no other field; match nothing rather than
		// everything if one is ever added without SQL.
		return "1 = 0"
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return "(" + strings.Join(alts, " OR ") + ")"
}

// createdRange matches created_at within the inclusive bounds (zero: no
// bound). Nothing was recorded before the Unix epoch, and some engines do
// not store times that early, so bounds before it are clamped to it.
func (db *DB) createdRange(b *sqlBuilder, since, until time.Time) string {
	var conds []string
	if !since.IsZero() && !since.Before(earliestTime) {
		conds = append(conds, "e.created_at >= "+b.arg(db.t(since)))
	}
	if !until.IsZero() {
		if until.Before(earliestTime) {
			return "1 = 0"
		}
		conds = append(conds, "e.created_at <= "+b.arg(db.t(until)))
	}
	switch len(conds) {
	case 0:
		return "1 = 1"
	case 1:
		return conds[0]
	}
	return "(" + strings.Join(conds, " AND ") + ")"
}

// earliestTime is the Unix epoch: every recorded time is after it.
var earliestTime = time.Unix(0, 0).UTC()
