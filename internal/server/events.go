package server

import (
	"bytes"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// The list's parameter readers (app/filter.go), which analytics shares.
var earliest = app.Earliest

func timeParam(q url.Values, name string, end bool) (time.Time, error) {
	return app.TimeParam(q, name, end)
}

func positiveInt(name, v string, limit int) (int, error) { return app.PositiveInt(name, v, limit) }

// parseEventQuery reads the list endpoint's query parameters
// (app.ParseEventFilter, shared by the list, the export and the stream).
func parseEventQuery(q url.Values) (audit.EventFilter, audit.PageRequest, error) {
	return app.ParseEventFilter(q)
}

// eventPaginationJSON is the pagination of an event listing: the seed's
// fields and total_exact, false when total is a bound that more events
// match (see docs/api.md).
type eventPaginationJSON struct {
	PaginationJSON
	TotalExact bool `json:"total_exact"`
}

// eventListJSON is the body of GET /api/audit-logs, as appendEventList
// writes it.
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
	// The body is rendered into a buffer that the next listing reuses
	// once this one is written; the page cache keeps a copy.
	buf := listBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledListBuffer {
			listBuffers.Put(buf)
		}
	}()
	body, err := s.renderList((*buf)[:0], list)
	if err != nil {
		return err
	}
	*buf = body[:0]
	if tag != "" {
		// Set only now: an error response must not carry the page's
		// validator.
		setValidator(w, tag)
		if s.pages != nil {
			s.pages.put(key, bytes.Clone(body))
		}
	}
	return writeJSONBody(w, http.StatusOK, body)
}

// listBuffers holds the buffers listings render their bodies into: a page
// of 50 events is some 30 KiB, which would otherwise be allocated (and
// zeroed) for each request and left to the garbage collector.
var listBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// maxPooledListBuffer bounds the buffers kept for reuse: the rare page of
// 1,000 long events is not held on to.
const maxPooledListBuffer = 1 << 20

// renderList appends the body of a listing page to b.
func (s *Server) renderList(b []byte, list *app.EventList) ([]byte, error) {
	p := listPagination(list)
	if s.reflectList {
		out := eventListJSON{AuditLogs: make([]EventJSON, len(list.Events)), Pagination: p}
		for i, e := range list.Events {
			out.AuditLogs[i] = eventJSON(e)
		}
		body, err := encodeJSON(out)
		return append(b, body...), err
	}
	return appendEventList(b, list.Events, p)
}

// listPagination returns the pagination object of a listing page.
func listPagination(list *app.EventList) eventPaginationJSON {
	pj := eventPaginationJSON{PaginationJSON: paginationJSON(list.Pagination), TotalExact: !list.Pagination.TotalInexact}
	if list.ByCursor {
		pj.Page, pj.HasNext, pj.HasPrev = nil, list.More, true
	}
	if list.NextCursor != "" {
		pj.NextCursor = &list.NextCursor
	}
	return pj
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
