package app

import (
	"context"
	"fmt"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Analytics answers from the counts the write path keeps beside the log
// (sqlstore's event_counts, docs/analytics.md), never from the events: a
// query reads a few thousand rows however long the log is. The counts are
// per hour, so a range is widened to whole hours; the per-actor and
// per-address counts are per day, so their range is widened to whole days.
// Both widened ranges are reported back.

// Analytics limits and defaults.
const (
	// DefaultAnalyticsRange is the range counted when no start is given:
	// the 30 days up to the end.
	DefaultAnalyticsRange = 30 * 24 * time.Hour
	// MaxSeriesPoints bounds the points of one series.
	MaxSeriesPoints = 1000
	// DefaultTopLimit and MaxTopLimit bound the values a top list returns.
	DefaultTopLimit = 10
	MaxTopLimit     = 100
)

// Intervals of a series.
const (
	IntervalHour  = "hour"
	IntervalDay   = "day"
	IntervalWeek  = "week"
	IntervalMonth = "month"
)

// Dimensions of a top list: the first three combine with every filter,
// the last two (counted per day) with none.
var TopDimensions = []string{sqlstore.DimAction, sqlstore.DimResourceType, sqlstore.DimOutcome, sqlstore.DimActor, sqlstore.DimIP}

// AnalyticsQuery asks for counts of an account's events.
type AnalyticsQuery struct {
	// Start and End bound the range, both inclusive, as the list's
	// start_date and end_date. Zero End is now; zero Start is
	// DefaultAnalyticsRange before End.
	Start, End time.Time
	// Action, ResourceType and Outcome (OutcomeSuccess or
	// OutcomeFailure), when not "", count only events with that value.
	Action, ResourceType, Outcome string
	// Interval is a series' bucket: IntervalHour, IntervalDay (the
	// default), IntervalWeek or IntervalMonth.
	Interval string
	// Dimension is what a top list counts by (one of TopDimensions;
	// default action), and Limit how many values it returns (default
	// DefaultTopLimit, at most MaxTopLimit).
	Dimension string
	Limit     int
}

// AnalyticsRange is the range a count covered: half-open, UTC, whole hours
// (whole days for the per-actor and per-address counts).
type AnalyticsRange struct {
	Start, End time.Time
}

// Summary counts the events in a range, by outcome.
type Summary struct {
	AnalyticsRange
	Total, Success, Failure, Unspecified int64
}

// SeriesPoint is one interval of a series: Start is the interval's start
// (a week starts on Monday, UTC), even when the range starts later.
type SeriesPoint struct {
	Start           time.Time
	Count, Failures int64
}

// Series counts the events in a range per interval, oldest first, with a
// point for every interval, empty ones included.
type Series struct {
	AnalyticsRange
	Interval string
	Points   []SeriesPoint
}

// TopValue is one value of a top list and its count.
type TopValue struct {
	Value string
	Count int64
}

// Top lists the values of a dimension with the most events in a range.
// Total counts every event in the range that has a value of the dimension
// (events without an actor or an address count in no actor's or address's
// total); Other is Total less the values listed.
type Top struct {
	AnalyticsRange
	Dimension    string
	Values       []TopValue
	Total, Other int64
}

// filter checks q's filters and resolves its range to whole hours.
func (a *App) analyticsFilter(q AnalyticsQuery) (sqlstore.CountFilter, error) {
	f := sqlstore.CountFilter{Action: q.Action, ResourceType: q.ResourceType, Outcome: q.Outcome, MaxGrain: sqlstore.GrainMonth}
	switch q.Outcome {
	case "", audit.OutcomeSuccess, audit.OutcomeFailure:
	default:
		return f, audit.FieldError("outcome", "outcome must be %s or %s.", audit.OutcomeSuccess, audit.OutcomeFailure)
	}
	end := q.End
	if end.IsZero() {
		end = a.now()
	}
	// The end is inclusive: the hour that holds it is counted whole.
	f.End = sqlstore.GrainHour.Ceil(end.UTC().Add(time.Microsecond))
	if q.Start.IsZero() {
		f.Start = f.End.Add(-DefaultAnalyticsRange)
	} else {
		f.Start = sqlstore.GrainHour.Floor(q.Start)
	}
	if !f.Start.Before(f.End) {
		return f, audit.FieldError("start_date", "start_date must be before end_date (by default, now).")
	}
	return f, nil
}

// AnalyticsSummary counts p's account's events that match q, by outcome.
func (a *App) AnalyticsSummary(ctx context.Context, p *Principal, q AnalyticsQuery) (*Summary, error) {
	if err := p.Authorize(audit.PermViewAuditLogs); err != nil {
		return nil, err
	}
	f, err := a.analyticsFilter(q)
	if err != nil {
		return nil, err
	}
	top, total, err := a.store.CountTop(ctx, p.AccountID, f, sqlstore.DimOutcome, 10)
	if err != nil {
		return nil, err
	}
	s := &Summary{AnalyticsRange: AnalyticsRange{f.Start, f.End}, Total: total}
	for _, k := range top {
		switch k.Key {
		case audit.OutcomeSuccess:
			s.Success = k.Count
		case audit.OutcomeFailure:
			s.Failure = k.Count
		default:
			s.Unspecified += k.Count
		}
	}
	return s, nil
}

// AnalyticsSeries counts p's account's events that match q per interval.
func (a *App) AnalyticsSeries(ctx context.Context, p *Principal, q AnalyticsQuery) (*Series, error) {
	if err := p.Authorize(audit.PermViewAuditLogs); err != nil {
		return nil, err
	}
	if q.Interval == "" {
		q.Interval = IntervalDay
	}
	var floor func(time.Time) time.Time
	var next func(time.Time) time.Time
	switch q.Interval {
	case IntervalHour:
		floor, next = sqlstore.GrainHour.Floor, sqlstore.GrainHour.Next
	case IntervalDay:
		floor, next = sqlstore.GrainDay.Floor, sqlstore.GrainDay.Next
	case IntervalWeek:
		floor = func(t time.Time) time.Time {
			d := sqlstore.GrainDay.Floor(t)
			return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) // back to Monday
		}
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }
	case IntervalMonth:
		floor, next = sqlstore.GrainMonth.Floor, sqlstore.GrainMonth.Next
	default:
		return nil, audit.FieldError("interval", "interval must be %s, %s, %s or %s.", IntervalHour, IntervalDay, IntervalWeek, IntervalMonth)
	}
	f, err := a.analyticsFilter(q)
	if err != nil {
		return nil, err
	}
	s := &Series{AnalyticsRange: AnalyticsRange{f.Start, f.End}, Interval: q.Interval}
	index := map[time.Time]int{}
	for t := floor(f.Start); t.Before(f.End); t = next(t) {
		if len(s.Points) == MaxSeriesPoints {
			return nil, audit.FieldError("interval", "the range holds more than %d intervals of a %s: choose a longer interval or a shorter range.", MaxSeriesPoints, q.Interval)
		}
		index[t] = len(s.Points)
		s.Points = append(s.Points, SeriesPoint{Start: t})
	}
	// No bucket read may be wider than a point.
	switch q.Interval {
	case IntervalHour:
		f.MaxGrain = sqlstore.GrainHour
	case IntervalDay, IntervalWeek:
		f.MaxGrain = sqlstore.GrainDay
	}
	buckets, err := a.store.CountSeries(ctx, p.AccountID, f)
	if err != nil {
		return nil, err
	}
	for _, b := range buckets {
		i, ok := index[floor(b.Start)]
		if !ok {
			return nil, fmt.Errorf("app: bucket %s outside the series %s..%s", b.Start, f.Start, f.End)
		}
		s.Points[i].Count += b.Count
		s.Points[i].Failures += b.Failures
	}
	return s, nil
}

// AnalyticsTop lists the values of q.Dimension with the most of p's
// account's events that match q. The per-actor and per-address counts
// take no action, resource_type or outcome filter, and count whole days.
func (a *App) AnalyticsTop(ctx context.Context, p *Principal, q AnalyticsQuery) (*Top, error) {
	if err := p.Authorize(audit.PermViewAuditLogs); err != nil {
		return nil, err
	}
	if q.Dimension == "" {
		q.Dimension = sqlstore.DimAction
	}
	known := false
	for _, d := range TopDimensions {
		known = known || d == q.Dimension
	}
	if !known {
		return nil, audit.FieldError("dimension", "dimension must be one of action, resource_type, outcome, actor or ip_address.")
	}
	if q.Limit == 0 {
		q.Limit = DefaultTopLimit
	}
	if q.Limit < 1 || q.Limit > MaxTopLimit {
		return nil, audit.FieldError("limit", "limit must be a whole number from 1 to %d.", MaxTopLimit)
	}
	f, err := a.analyticsFilter(q)
	if err != nil {
		return nil, err
	}
	r := AnalyticsRange{f.Start, f.End}
	if sqlstore.IsPartyDimension(q.Dimension) {
		for _, c := range []struct{ field, v string }{{"action", q.Action}, {"resource_type", q.ResourceType}, {"outcome", q.Outcome}} {
			if c.v != "" {
				return nil, audit.FieldError(c.field, "%s cannot be combined with dimension=%s: events are counted by %s per day only.", c.field, q.Dimension, q.Dimension)
			}
		}
		r = AnalyticsRange{sqlstore.GrainDay.Floor(f.Start), sqlstore.GrainDay.Ceil(f.End)}
	}
	top, total, err := a.store.CountTop(ctx, p.AccountID, f, q.Dimension, q.Limit)
	if err != nil {
		return nil, err
	}
	t := &Top{AnalyticsRange: r, Dimension: q.Dimension, Values: make([]TopValue, len(top)), Total: total, Other: total}
	for i, k := range top {
		t.Values[i] = TopValue{Value: k.Key, Count: k.Count}
		t.Other -= k.Count
	}
	return t, nil
}
