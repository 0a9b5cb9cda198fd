package app

import (
	"net/url"
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// Paging defaults and limits of GET /api/audit-logs, as the seed documents.
const (
	defaultPerPage = 50
	// MaxPerPage caps per_page.
	MaxPerPage = 100
)

// ParseEventFilter reads the seed's query parameters: page, per_page (capped
// at MaxPerPage), user_id, action, resource_type, start_date and end_date
// (ISO 8601 date or date-time, both inclusive). Unknown parameters are
// ignored; a bad value is a 400 naming the parameter.
func ParseEventFilter(q url.Values) (audit.EventFilter, audit.PageRequest, error) {
	var f audit.EventFilter
	p := audit.PageRequest{Page: 1, PerPage: defaultPerPage}
	var err error
	if v := q.Get("page"); v != "" {
		if p.Page, err = PositiveInt("page", v, 1<<30); err != nil {
			return f, p, err
		}
	}
	if v := q.Get("per_page"); v != "" {
		if p.PerPage, err = PositiveInt("per_page", v, 1<<30); err != nil {
			return f, p, err
		}
		p.PerPage = min(p.PerPage, MaxPerPage)
	}
	if v := q.Get("user_id"); v != "" {
		id, err := PositiveInt("user_id", v, 1<<62)
		if err != nil {
			return f, p, err
		}
		f.UserID = int64(id)
	}
	f.Action, f.ResourceType = q.Get("action"), q.Get("resource_type")
	if err := audit.ValidateText("action", f.Action, audit.MaxFilterLen, false); err != nil {
		return f, p, err
	}
	if err := audit.ValidateText("resource_type", f.ResourceType, audit.MaxFilterLen, false); err != nil {
		return f, p, err
	}
	if f.Start, err = TimeParam(q, "start_date", false); err != nil {
		return f, p, err
	}
	if f.End, err = TimeParam(q, "end_date", true); err != nil {
		return f, p, err
	}
	if !f.Start.IsZero() && !f.End.IsZero() && f.Start.After(f.End) {
		return f, p, audit.FieldError("start_date", "start_date must not be after end_date.")
	}
	return f, p, nil
}

// PositiveInt parses the parameter name's value v, a positive whole number
// (CanonicalID) of at most limit; else a 400 naming the parameter.
func PositiveInt(name, v string, limit int) (int, error) {
	n, ok := CanonicalID(v)
	if !ok || n > int64(limit) {
		return 0, audit.FieldError(name, "%s must be a positive whole number.", name)
	}
	return int(n), nil
}

// TimeParam parses the optional date or date-time parameter name. Stored times
// have microsecond precision, so a lower bound is rounded up and an upper
// bound down to the microsecond.
func TimeParam(q url.Values, name string, end bool) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := audit.ParseTimeBound(v, end)
	if err != nil {
		return time.Time{}, audit.FieldError(name, "%s must be an ISO 8601 date (2024-01-31) or date-time (2024-01-31T12:00:00Z).", name)
	}
	if tr := t.Truncate(time.Microsecond); !end && tr.Before(t) {
		t = tr.Add(time.Microsecond)
	} else {
		t = tr
	}
	switch {
	case t.Year() > 9999:
		return time.Time{}, audit.FieldError(name, "%s must be before the year 10000.", name)
	case t.Before(Earliest) && end:
		// Nothing was recorded before the service existed: an end this
		// early matches nothing, on every engine.
		return Earliest.Add(-time.Microsecond), nil
	case t.Before(Earliest):
		return time.Time{}, nil // every event is after it: no lower bound
	}
	return t, nil
}

// Earliest is the Unix epoch: every recorded time is after it, and every
// engine stores the instants from it to the end of year 9999 (MariaDB's
// DATETIME starts at year 1000). Bounds before it are clamped to it.
var Earliest = time.Unix(0, 0).UTC()

// CanonicalID parses a positive whole number written the one way the API
// writes it: decimal digits without a sign or leading zeros. "01", "+1"
// and " 1" name nothing, so that each resource has exactly one URL.
func CanonicalID(s string) (int64, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
