package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// dashRange is a date range of the dashboard: the last Span, counted per
// Interval. Each is also one of the explorer's presets, so that every
// number links to the events it counts.
type dashRange struct {
	Name, Label, Interval string
	Span                  time.Duration
}

// dashRanges are the dashboard's ranges; the first is the default.
var dashRanges = []dashRange{
	{"7d", "Last 7 days", app.IntervalDay, 7 * 24 * time.Hour},
	{"24h", "Last 24 hours", app.IntervalHour, 24 * time.Hour},
	{"30d", "Last 30 days", app.IntervalDay, 30 * 24 * time.Hour},
}

// dashTop is how many values each top list shows.
const dashTop = 8

// dashboardView is the body of the dashboard.
type dashboardView struct {
	Ranges  []dashRange
	Range   dashRange
	Start   time.Time // the range counted, half-open, whole hours (UTC)
	End     time.Time
	Summary *app.Summary
	// Events is every event per interval; Logins the failed sign-ins.
	Events, Logins chart
	// Actions, Actors and Failures (failed events by resource type) are
	// top lists.
	Actions, Actors, Failures topList
	// EventsURL lists the range's events in the explorer.
	EventsURL string
}

// chart is a bar chart of a series, laid out for an SVG 100 units high
// and Width wide, with its numbers for the table beside it.
type chart struct {
	ID, Title string
	Width     int
	Max       int64 // the value of the top grid line
	Total     int64
	Bars      []bar
	// Ticks label the time axis: the first, middle and last bar.
	Ticks []tick
	// HourLabels: the points are hours, not days.
	HourLabels bool
}

// bar is one point of a chart: its rectangle (Y and H for the count, FY
// and FH for its failures) and its numbers.
type bar struct {
	X, W, Y, H, FY, FH float64
	Start              time.Time
	Count, Failures    int64
	URL                string // the interval's events in the explorer
}

// tick is a label of the time axis.
type tick struct {
	X     float64
	Label string
}

// topList is a ranked list of values with their counts, each linking to
// its events.
type topList struct {
	ID, Title, Dimension string
	Empty                string // said when there is nothing to list
	Rows                 []topRow
	Total, Other         int64
}

// topRow is one value of a top list; W is its bar's width out of 100.
type topRow struct {
	Value string
	Count int64
	W     float64
	URL   string
}

// chart geometry, in SVG units.
const (
	chartWidth  = 720
	chartHeight = 100
)

// dashboard shows counts of the account's events over a range: events
// over time, failed sign-ins, top actions and actors, and failures by
// resource type, as SVG charts with the numbers in tables, from the
// analytics counts (app.AnalyticsSummary, AnalyticsSeries, AnalyticsTop).
func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	ctx := r.Context()
	v := dashboardView{Ranges: dashRanges, Range: dashRanges[0]}
	if name := r.URL.Query().Get("range"); name != "" {
		found := false
		for _, dr := range dashRanges {
			if dr.Name == name {
				v.Range, found = dr, true
			}
		}
		if !found {
			return audit.FieldError("range", "Choose a date range from the list.")
		}
	}
	now := c.now()
	q := app.AnalyticsQuery{Start: now.Add(-v.Range.Span), End: now, Interval: v.Range.Interval}
	sum, err := c.app.AnalyticsSummary(ctx, p, q)
	if err != nil {
		return err
	}
	v.Summary, v.Start, v.End = sum, sum.Start, sum.End
	// Every link lists the range's events: the explorer's preset of the
	// same name, its start pinned to the dashboard's.
	link := func(params url.Values) string {
		params.Set("range", v.Range.Name)
		params.Set("since", v.Start.Format(timeLayout))
		return "/events?" + params.Encode()
	}
	v.EventsURL = link(url.Values{})

	series, err := c.app.AnalyticsSeries(ctx, p, q)
	if err != nil {
		return err
	}
	v.Events = newChart("events-chart", "Events", series)
	lq := q
	lq.Action = audit.ActionLoginFailed
	logins, err := c.app.AnalyticsSeries(ctx, p, lq)
	if err != nil {
		return err
	}
	v.Logins = newChart("logins-chart", "Failed sign-ins", logins)

	top := func(id, title, dim, outcome, empty string, url func(value string) string) (topList, error) {
		tq := q
		tq.Dimension, tq.Outcome, tq.Limit = dim, outcome, dashTop
		t, err := c.app.AnalyticsTop(ctx, p, tq)
		if err != nil {
			return topList{}, err
		}
		l := topList{ID: id, Title: title, Dimension: dim, Empty: empty, Total: t.Total, Other: t.Other}
		var most int64 = 1
		for _, tv := range t.Values {
			most = max(most, tv.Count)
		}
		for _, tv := range t.Values {
			l.Rows = append(l.Rows, topRow{Value: tv.Value, Count: tv.Count, W: round1(100 * float64(tv.Count) / float64(most)), URL: url(tv.Value)})
		}
		return l, nil
	}
	if v.Actions, err = top("top-actions", "Top actions", sqlstore.DimAction, "", "No events in this range.", func(a string) string {
		return link(url.Values{"action": {a}})
	}); err != nil {
		return err
	}
	if v.Actors, err = top("top-actors", "Top actors", sqlstore.DimActor, "", "No events with a named actor in this range.", func(a string) string {
		return link(url.Values{"q": {query.Clause{Field: query.FieldActor, Values: []query.Value{{Op: query.OpEq, Text: a}}}.String()}})
	}); err != nil {
		return err
	}
	if v.Failures, err = top("failures", "Failures by resource type", sqlstore.DimResourceType, audit.OutcomeFailure, "No failed events in this range.", func(rt string) string {
		params := url.Values{"q": {"outcome:failure"}}
		if rt != "" {
			params.Set("resource_type", rt)
		}
		return link(params)
	}); err != nil {
		return err
	}
	for i := range v.Events.Bars {
		b := &v.Events.Bars[i]
		b.URL = "/events?" + url.Values{"range": {"custom"}, "start": {b.Start.Format("2006-01-02")}, "end": {b.Start.Format("2006-01-02")}}.Encode()
	}
	c.render(w, r, http.StatusOK, "dashboard", view{Title: "Dashboard", Principal: p, Active: "/dashboard", Body: v})
	return nil
}

// newChart lays out a series as bars.
func newChart(id, title string, s *app.Series) chart {
	ch := chart{ID: id, Title: title, Width: chartWidth, HourLabels: s.Interval == app.IntervalHour}
	var most int64
	for _, p := range s.Points {
		most = max(most, p.Count)
		ch.Total += p.Count
	}
	ch.Max = niceCeil(most)
	n := len(s.Points)
	if n == 0 {
		return ch
	}
	slot := float64(chartWidth) / float64(n)
	gap := min(slot*0.2, 4)
	y := func(v int64) float64 { return round1(float64(chartHeight) * float64(v) / float64(ch.Max)) }
	for i, p := range s.Points {
		h, fh := y(p.Count), y(p.Failures)
		if p.Count > 0 && h < 1 {
			h = 1 // a bar of a few events stays visible
		}
		ch.Bars = append(ch.Bars, bar{
			X: round1(float64(i)*slot + gap/2), W: round1(slot - gap),
			Y: round1(chartHeight - h), H: h, FY: round1(chartHeight - fh), FH: fh,
			Start: p.Start, Count: p.Count, Failures: p.Failures,
		})
	}
	label := func(t time.Time) string {
		if ch.HourLabels {
			return t.Format("Jan 2 15:04")
		}
		return t.Format("Jan 2")
	}
	for _, i := range []int{0, n / 2, n - 1} {
		if len(ch.Ticks) > 0 && ch.Ticks[len(ch.Ticks)-1].Label == label(s.Points[i].Start) {
			continue
		}
		ch.Ticks = append(ch.Ticks, tick{X: round1(float64(i)*slot + slot/2), Label: label(s.Points[i].Start)})
	}
	return ch
}

// niceCeil returns the smallest of 1, 2 and 5 times a power of ten that is
// at least v (and at least 1): the top of a chart's scale.
func niceCeil(v int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= v {
				return m * p
			}
		}
	}
}

// round1 rounds to one decimal: SVG coordinates need no more.
func round1(f float64) float64 {
	n, _ := strconv.ParseFloat(fmt.Sprintf("%.1f", f), 64)
	return n
}
