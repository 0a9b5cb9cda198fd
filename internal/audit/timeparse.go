package audit

import (
	"fmt"
	"strings"
	"time"
)

// dateTimeLayouts are the ISO 8601 forms accepted for date-time filters.
// Forms without a zone are taken as UTC.
var dateTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04Z0700",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// ParseTimeBound parses an ISO 8601 date (2024-01-31) or date-time
// (2024-01-31T12:00:00Z, with or without zone and fraction). A bare date used
// as an upper bound (end true) means the last microsecond of that day, so that
// both ends of a date range are inclusive.
func ParseTimeBound(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1).Add(-time.Microsecond)
		}
		return t.UTC(), nil
	}
	// ISO 8601 allows lower-case designators; Go's layouts want upper case.
	s = strings.ToUpper(s)
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO 8601 date or date-time: %q", s)
}
