package query

import "time"

// CreatedBounds returns the narrowest inclusive span of created_at that
// every event matching q lies in, as far as its created clauses tell: the
// intersection over the clauses that are not negated of the span each
// covers (from the earliest Since of its values to the latest Until). A
// zero time means no bound. The store can use it to pick an index or to
// bound a scan, and must still apply every clause.
func (q *Query) CreatedBounds() (since, until time.Time) {
	if q == nil {
		return since, until
	}
	for _, c := range q.Clauses {
		if c.Field != FieldCreated || c.Negated || len(c.Values) == 0 {
			continue
		}
		lo, hi := c.Values[0].Since, c.Values[0].Until
		for _, v := range c.Values[1:] {
			if lo.IsZero() || v.Since.IsZero() {
				lo = time.Time{}
			} else if v.Since.Before(lo) {
				lo = v.Since
			}
			if hi.IsZero() || v.Until.IsZero() {
				hi = time.Time{}
			} else if v.Until.After(hi) {
				hi = v.Until
			}
		}
		if !lo.IsZero() && (since.IsZero() || lo.After(since)) {
			since = lo
		}
		if !hi.IsZero() && (until.IsZero() || hi.Before(until)) {
			until = hi
		}
	}
	return since, until
}
