package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/tlog"
)

// statuses maps each application error code to its HTTP status. It is the
// only place that does; an error without a code is a 500.
var statuses = map[string]int{
	audit.EINVALID:      http.StatusBadRequest,
	audit.EUNAUTHORIZED: http.StatusUnauthorized,
	audit.EFORBIDDEN:    http.StatusForbidden,
	audit.ENOTFOUND:     http.StatusNotFound,
	audit.ENOTALLOWED:   http.StatusMethodNotAllowed,
	audit.ECONFLICT:     http.StatusConflict,
	audit.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	audit.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	audit.ERATELIMITED:  http.StatusTooManyRequests,
	audit.EMFAREQUIRED:  http.StatusForbidden,
	audit.EUNAVAILABLE:  http.StatusServiceUnavailable,
	audit.EFULL:         http.StatusInsufficientStorage,
	audit.EINTERNAL:     http.StatusInternalServerError,
}

// Errors of the HTTP layer itself; the operations' errors are the app's.
var (
	errRouteNotFound    = audit.Errorf(audit.ENOTFOUND, "No such endpoint.")
	errMethodNotAllowed = audit.Errorf(audit.ENOTALLOWED, "Method not allowed for this endpoint.")
	errCrossOrigin      = audit.Errorf(audit.EFORBIDDEN, "Cross-origin request refused.")
	errNeedsKey         = audit.Errorf(audit.EFORBIDDEN, "This endpoint needs an API key (Authorization: Bearer), not a session.")
	errPanic            = &audit.Error{Code: audit.EINTERNAL, Message: "Internal error."}
)

// ErrorResponse is the JSON body of every error response.
type ErrorResponse struct {
	Error string `json:"error"`           // a message for people
	Code  string `json:"code"`            // a stable machine-readable code
	Field string `json:"field,omitempty"` // the request field at fault, if any
	// Errors lists every problem of an ingest request, by event index.
	Errors []ingest.Problem `json:"errors,omitempty"`
}

// writeError writes err as a JSON error response. Errors without an
// application code are logged with their full text and answered with a
// generic 500, so internal details never reach the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var invalid *ingest.InvalidError
	if errors.As(err, &invalid) {
		first := invalid.Problems[0]
		writeJSON(w, http.StatusBadRequest, ErrorResponse{
			Error: fmt.Sprintf("%d of the request's events are invalid, so none was written. First: event %d, %s",
				countInvalid(invalid.Problems), first.Index, first.Message),
			Code: audit.EINVALID, Field: first.Field, Errors: invalid.Problems,
		})
		return
	}
	code := audit.ErrorCode(err)
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; there is nobody to answer.
		return
	}
	status := statuses[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	var limited *app.RateLimitError
	if errors.As(err, &limited) && w.Header().Get("Retry-After") == "" {
		setRetryAfter(w, limited.RetryAfter)
	}
	switch {
	case w.Header().Get("Retry-After") != "":
	case errors.Is(err, tlog.ErrFork):
		// Recording stays stopped for the account until an operator has
		// investigated: a retry in a second would only be refused again.
		w.Header().Set("Retry-After", "3600")
	case status == http.StatusServiceUnavailable:
		// Every 503 is temporary: a saturated writer, a slow commit, a
		// database that cannot be reached. Tell clients when to retry.
		w.Header().Set("Retry-After", "1")
	case status == http.StatusInsufficientStorage:
		// Space comes back when an operator frees it: retry, not hammer.
		w.Header().Set("Retry-After", "30")
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Cookie realm="auditlog"`)
	}
	writeJSON(w, status, ErrorResponse{Error: audit.ErrorMessage(err), Code: code, Field: audit.ErrorField(err)})
}

// countInvalid counts the distinct events among problems.
func countInvalid(ps []ingest.Problem) int {
	n, last := 0, -1
	for _, p := range ps { // sorted by index
		if p.Index != last {
			n, last = n+1, p.Index
		}
	}
	return n
}

// setRetryAfter sets the Retry-After header to d in whole seconds.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.FormatInt(app.Seconds(d), 10))
}
