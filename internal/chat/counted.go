package chat

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/app"
)

// A top list or a series is answered from the analytics counts (the
// calls behind /api/analytics/top and /api/analytics/timeseries), exact
// however many events match, when the analytics can count what the plan
// asks: at most one action, a resource type and an outcome (none of them
// for a top list of actors), no actor, user, resource ID, address or free
// words, and a span that starts on a whole hour (a whole UTC day for
// actors, which are counted per day). Otherwise the answer counts the
// newest MaxScan matching events, and says so when there are more.

// countedQuery returns the analytics query of plan for a top list (dim
// "action" or "actor") or a series (dim ""), and whether the analytics
// count exactly what the plan asks.
func countedQuery(plan *Plan, dim string, now time.Time) (app.AnalyticsQuery, bool) {
	var q app.AnalyticsQuery
	if plan.Kind == KindModel || plan.Actor != "" || plan.UserID != 0 || plan.ResourceID != "" || plan.IP != "" || len(plan.Words) > 0 || len(plan.Actions) > 1 {
		return q, false
	}
	if len(plan.Actions) == 1 {
		q.Action = plan.Actions[0]
	}
	q.ResourceType, q.Outcome = plan.ResourceType, plan.Outcome
	if dim == "actor" && (q.Action != "" || q.ResourceType != "" || q.Outcome != "") {
		return q, false
	}
	since, until := plan.Time.bounds(now)
	switch {
	case until.IsZero() || until.After(now):
		q.End = now // nothing is counted after now: the last hour or day counted whole adds nothing
	default:
		q.End = until.Add(-time.Microsecond) // the analytics' end is inclusive
		if !until.Equal(until.Truncate(time.Hour)) || (dim == "actor" && !until.Equal(until.Truncate(24*time.Hour))) {
			return q, false
		}
	}
	switch {
	case since.IsZero() && dim == "":
		return q, false // a series needs a start
	case since.IsZero():
		q.Start = time.Unix(0, 0).UTC() // all time
	case !since.Equal(since.Truncate(time.Hour)), dim == "actor" && !since.Equal(since.Truncate(24*time.Hour)):
		return q, false
	default:
		q.Start = since
	}
	if !q.Start.Before(q.End) {
		return q, false
	}
	q.Dimension = dim
	return q, true
}

// countedTop answers a top list from the analytics counts; ok is false
// when they cannot count what plan asks.
func countedTop(ctx context.Context, r Reader, p *app.Principal, plan *Plan, a *Answer, now time.Time) (bool, error) {
	dim := "actor"
	if plan.Dimension == "action" {
		dim = "action"
	}
	q, ok := countedQuery(plan, dim, now)
	if !ok {
		return false, nil
	}
	q.Limit = min(max(plan.Limit, 1), app.MaxTopLimit)
	top, err := r.AnalyticsTop(ctx, p, q)
	if err != nil {
		return true, fmt.Errorf("chat: top %s: %w", dim, err)
	}
	if top.Total == 0 {
		a.Text = "No matching events" + scope(plan) + "."
		return true, nil
	}
	var parts []string
	for i, v := range top.Values {
		parts = append(parts, fmt.Sprintf("%d. %s: %s", i+1, v.Value, nOf(int(v.Count), "event")))
		if len(a.Events) < MaxCited {
			l, err := list(ctx, r, p, strings.TrimSpace(dim+":"+quoteValue(v.Value)+" "+plan.Search()), 1, "")
			if err != nil {
				return true, err
			}
			a.Events = append(a.Events, l.Events...)
		}
	}
	a.Text = topText(plan, int(top.Total), "", parts)
	return true, nil
}

// countedSeries answers a series from the analytics counts, per interval
// of the asker's zone: directly when the zone is UTC over the span, else
// from hourly counts (at most app.MaxSeriesPoints hours, in a zone whose
// offset is whole hours); ok is false when they cannot.
func countedSeries(ctx context.Context, r Reader, p *app.Principal, plan *Plan, a *Answer, now time.Time, loc *time.Location, bucket func(time.Time) time.Time) (bool, error) {
	q, ok := countedQuery(plan, "", now)
	if !ok {
		return false, nil
	}
	_, offStart := q.Start.In(loc).Zone()
	_, offEnd := q.End.In(loc).Zone()
	switch {
	case offStart == 0 && offEnd == 0 && (loc == time.UTC || loc.String() == "UTC" || loc.String() == "Etc/UTC"):
		q.Interval = plan.Interval
	case offStart%3600 == 0 && offEnd%3600 == 0 && q.End.Sub(q.Start) <= app.MaxSeriesPoints*time.Hour:
		q.Interval = app.IntervalHour
	default:
		return false, nil
	}
	s, err := r.AnalyticsSeries(ctx, p, q)
	if err != nil {
		return true, fmt.Errorf("chat: series: %w", err)
	}
	counts := map[time.Time]int64{}
	var keys []time.Time
	var n int64
	for _, pt := range s.Points {
		if pt.Count == 0 {
			continue
		}
		k := bucket(pt.Start)
		if _, ok := counts[k]; !ok {
			keys = append(keys, k)
		}
		counts[k] += pt.Count
		n += pt.Count
	}
	if n == 0 {
		a.Text = "No matching events" + scope(plan) + "."
		return true, nil
	}
	slices.SortFunc(keys, func(x, y time.Time) int { return x.Compare(y) })
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = fmt.Sprintf("- %s: %d", k.In(loc).Format(seriesLayout[plan.Interval]), counts[k])
	}
	l, err := list(ctx, r, p, plan.Search(), MaxCited, "")
	if err != nil {
		return true, err
	}
	a.Events = l.Events
	a.Text = seriesText(plan, int(n), loc, "", lines)
	return true, nil
}

// seriesLayout formats an interval's start in a series' answer.
var seriesLayout = map[string]string{"hour": "Mon 2 Jan 15:00", "day": "Mon 2 Jan 2006", "week": "week of Mon 2 Jan 2006", "month": "January 2006"}
