package server

import (
	"net/http"
	"net/url"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// parseAnalyticsQuery reads the parameters of GET /api/analytics/*: the
// list's start_date, end_date, action and resource_type, and outcome,
// interval, dimension and limit. The list's filters that the counts cannot
// answer (user_id, q) are a 400 naming the parameter, not ignored: the
// numbers would not be what was asked.
func parseAnalyticsQuery(q url.Values) (app.AnalyticsQuery, error) {
	var a app.AnalyticsQuery
	for _, name := range []string{"user_id", "q"} {
		if q.Has(name) {
			return a, audit.FieldError(name, "%s is not supported by analytics: filter by start_date, end_date, action, resource_type or outcome.", name)
		}
	}
	var err error
	if a.Start, err = timeParam(q, "start_date", false); err != nil {
		return a, err
	}
	if a.Start.IsZero() && q.Get("start_date") != "" {
		a.Start = earliest // before every event: count from the first
	}
	if a.End, err = timeParam(q, "end_date", true); err != nil {
		return a, err
	}
	if !a.Start.IsZero() && !a.End.IsZero() && a.Start.After(a.End) {
		return a, audit.FieldError("start_date", "start_date must not be after end_date.")
	}
	a.Action, a.ResourceType, a.Outcome = q.Get("action"), q.Get("resource_type"), q.Get("outcome")
	for _, c := range []struct{ name, v string }{{"action", a.Action}, {"resource_type", a.ResourceType}} {
		if err := audit.ValidateText(c.name, c.v, audit.MaxFilterLen, false); err != nil {
			return a, err
		}
	}
	a.Interval, a.Dimension = q.Get("interval"), q.Get("dimension")
	if v := q.Get("limit"); v != "" {
		if a.Limit, err = positiveInt("limit", v, app.MaxTopLimit); err != nil {
			return a, audit.FieldError("limit", "limit must be a whole number from 1 to %d.", app.MaxTopLimit)
		}
	}
	return a, nil
}

// AnalyticsRangeJSON is the range a count covered, half-open.
type AnalyticsRangeJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

func rangeJSON(r app.AnalyticsRange) AnalyticsRangeJSON {
	return AnalyticsRangeJSON{Start: formatTime(r.Start), End: formatTime(r.End)}
}

// SummaryJSON is the body of GET /api/analytics/summary.
type SummaryJSON struct {
	AnalyticsRangeJSON
	Total    int64            `json:"total"`
	Outcomes map[string]int64 `json:"outcomes"`
}

// SeriesPointJSON is one point of a series.
type SeriesPointJSON struct {
	Start    string `json:"start"`
	Count    int64  `json:"count"`
	Failures int64  `json:"failures"`
}

// SeriesJSON is the body of GET /api/analytics/timeseries.
type SeriesJSON struct {
	AnalyticsRangeJSON
	Interval string            `json:"interval"`
	Points   []SeriesPointJSON `json:"points"`
}

// TopValueJSON is one value of a top list.
type TopValueJSON struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// TopJSON is the body of GET /api/analytics/top.
type TopJSON struct {
	AnalyticsRangeJSON
	Dimension string         `json:"dimension"`
	Values    []TopValueJSON `json:"values"`
	Total     int64          `json:"total"`
	Other     int64          `json:"other"`
}

// analyticsSummary counts the caller's account's events by outcome.
func (s *Server) analyticsSummary(w http.ResponseWriter, r *http.Request) error {
	q, err := parseAnalyticsQuery(r.URL.Query())
	if err != nil {
		return err
	}
	sum, err := s.app.AnalyticsSummary(r.Context(), principalFrom(r.Context()), q)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, SummaryJSON{
		AnalyticsRangeJSON: rangeJSON(sum.AnalyticsRange), Total: sum.Total,
		Outcomes: map[string]int64{audit.OutcomeSuccess: sum.Success, audit.OutcomeFailure: sum.Failure, "unspecified": sum.Unspecified},
	})
}

// analyticsSeries counts the caller's account's events per interval.
func (s *Server) analyticsSeries(w http.ResponseWriter, r *http.Request) error {
	q, err := parseAnalyticsQuery(r.URL.Query())
	if err != nil {
		return err
	}
	ser, err := s.app.AnalyticsSeries(r.Context(), principalFrom(r.Context()), q)
	if err != nil {
		return err
	}
	out := SeriesJSON{AnalyticsRangeJSON: rangeJSON(ser.AnalyticsRange), Interval: ser.Interval, Points: make([]SeriesPointJSON, len(ser.Points))}
	for i, p := range ser.Points {
		out.Points[i] = SeriesPointJSON{Start: formatTime(p.Start), Count: p.Count, Failures: p.Failures}
	}
	return writeJSON(w, http.StatusOK, out)
}

// analyticsTop lists the values of a dimension with the most events.
func (s *Server) analyticsTop(w http.ResponseWriter, r *http.Request) error {
	q, err := parseAnalyticsQuery(r.URL.Query())
	if err != nil {
		return err
	}
	top, err := s.app.AnalyticsTop(r.Context(), principalFrom(r.Context()), q)
	if err != nil {
		return err
	}
	out := TopJSON{AnalyticsRangeJSON: rangeJSON(top.AnalyticsRange), Dimension: top.Dimension, Values: make([]TopValueJSON, len(top.Values)), Total: top.Total, Other: top.Other}
	for i, v := range top.Values {
		out.Values[i] = TopValueJSON{Value: v.Value, Count: v.Count}
	}
	return writeJSON(w, http.StatusOK, out)
}
