package query

import (
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// FromFilter returns the query that selects what the seed's separate
// parameters select: user_id, action and resource_type as exact matches,
// start_date and end_date as an inclusive created range. Combine it with a
// parsed q by And:
//
//	q, err := query.Parse(r.URL.Query().Get("q"), now)
//	…
//	q = query.FromFilter(f).And(q)
//
// The values are taken as given (the HTTP layer has validated them as it
// always has), so an action the q language would reject still matches
// exactly. Clause positions are -1. Start is rounded up and End down to the
// microsecond.
func FromFilter(f audit.EventFilter) *Query {
	q := &Query{}
	add := func(field Field, v Value) {
		q.Clauses = append(q.Clauses, Clause{Field: field, Values: []Value{v}, Pos: -1})
	}
	if f.UserID != 0 {
		add(FieldUserID, Value{Op: OpEq, Text: strconv.FormatInt(f.UserID, 10), Int: f.UserID})
	}
	if f.Action != "" {
		add(FieldAction, Value{Op: OpEq, Text: f.Action})
	}
	if f.ResourceType != "" {
		add(FieldResourceType, Value{Op: OpEq, Text: f.ResourceType})
	}
	if !f.Start.IsZero() || !f.End.IsZero() {
		v := Value{Op: OpRange, Text: "*", To: "*"}
		if !f.Start.IsZero() {
			v.Since = ceilMicro(f.Start.UTC())
			v.Text = v.Since.Format(time.RFC3339Nano)
		}
		if !f.End.IsZero() {
			v.Until = f.End.UTC().Truncate(time.Microsecond)
			v.To = v.Until.Format(time.RFC3339Nano)
		}
		add(FieldCreated, v)
	}
	return q
}
