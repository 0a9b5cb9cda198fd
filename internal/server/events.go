package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// Paging defaults and limits of GET /api/audit-logs, as the seed documents.
const (
	defaultPerPage = 50
	maxPerPage     = 100
)

// parseEventQuery reads the seed's query parameters: page, per_page (capped
// at maxPerPage), user_id, action, resource_type, start_date and end_date
// (ISO 8601 date or date-time, both inclusive). Unknown parameters are
// ignored; a bad value is a 400 naming the parameter.
func parseEventQuery(q url.Values) (audit.EventFilter, audit.PageRequest, error) {
	var f audit.EventFilter
	p := audit.PageRequest{Page: 1, PerPage: defaultPerPage}
	var err error
	if v := q.Get("page"); v != "" {
		if p.Page, err = positiveInt("page", v, 1<<30); err != nil {
			return f, p, err
		}
	}
	if v := q.Get("per_page"); v != "" {
		if p.PerPage, err = positiveInt("per_page", v, 1<<30); err != nil {
			return f, p, err
		}
		p.PerPage = min(p.PerPage, maxPerPage)
	}
	if v := q.Get("user_id"); v != "" {
		id, err := positiveInt("user_id", v, 1<<62)
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
	if f.Start, err = timeParam(q, "start_date", false); err != nil {
		return f, p, err
	}
	if f.End, err = timeParam(q, "end_date", true); err != nil {
		return f, p, err
	}
	if !f.Start.IsZero() && !f.End.IsZero() && f.Start.After(f.End) {
		return f, p, audit.FieldError("start_date", "start_date must not be after end_date.")
	}
	return f, p, nil
}

func positiveInt(name, v string, limit int) (int, error) {
	n, ok := canonicalID(v)
	if !ok || n > int64(limit) {
		return 0, audit.FieldError(name, "%s must be a positive whole number.", name)
	}
	return int(n), nil
}

// timeParam parses an optional date or date-time parameter. Stored times
// have microsecond precision, so a lower bound is rounded up and an upper
// bound down to the microsecond.
func timeParam(q url.Values, name string, end bool) (time.Time, error) {
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
	case t.Before(earliest) && end:
		// Nothing was recorded before the service existed: an end this
		// early matches nothing, on every engine.
		return earliest.Add(-time.Microsecond), nil
	case t.Before(earliest):
		return time.Time{}, nil // every event is after it: no lower bound
	}
	return t, nil
}

// earliest is the Unix epoch: every recorded time is after it, and every
// engine stores the instants from it to the end of year 9999 (MariaDB's
// DATETIME starts at year 1000). Bounds before it are clamped to it.
var earliest = time.Unix(0, 0).UTC()

// eventPaginationJSON is the pagination of an event listing: the seed's
// fields and total_exact, false when total is a bound that more events
// match (see docs/api.md).
type eventPaginationJSON struct {
	PaginationJSON
	TotalExact bool `json:"total_exact"`
}

// eventListJSON is the body of GET /api/audit-logs.
type eventListJSON struct {
	AuditLogs  []EventJSON         `json:"audit_logs"`
	Pagination eventPaginationJSON `json:"pagination"`
}

// listEvents returns one page of the caller's account's events that match
// the seed's parameters and the search q (docs/search.md), newest first: by
// page number, as the seed documents, or after a cursor (app.ListEvents).
// The page carries a weak ETag (app.ListingVersion), and a request whose
// If-None-Match names it gets 304; a page of a version rendered before is
// served from the process's page cache (pageCache).
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, p, err := parseEventQuery(q)
	if err != nil {
		return err
	}
	ctx, pr := r.Context(), principalFrom(r.Context())
	eq := app.EventQuery{Filter: f, Search: q.Get("q"), Page: p, Cursor: q.Get("cursor")}
	tag, err := s.app.ListingVersion(ctx, pr, eq)
	if err != nil {
		return err
	}
	key := pageKey{account: pr.AccountID, version: tag}
	if tag != "" {
		if notModified(r, tag) {
			setValidator(w, tag)
			return writeNotModified(w)
		}
		if body := s.pages.get(key); body != nil {
			setValidator(w, tag)
			return writeJSONBody(w, http.StatusOK, body)
		}
	}
	list, err := s.app.ListEvents(ctx, pr, eq)
	if err != nil {
		return err
	}
	out := eventListJSON{AuditLogs: make([]EventJSON, len(list.Events))}
	for i, e := range list.Events {
		out.AuditLogs[i] = eventJSON(e)
	}
	pj := eventPaginationJSON{PaginationJSON: paginationJSON(list.Pagination), TotalExact: !list.Pagination.TotalInexact}
	if list.ByCursor {
		pj.Page, pj.HasNext, pj.HasPrev = nil, list.More, true
	}
	if list.NextCursor != "" {
		pj.NextCursor = &list.NextCursor
	}
	out.Pagination = pj
	body, err := encodeJSON(out)
	if err != nil {
		return err
	}
	if tag != "" {
		// Set only now: an error response must not carry the page's
		// validator.
		setValidator(w, tag)
		s.pages.put(key, body)
	}
	return writeJSONBody(w, http.StatusOK, body)
}

// getEvent returns one event of the caller's account (app.Event), with a
// strong ETag of its body; an ID of another account's event is a 404, as
// an ID that names none.
func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrEventNotFound)
	if err != nil {
		return err
	}
	e, err := s.app.Event(r.Context(), principalFrom(r.Context()), id)
	if err != nil {
		return err
	}
	return writeJSONTagged(w, r, map[string]any{"audit_log": eventJSON(e)})
}
