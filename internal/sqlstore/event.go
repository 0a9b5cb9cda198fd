package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
)

// LogSize returns the size of the account's log: the number of events it
// has held, the seq of the last. Retention may have removed the oldest
// (LogPrune).
func (db *DB) LogSize(ctx context.Context, accountID int64) (int64, error) {
	var size int64
	err := db.rd.queryRow(ctx, `SELECT size FROM log_heads WHERE account_id = ?`, accountID).Scan(&size)
	return size, db.wrap(err, "select log size")
}

// DefaultCountBound is how many matching events a listing counts exactly
// before it reports the bound instead (DB.CountBound).
const DefaultCountBound = 10_000

// DefaultExamineBound is how many events a count checks, newest first,
// when its search matches more than it can count exactly (DB.ExamineBound).
// Checking an event reads its row, about 5 to 9 µs each on PostgreSQL
// here: checking 10,000 cost 47 to 92 ms for "action:order.refunded
// metadata.plan:pro ip:10.0.0.0/16", whatever the account's size, where
// the target is 50 ms; 2,000 cost a fifth of that
// (docs/performance.md).
const DefaultExamineBound = 2_000

// examineBound returns how many events a count past bound checks.
func (db *DB) examineBound(bound int64) int64 {
	n := db.ExamineBound
	if n <= 0 {
		n = DefaultExamineBound
	}
	return min(n, bound)
}

// Events returns one page of the account's events that match the seed's
// filter: SearchEvents with query.FromFilter(f).
func (db *DB) Events(ctx context.Context, accountID int64, f audit.EventFilter, p audit.PageRequest) (*audit.EventPage, error) {
	return db.SearchEvents(ctx, accountID, query.FromFilter(f), p)
}

// SearchEvents returns one page of the account's events that match q (nil
// or zero: every event), newest first (ties broken by seq, newest first),
// with the page arithmetic. The count and the page are read in one
// transaction, so they agree.
//
// The total is exact when it is cheap: the log head's size (less the
// events retention removed) for an unfiltered listing, a count when at most CountBound events match. Past
// the bound the count stops, Total is the bound and TotalInexact is set;
// HasNext then comes from the page itself.
func (db *DB) SearchEvents(ctx context.Context, accountID int64, q *query.Query, p audit.PageRequest) (*audit.EventPage, error) {
	var page *audit.EventPage
	// The seed's filters come in a few shapes, worth preparing; a search
	// can take any shape, and is not (see runner).
	run := runner.query
	if searched(q) {
		// Planned for its values each time: a generic plan cannot tell
		// a rare word from a common one (PostgreSQL walked a whole
		// account for a word in two events).
		run = func(r runner, ctx context.Context, query string, args ...any) (*sql.Rows, error) {
			return r.queryBuilt(ctx, query, append(slices.Clip(db.dialect.planFresh), args...)...)
		}
	}
	if trace := db.traceSearch; trace != nil {
		inner := run
		run = func(r runner, ctx context.Context, query string, args ...any) (*sql.Rows, error) {
			trace(query, args)
			return inner(r, ctx, query, args...)
		}
	}
	bound := db.CountBound
	if bound <= 0 {
		bound = DefaultCountBound
	}
	err := db.view(ctx, func(tx runner) error {
		sd := db.dialect.search
		counted := !q.IsZero()
		if counted {
			// A page of a search reads up to a few thousand rows and
			// stops: PostgreSQL, planning a walk of an action's index
			// for three terms at a million events, started two
			// parallel workers, and waited 50 ms for them before the
			// first row of a 68 ms page that one process reads in 20.
			if err := db.smallRead(ctx, tx); err != nil {
				return db.wrap(err, "plan without parallel workers")
			}
		}
		var size, pruned int64 // the events the account holds: those retention removed are not counted
		err := tx.queryRow(ctx, `SELECT size - pruned_size, pruned_size FROM log_heads WHERE account_id = ?`, accountID).Scan(&size, &pruned)
		if err != nil && (!counted || !errors.Is(err, sql.ErrNoRows)) {
			// (A search of an account without a log finds nothing.)
			return db.wrap(err, "select log size")
		}
		// walk names the index hint that makes the engine walk the
		// account's events newest first; "" where the planner needs none.
		walk := sd.walkTime
		if q != nil && len(q.Words) > 0 {
			walk = sd.walkTimeWords
		}
		// The count reads at most bound+1 matches, whatever the search.
		count := func(from string, byText bool) (int64, error) {
			where, args := db.where(accountID, q, byText)
			rows, err := run(tx, ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM `+from+where+` LIMIT ?) c`, append(args, bound+1)...)
			if err != nil {
				return 0, err
			}
			var n int64
			return n, scanOne(rows, &n)
		}
		// A search with words is counted like one without (searchplan.go),
		// the words checked in each row: in its text where the engine
		// can (textWord), else through the full-text match. When the
		// words must match and fewer than one in a hundred of the rows
		// examined did, the word is rare and its full-text index counts
		// it exactly (up to the bound) instead.
		// It also keeps the plan's driver (wordsPlan), whose index can
		// serve the page when the words are checked in each row's text.
		var wordsPlan wordlessPlan
		countWords := func() (int64, bool, error) {
			wp, err := db.planCount(ctx, tx, run, accountID, q, size, bound, -1, sd.textWord != nil)
			if err != nil {
				return 0, false, err
			}
			wordsPlan = wp
			if !wp.inexact || !hasWord(q) || wp.total >= max(1, db.examineBound(bound)/100) {
				return wp.total, wp.inexact, nil
			}
			n, err := count("events e"+sd.wordsFrom, false)
			if err != nil {
				return 0, false, db.wrap(err, "count events")
			}
			return n, false, nil
		}
		// Only excluded words: where the full-text index yields every
		// match in the table, excluding them through it reads all of a
		// common word's matches (3.7 s at a million events on SQLite);
		// the rows the other terms select are read anyway, so their text
		// is checked instead.
		negText := q != nil && len(q.Words) > 0 && !hasWord(q) && sd.textWord != nil
		var total int64
		inexact, pageWalk, keyedText, fromCounts := false, false, false, false
		// pageFrom, when set, is where the page of a search without words
		// is read (its driver's index).
		pageFrom, pageAcct := "", "e.account_id"
		end := int64(p.Offset() + p.PerPage)
		switch {
		case !counted:
			// The log head holds the exact count: no scan needed.
			total = size
			// The page walks the time index, by name: MariaDB, reading
			// a cursor page deep in a big log, chose another plan and
			// took seconds.
			pageFrom = "events e" + sd.hint(timeIndex)
		case len(q.Words) == 0:
			// Counted by rows examined, through the qualifier whose index
			// yields the fewest events (searchplan.go).
			// The analytics counts total a search of their columns and
			// whole hours exactly (searchcounts.go), while they hold only
			// the events the account holds.
			known := int64(-1)
			if pruned == 0 && !db.noTotalsFromCounts {
				n, ok, err := db.countsTotal(ctx, tx, run, accountID, q)
				if err != nil {
					return err
				}
				if ok {
					known, fromCounts = n, true
				}
			}
			wp, err := db.planCount(ctx, tx, run, accountID, q, size, bound, known, false)
			if err != nil {
				return err
			}
			total, inexact, pageFrom, pageAcct = wp.total, wp.inexact, wp.from, wp.acct
			pageWalk = wp.unordered && walk != "" && walkFaster(size, total, inexact, end)
		case hasWord(q) && sd.textWord != nil && walk != "" && db.forceWalk >= 0:
			// An engine whose full-text index yields every match of a
			// word in the table before the account and the other terms
			// narrow them (SQLite's FTS5, InnoDB): the newest events of
			// the account, with the word looked up in their own text,
			// tell how common the match is, and so whether to count and
			// read the page through the index or by walking.
			n := int64(sampleSize)
			if db.sample > 0 {
				n = int64(db.sample)
			}
			n = min(n, size)
			where, args := db.where(accountID, q, true)
			rows, err := run(tx, ctx, `SELECT COUNT(*) FROM (SELECT * FROM events e`+walk+
				` WHERE e.account_id = ? ORDER BY e.created_at DESC, e.seq DESC LIMIT ?) e`+where, append([]any{accountID, n}, args...)...)
			var s int64
			if err == nil {
				err = scanOne(rows, &s)
			}
			if err != nil {
				return db.wrap(err, "sample events")
			}
			if total, inexact, err = countWords(); err != nil {
				return err
			}
			if size <= n {
				// The sample was the whole account.
				pageWalk = true
				break
			}
			if db.forceWalk == 0 && s > 0 && keyed(q) {
				// A qualifier with an index in listing order narrows the
				// rows better than the walk or the word's index: the
				// planner reads it, the word checked in each row's text.
				keyedText = true
				break
			}
			matches := total
			if inexact || total > bound {
				matches = max(s*size/n, total)
			}
			pageWalk = s > 0 && end*n/s < matches
		default:
			if total, inexact, err = countWords(); err != nil {
				return err
			}
			// Matches that the engine cannot read in listing order (an
			// action prefix, a word) are either all read and sorted or
			// found by walking the account's events newest first; the
			// count says which reads less, where the engine's planner
			// cannot tell.
			pageWalk = unordered(q) && walk != "" && walkFaster(size, total, inexact || total > bound, end)
		}
		if (keyedText || negText) && sd.indexHint != nil && wordsPlan.from != "" && !wordsPlan.unordered {
			// The words are checked in each row's text, so nothing needs
			// the full-text index: the page walks the count's driver, as
			// a search without words does. Left to itself, MariaDB walked
			// the account's time index for "-order action:user_login" at
			// a million events (6,126 rows, 17 ms) where the action's
			// index reads 385 (1.5 ms).
			pageFrom, pageAcct = wordsPlan.from, wordsPlan.acct
		}
		if db.forceWalk != 0 {
			pageWalk = db.forceWalk > 0 && walk != ""
		}
		if counted && total > bound && !fromCounts {
			inexact, total = true, bound
		}
		page = &audit.EventPage{Events: []*audit.Event{}, Pagination: audit.NewPagination(p, total)}
		if int64(p.Offset()) >= total && !inexact {
			return nil
		}
		from := "events e"
		if hasWord(q) && !keyedText {
			from += sd.wordsFrom
		}
		if pageFrom != "" {
			from = pageFrom
		}
		if pageWalk {
			from = "events e" + walk
		}
		// Walking with a hint, the words are looked up in each event's
		// text: MySQL refuses MATCH with an index hint, and the walk
		// checks each event it reads anyway.
		acct := pageAcct
		if pageWalk || acct == "" {
			acct = "e.account_id"
		}
		const order = ` ORDER BY e.created_at DESC, e.seq DESC`
		const users = ` LEFT JOIN users u ON u.id = e.user_id AND u.account_id = e.account_id`
		var tail string
		var args []any
		if c, ok := actorOnly(q); ok {
			// The union of the qualifier's indexes, each read newest
			// first up to the page's end; then the page's own rows by
			// the (account_id, seq) key.
			b := &sqlBuilder{}
			union := db.actorUnion(b, accountID, c, "e.account_id, e.created_at, e.seq", p.After, true, end+1)
			tail = ` FROM (SELECT m.account_id, m.seq FROM (` + union + `) m ORDER BY m.created_at DESC, m.seq DESC LIMIT ? OFFSET ?) d` +
				` JOIN events e ON e.account_id = d.account_id AND e.seq = d.seq` + users + order
			args = b.args
		} else {
			var where string
			where, args = db.whereOn(acct, accountID, q, pageWalk || negText || keyedText)
			if p.After != nil {
				// Keyset: the events after the position, in listing order. This
				// form lets every engine range-scan its (account_id, created_at,
				// seq) index; the row-value and plain OR forms were up to 170×
				// slower on SQLite (research/performance-and-reliability.md §3.1).
				b := &sqlBuilder{args: args}
				where += db.after(b, p.After)
				args = b.args
			}
			tail = ` FROM ` + from + users + where + order + ` LIMIT ? OFFSET ?`
			deferAt := deferredOffset
			if db.deferAt > 0 {
				deferAt = db.deferAt
			}
			if p.Offset() >= deferAt {
				// A deep page: skip the earlier matches reading only their
				// positions (account, seq) off the index where it covers the
				// search, then read the page's own rows by the (account_id,
				// seq) key. Every index that yields listing order ends in
				// created_at, seq, so the skipped rows need not be read:
				// PostgreSQL's indexes do not hold the row's id (InnoDB's and
				// SQLite's do), and reading the id visited each skipped row.
				tail = ` FROM (SELECT e.account_id, e.seq FROM ` + from + where + order + ` LIMIT ? OFFSET ?) d JOIN events e ON e.account_id = d.account_id AND e.seq = d.seq` + users + order
			}
		}
		// One row more than the page tells whether another page follows.
		args = append(args, p.PerPage+1, p.Offset())
		// On SQLite each row comes packed into one value (exportrow.go),
		// as exports read them; a page with a row that does not unpack
		// is read again column by column, in the same transaction.
		packed := db.packedReads()
		if packed {
			rows, err := run(tx, ctx, `SELECT `+packedEventUser.column+tail, args...)
			if err != nil {
				return db.wrap(err, "select events")
			}
			page.Events, err = db.scanPacked(rows, &packedEventUser, p.PerPage+1)
			switch {
			case errors.Is(err, errPackedRow):
				db.packedFallbacks.Add(1)
				packed = false
			case err != nil:
				return err
			}
		}
		if !packed {
			rows, err := run(tx, ctx, `SELECT `+eventColumns+`, u.id, u.email, u.first_name, u.last_name, u.role`+tail, args...)
			if err != nil {
				return db.wrap(err, "select events")
			}
			page.Events, err = db.scanEventsWithUser(rows)
			if err != nil {
				return err
			}
		}
		if len(page.Events) > p.PerPage {
			page.Events, page.More = page.Events[:p.PerPage], true
		}
		if inexact {
			// More match than were counted: the page itself says whether
			// another follows, and there are at least as many pages as
			// this one's number.
			pg := &page.Pagination
			pg.TotalInexact, pg.HasNext = true, page.More
			if n := int64(p.Page); p.After == nil && pg.Pages < n {
				pg.Pages = n
			}
			if pg.HasNext && p.After == nil && pg.Pages == int64(p.Page) {
				pg.Pages++
			}
		}
		return nil
	})
	return page, err
}

// after returns the condition, with its arguments added to b, that keeps
// the events after pos in listing order (keyset paging).
func (db *DB) after(b *sqlBuilder, pos *audit.Position) string {
	t := db.t(pos.CreatedAt)
	return " AND e.created_at <= " + b.arg(t) + " AND (e.created_at < " + b.arg(t) + " OR e.seq < " + b.arg(pos.Seq) + ")"
}

// searched reports whether q holds anything beyond the seed's filters
// (query.FromFilter, whose clauses have no position).
func searched(q *query.Query) bool {
	if q == nil {
		return false
	}
	if len(q.Words) > 0 {
		return true
	}
	for _, c := range q.Clauses {
		if c.Pos >= 0 {
			return true
		}
	}
	return false
}

// sampleSize is how many of the account's newest events SearchEvents
// checks to judge how common a word's matches are.
const sampleSize = 1000

// deferredOffset is the offset from which a page is read by a deferred
// join: the positions (seq) of the matches up to the page first, then the
// page's rows.
const deferredOffset = 1000

// walkFaster reports whether walking the account's events newest first is
// cheaper for a page ending at end than reading every match: reading them
// costs about total reads; the walk reads about end × size/total events to
// find a page of them. Past the count's bound (inexact), the matches are
// too many to read.
func walkFaster(size, total int64, inexact bool, end int64) bool {
	if inexact {
		return true
	}
	return total > 0 && end*size/total < total
}

// unordered reports whether q has a word that must match, an action prefix
// or an address range: terms whose matches no index yields in listing
// order.
func unordered(q *query.Query) bool {
	if hasWord(q) {
		return true
	}
	if q == nil {
		return false
	}
	for _, c := range q.Clauses {
		if c.Negated {
			continue
		}
		for _, v := range c.Values {
			if c.Field == query.FieldAction && v.Op == query.OpPrefix || c.Field == query.FieldIP && v.Op == query.OpCIDR {
				return true
			}
		}
	}
	return false
}

// keyed reports whether q has a qualifier that one of the account's
// indexes serves in listing order: one action, user, resource type or ID,
// or address, required.
func keyed(q *query.Query) bool {
	for _, c := range q.Clauses {
		if c.Negated || len(c.Values) != 1 || c.Values[0].Op != query.OpEq {
			continue
		}
		switch c.Field {
		case query.FieldAction, query.FieldUserID, query.FieldResourceType, query.FieldResourceID, query.FieldIP:
			return true
		}
	}
	return false
}

// hasWord reports whether q has a word or phrase that must match (not
// only excluded ones).
func hasWord(q *query.Query) bool {
	if q == nil {
		return false
	}
	for _, w := range q.Words {
		if !w.Negated {
			return true
		}
	}
	return false
}

// scanOne scans the single row of rows into dest and closes rows.
func scanOne(rows *sql.Rows, dest ...any) error {
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// scanEvents reads rows of eventColumns (followed by the columns that
// extra, when set, returns destinations for) into events, and closes rows.
// then, when set, runs after each row is scanned.
func (db *DB) scanEvents(rows *sql.Rows, extra func(e *audit.Event) []any, then func(e *audit.Event)) ([]*audit.Event, error) {
	defer rows.Close()
	events := []*audit.Event{}
	for rows.Next() {
		e := &audit.Event{}
		dest := eventDest(e, 5)
		if extra != nil {
			dest = append(dest, extra(e)...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, db.wrap(err, "scan event")
		}
		if then != nil {
			then(e)
		}
		events = append(events, e)
	}
	return events, db.wrap(rows.Err(), "select events")
}

// scanEventsWithUser reads rows of eventColumns followed by the acting
// user's id, email, first and last name and role (a LEFT JOIN of users)
// into events with Event.User set, and closes rows.
func (db *DB) scanEventsWithUser(rows *sql.Rows) ([]*audit.Event, error) {
	var uID sql.NullInt64
	var email, first, last, role sql.NullString
	return db.scanEvents(rows, func(e *audit.Event) []any {
		return []any{&uID, &email, &first, &last, &role}
	}, func(e *audit.Event) {
		if uID.Valid {
			e.User = &audit.User{ID: uID.Int64, AccountID: e.AccountID, Email: email.String, FirstName: first.String, LastName: last.String, Role: audit.Role(role.String)}
		}
	})
}

// event returns the account's event with the given ID.
func (db *DB) event(ctx context.Context, q runner, accountID, id int64) (*audit.Event, error) {
	e := &audit.Event{}
	err := q.queryRow(ctx, `SELECT `+eventColumns+` FROM events e WHERE e.account_id = ? AND e.id = ?`, accountID, id).Scan(eventDest(e, 0)...)
	if err != nil {
		return nil, db.wrap(err, "select event")
	}
	return e, nil
}

// Event returns the account's event with the given ID, or audit.ErrNotFound.
func (db *DB) Event(ctx context.Context, accountID, id int64) (*audit.Event, error) {
	return db.event(ctx, db.rd, accountID, id)
}
