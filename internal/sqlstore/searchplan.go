package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
)

// A search without words is counted and paged through one index, its
// driver: the qualifier whose index yields the fewest of the account's
// events, or the account's time index when no qualifier has an index (or
// every one yields more than the bound). The other terms are checked in
// each row the driver yields. Counting a combination by its matches could
// read any number of rows to find 10,000 of them (two filters that each
// match a quarter of a million events read 80,000); counting it by rows
// examined cannot:
//
//   - each qualifier with an index is counted off its index, up to the
//     bound (index entries only: no row is read);
//   - a search of that one qualifier (or of it and a time range, which
//     its index reads with it) takes that count as its total;
//   - when the smallest such count is within the bound, the search is
//     counted exactly, reading those rows and no others;
//   - otherwise the count reads the newest events of an ordered driver
//     (its index in listing order), DB.ExamineBound of them, and reports
//     the matches among them: a lower bound, with total_exact false.
//
// The page walks the driver newest first and stops after the page.

// searchDriver is an index that serves one qualifier of a search, or the
// account's time index (clause -1).
type searchDriver struct {
	// clause is the qualifier's position in Query.Clauses; -1 for the
	// account's events by time.
	clause int
	// index serves the qualifier: an index on events that starts with the
	// account.
	index string
	// ordered reports that the index yields the qualifier's matches in
	// listing order (one value, and the index ends in created_at, seq).
	ordered bool
	// rows is how many of the account's events the qualifier matches,
	// counted up to the bound plus one.
	rows int64
	// merged reports a qualifier read off several indexes and merged
	// (actor:, index ""): the account's own condition must then offer
	// no index (searchDialect.accountUnindexed).
	merged bool
	// created, when at least 0, is the position of a time range of one
	// value in Query.Clauses that the index reads together with the
	// qualifier: an index on (account_id, column, created_at, seq) holds
	// one value's events in time order, so "action:x created:…" is one
	// range of it.
	created int
}

// Index names, the same on every engine (migrations 0001 and 0005).
const (
	timeIndex = "events_account_time_idx"
)

// indexedClauses returns the required qualifiers of q that an index on
// events serves, in q's order, rows not yet counted.
func indexedClauses(q *query.Query) []searchDriver {
	var ds []searchDriver
	created := -1
	for i, c := range q.Clauses {
		if c.Field == query.FieldCreated && !c.Negated && len(c.Values) == 1 {
			created = i
			break
		}
	}
	for i, c := range q.Clauses {
		if c.Negated || len(c.Values) == 0 {
			continue
		}
		one := len(c.Values) == 1
		eq := one && c.Values[0].Op == query.OpEq
		d := searchDriver{clause: i, ordered: eq, created: -1}
		switch c.Field {
		case query.FieldAction:
			d.index = "events_account_action_idx"
		case query.FieldUserID:
			d.index = "events_account_user_idx"
		case query.FieldResourceType:
			d.index = "events_account_resource_type_idx"
		case query.FieldResourceID:
			d.index = "events_account_resource_id_idx"
		case query.FieldIP:
			d.index = "events_account_ip_idx"
		case query.FieldActor:
			// The actor ID, email and name indexes (migration 0009) and
			// the user index, merged: never in listing order.
			d.ordered, d.merged = false, true
		case query.FieldCreated:
			// A time range is a range of the time index, in order.
			d.index, d.ordered = timeIndex, one
		case query.FieldResource:
			// resource:TYPE reads the type's index; resource:TYPE:ID the
			// ID's, the type checked in each row.
			typed, ided := 0, 0
			for _, v := range c.Values {
				if v.ID == "" {
					typed++
				} else {
					ided++
				}
			}
			switch {
			case ided == 0:
				d.index, d.ordered = "events_account_resource_type_idx", one
			case typed == 0:
				d.index, d.ordered = "events_account_resource_id_idx", one
			default:
				continue
			}
		default:
			continue
		}
		if d.ordered && !d.merged && d.index != timeIndex {
			d.created = created
		}
		ds = append(ds, d)
	}
	return ds
}

// cond returns the condition on the account's events that d's index
// reads: its qualifier, and the time range it reads with it.
func (d searchDriver) cond(db *DB, b *sqlBuilder, accountID int64, q *query.Query) string {
	if d.clause < 0 {
		return ""
	}
	c := " AND (" + db.clause(b, accountID, q.Clauses[d.clause]) + ")"
	if d.created >= 0 {
		c += " AND (" + db.clause(b, accountID, q.Clauses[d.created]) + ")"
	}
	return c
}

// wordlessPlan is how SearchEvents counts and reads a search without
// words (see searchDriver).
type wordlessPlan struct {
	total   int64
	inexact bool
	// from is "events e" with the driver's index hint, for the page.
	from string
	// unordered reports that the driver does not yield listing order:
	// its matches are read and sorted, unless walking the account's
	// events newest first is cheaper.
	unordered bool
	// acct is the account's column in the page's WHERE (see whereOn);
	// "" for e.account_id.
	acct string
}

// planCount counts the account's events that match q (not zero) by the
// rule above, reading at most bound index entries per indexed qualifier
// and at most bound rows, and returns the plan of the page of a search
// without words. size is the account's log size. known, when at least 0,
// is q's exact total, already counted (searchcounts.go): only the page is
// planned, and no rows are read to count. With byText, words are checked
// in each row's search_text (searchDialect.textWord).
func (db *DB) planCount(ctx context.Context, tx runner, run func(r runner, ctx context.Context, query string, args ...any) (*sql.Rows, error),
	accountID int64, q *query.Query, size, bound, known int64, byText bool) (wordlessPlan, error) {
	sd := db.dialect.search
	hint := sd.hint
	acct := func(d searchDriver) string {
		if d.merged && sd.accountUnindexed != "" {
			return sd.accountUnindexed
		}
		return "e.account_id"
	}
	one := func(query string, args ...any) (int64, error) {
		rows, err := run(tx, ctx, query, args...)
		if err != nil {
			return 0, err
		}
		var n int64
		return n, scanOne(rows, &n)
	}
	cands := indexedClauses(q)
	best := searchDriver{clause: -1, created: -1, index: timeIndex, ordered: true, rows: size}
	for i := range cands {
		d := &cands[i]
		b := &sqlBuilder{}
		var n int64
		var err error
		if d.merged {
			// Each branch off its own index, then merged: index entries
			// only, where an OR of the branches read every matching row.
			n, err = one(`SELECT COUNT(*) FROM (`+db.actorUnion(b, accountID, q.Clauses[d.clause], "e.seq", nil, false, bound+1)+`) c`, b.args...)
		} else {
			cond := " WHERE " + acct(*d) + " = " + b.arg(accountID) + d.cond(db, b, accountID, q)
			n, err = one(`SELECT COUNT(*) FROM (SELECT 1 FROM events e`+hint(d.index)+cond+` LIMIT ?) c`, append(b.args, bound+1)...)
		}
		if err != nil {
			return wordlessPlan{}, db.wrap(err, "count events")
		}
		d.rows = n
		if n < best.rows || n == best.rows && d.ordered && !best.ordered {
			best = *d
		}
	}
	switch {
	case known >= 0:
		// Counted already: the page walks the driver, the fewest rows,
		// when it is in listing order, else the first ordered qualifier
		// (or the time index) newest first, as below.
		drv := best
		if !best.ordered {
			drv = searchDriver{clause: -1, created: -1, index: timeIndex, ordered: true}
			for _, d := range cands {
				if d.ordered {
					drv = d
					break
				}
			}
			if best.rows <= bound {
				drv = best
			}
		}
		return wordlessPlan{total: known, from: "events e" + hint(drv.index), unordered: !drv.ordered, acct: acct(drv)}, nil
	case best.clause >= 0 && len(q.Words) == 0 && (len(q.Clauses) == 1 || len(q.Clauses) == 2 && best.created >= 0):
		// The qualifier (with its time range) is the whole search: its
		// index count is the count.
		return wordlessPlan{total: min(best.rows, bound), inexact: best.rows > bound,
			from: "events e" + hint(best.index), unordered: !best.ordered, acct: acct(best)}, nil
	case best.rows <= bound:
		// Every event the driver yields can be read: an exact count.
		where, args := db.whereOn(acct(best), accountID, q, byText)
		n, err := one(`SELECT COUNT(*) FROM events e`+hint(best.index)+where, args...)
		if err != nil {
			return wordlessPlan{}, db.wrap(err, "count events")
		}
		return wordlessPlan{total: n, from: "events e" + hint(best.index), unordered: !best.ordered, acct: acct(best)}, nil
	}
	where, args := db.where(accountID, q, byText)
	// More than the bound to read: the newest events of an ordered driver
	// are checked, examine of them, and their matches are a lower bound.
	// Every qualifier's count reached the bound, so any ordered one will
	// do; the first in the search, else the account's time index.
	drv := searchDriver{clause: -1, created: -1, index: timeIndex, ordered: true}
	for _, d := range cands {
		if d.ordered {
			drv = d
			break
		}
	}
	b := &sqlBuilder{}
	inner := " WHERE e.account_id = " + b.arg(accountID)
	inner += drv.cond(db, b, accountID, q)
	examine := db.examineBound(bound)
	b.args = append(b.args, examine)
	// CROSS JOIN keeps the driver's rows as the outer loop on SQLite,
	// each row then read by its ID; with a plain JOIN it read every
	// event of another qualifier's index and probed d for each (900 ms
	// of CPU at a million events, against 22 ms). Elsewhere it is an
	// inner join like any other.
	var n int64
	var err error
	if sd.countByRange {
		// (PostgreSQL: phrases and prefix words checked in each row.)
		where = postgresWalkWords(where, q)
		n, err = db.countNewest(ctx, tx, run, hint(drv.index), inner, b.args[:len(b.args)-1], where, args, examine)
	} else {
		n, err = one(`SELECT COUNT(*) FROM (SELECT e.id FROM events e`+hint(drv.index)+inner+
			` ORDER BY e.created_at DESC, e.seq DESC LIMIT ?) d CROSS JOIN events e`+where+` AND e.id = d.id`, append(b.args, args...)...)
	}
	if err != nil {
		return wordlessPlan{}, db.wrap(err, "count events")
	}
	return wordlessPlan{total: n, inexact: true, from: "events e" + hint(drv.index)}, nil
}

// actorUnion returns a UNION of the account's events that the actor:
// qualifier c matches, one member per branch (actorBranches), each read
// off the branch's own index alone: cols (of "events e") of at most limit
// events per branch, the newest first when ordered, and only the events
// after the position after when it is set (keyset paging). Its columns
// are those of cols without "e.".
//
// An actor: search is an OR of columns, which no one index serves: on
// PostgreSQL the OR was read as a bitmap of the three indexes and then
// every matching row, and a page walked the account's time index until
// it had found enough (10,000 matches at ten million events: 68 ms to
// count, 41 ms for the first page). Its branches read separately are
// index entries only, each already in listing order (the indexes end in
// created_at, seq): 9 ms and 3 ms.
func (db *DB) actorUnion(b *sqlBuilder, accountID int64, c query.Clause, cols string, after *audit.Position, ordered bool, limit int64) string {
	hint := db.dialect.search.hint
	var parts []string
	for i, br := range actorBranches(accountID, c) {
		sub := "SELECT " + cols + " FROM events e" + hint(br.index) + " WHERE " + br.cond
		b.args = append(b.args, br.args...)
		if after != nil {
			sub += db.after(b, after)
		}
		if ordered {
			sub += " ORDER BY e.created_at DESC, e.seq DESC"
		}
		sub += " LIMIT " + b.arg(limit)
		parts = append(parts, "SELECT * FROM ("+sub+") a"+strconv.Itoa(i))
	}
	return strings.Join(parts, " UNION ")
}

// actorOnly returns q's qualifier when q is one actor: qualifier alone,
// not negated: a search whose page actorUnion reads.
func actorOnly(q *query.Query) (query.Clause, bool) {
	if q == nil || len(q.Words) > 0 || len(q.Clauses) != 1 {
		return query.Clause{}, false
	}
	c := q.Clauses[0]
	return c, c.Field == query.FieldActor && !c.Negated && len(c.Values) > 0
}

// hint returns what follows "events e" to make the engine read index: ""
// where the engine takes no hint, or for no index ("").
func (sd searchDialect) hint(index string) string {
	if sd.indexHint == nil || index == "" {
		return ""
	}
	return sd.indexHint(index)
}

// countNewest counts the events of the search where (with args) among the
// newest examine events that the driver's condition inner (with innerArgs,
// on "events e"+hint) selects, for an engine whose indexes do not hold the
// row's id (PostgreSQL, searchDialect.countByRange): the position
// (created_at, seq) of the examine-th newest is read off the driver's index
// alone (an index-only scan), and the search is then counted over one
// range of that index, from that position on, each row visited once. The
// join of the newest rows' ids back to their rows visited each row twice
// and probed an index per row: 46,000 buffers and 150-240 ms for
// "refund action:order.refunded" at a million events, against 6,000
// buffers and 24 ms.
func (db *DB) countNewest(ctx context.Context, tx runner, run func(r runner, ctx context.Context, query string, args ...any) (*sql.Rows, error),
	hint, inner string, innerArgs []any, where string, args []any, examine int64) (int64, error) {
	const order = ` ORDER BY e.created_at DESC, e.seq DESC`
	rows, err := run(tx, ctx, `SELECT e.created_at, e.seq FROM events e`+hint+inner+order+` LIMIT 1 OFFSET ?`,
		append(slices.Clip(innerArgs), examine-1)...)
	if err != nil {
		return 0, err
	}
	var at time.Time
	var seq int64
	found := rows.Next()
	if found {
		err = rows.Scan(&at, &seq)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, err
	}
	from := where
	cargs := slices.Clip(args)
	if found {
		// (Else the driver selects fewer than examine events: all are
		// examined.)
		from += ` AND e.created_at >= ? AND (e.created_at > ? OR e.seq >= ?)`
		cargs = append(cargs, at, at, seq)
	}
	rows, err = run(tx, ctx, `SELECT COUNT(*) FROM events e`+hint+from, cargs...)
	if err != nil {
		return 0, err
	}
	var n int64
	return n, scanOne(rows, &n)
}
