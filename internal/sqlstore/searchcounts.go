package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/auditlog/auditlog/internal/query"
)

// A search made only of terms that the analytics counts (event_counts,
// analytics.go) can answer takes its total from them: exact, from a few
// rows per hour, day or month of its range, however many events match.
// Those terms are action:, resource_type:, resource: without an ID and
// outcome: (each with several values, a prefix or negated), and time
// ranges of whole hours (the seed's start_date and end_date of whole days,
// created:2026-01-01..2026-01-31). Only the page is then read from the
// events. The counts hold every event the account ever recorded, so an
// account that retention has pruned is counted the usual way (searchplan.go).

// countsEnd is past any time an event is recorded at: the end of a time
// range without one.
var countsEnd = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)

// countsSpans returns the spans of event_counts buckets that cover the
// time range of q, and whether the counts can total q at all: q has no
// words, and each of its terms is one that event_counts has a column for,
// or a time range of whole hours. An empty range gives no spans (a total
// of 0).
func countsSpans(q *query.Query) ([]span, bool) {
	if q == nil || len(q.Words) > 0 || len(q.Clauses) == 0 {
		return nil, false
	}
	start, end := earliestTime, countsEnd
	for _, c := range q.Clauses {
		if len(c.Values) == 0 {
			return nil, false
		}
		switch c.Field {
		case query.FieldAction, query.FieldResourceType, query.FieldOutcome:
		case query.FieldResource:
			for _, v := range c.Values {
				if v.ID != "" {
					return nil, false
				}
			}
		case query.FieldCreated:
			if c.Negated || len(c.Values) != 1 {
				return nil, false
			}
			// The inclusive bounds as createdRange reads them, made a
			// half-open range of whole hours, or no total.
			v := c.Values[0]
			if !v.Since.IsZero() && !v.Since.Before(earliestTime) {
				if !v.Since.Equal(v.Since.Truncate(time.Hour)) {
					return nil, false
				}
				start = later(start, v.Since.UTC())
			}
			if !v.Until.IsZero() {
				u := v.Until.Add(time.Microsecond)
				if !u.After(earliestTime) || !u.Equal(u.Truncate(time.Hour)) {
					return nil, false
				}
				if u.Before(end) {
					end = u.UTC()
				}
			}
		default:
			return nil, false
		}
	}
	if !start.Before(end) {
		return nil, true
	}
	return cover(start, end, GrainMonth), true
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// countsTotal returns the number of the account's events that match q,
// summed from event_counts, and whether the counts could answer q
// (countsSpans). The terms other than time are compiled by the search's
// own clause builder (clause), on event_counts' columns of the same
// names, so the counts select exactly the rows the search selects.
func (db *DB) countsTotal(ctx context.Context, tx runner, run func(r runner, ctx context.Context, query string, args ...any) (*sql.Rows, error),
	accountID int64, q *query.Query) (int64, bool, error) {
	spans, ok := countsSpans(q)
	if !ok {
		return 0, false, nil
	}
	b := &sqlBuilder{}
	var filter string
	for _, c := range q.Clauses {
		if c.Field == query.FieldCreated {
			continue
		}
		cond := "(" + db.clause(b, accountID, c) + ")"
		if c.Negated {
			cond = "(" + cond + " IS NOT TRUE)"
		}
		filter += " AND " + cond
	}
	// Each span is summed on its own: MariaDB merged a single span's plain
	// SELECT into the outer SUM and failed the prepared statement's second
	// run with error 1140 ("Mixing of GROUP columns … with no GROUP
	// columns", ONLY_FULL_GROUP_BY); a derived table with an aggregate is
	// not merged. SUM of no rows is NULL.
	from, args := countsFrom(accountID, "SUM(n) AS n", spans, filter, b.args)
	rows, err := run(tx, ctx, `SELECT SUM(n) FROM `+from, args...)
	if err != nil {
		return 0, false, db.wrap(err, "count events from counts")
	}
	var n sql.NullInt64
	if err := scanOne(rows, &n); err != nil {
		return 0, false, db.wrap(err, "count events from counts")
	}
	return n.Int64, true, nil
}
