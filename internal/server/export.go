package server

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// exportMediaTypes maps the media types an Accept header may name to the
// export format each asks for.
var exportMediaTypes = map[string]string{
	"application/x-ndjson": app.FormatNDJSON,
	"text/csv":             app.FormatCSV,
	"application/pdf":      app.FormatPDF,
}

// exportEvents streams the caller's account's events as NDJSON, CSV or a
// PDF report (app.Export, which records the export first). The format is
// the format parameter, else the one the Accept header asks for, else
// NDJSON.
func (s *Server) exportEvents(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	req := app.ExportRequest{Format: q.Get("format")}
	if req.Format == "" {
		req.Format = acceptedFormat(r.Header.Values("Accept"))
	}
	switch v := q.Get("bom"); v {
	case "", "0", "false":
	case "1", "true":
		req.BOM = true
	default:
		return audit.FieldError("bom", "bom must be 1 or 0.")
	}
	var err error
	if req.Filter, _, err = parseEventQuery(q); err != nil {
		return err
	}
	req.Search = q.Get("q")
	// A large export, or a PDF report built before its first byte, may
	// take longer than the server's write timeout.
	extendDeadline(w)
	started := false
	err = s.app.Export(ctx, principalFrom(ctx), s.client(r), req, func(x *app.Export) io.Writer {
		started = true
		h := w.Header()
		h.Set("Content-Type", x.ContentType())
		// RFC 6266: the name is plain ASCII without quotes or backslashes
		// (app.Export.Filename), so filename= alone names it everywhere.
		h.Set("Content-Disposition", `attachment; filename="`+x.Filename()+`"`)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Export-Events", strconv.FormatInt(x.Events, 10))
		h.Set("X-Export-Tree-Size", strconv.FormatInt(x.Checkpoint.Size, 10))
		w.WriteHeader(http.StatusOK)
		return w
	})
	if err != nil && started {
		// The status is sent; a truncated file (for NDJSON, no end line)
		// tells the client that the export failed.
		if ctx.Err() != nil {
			s.log.InfoContext(ctx, "export stopped: the client went away", "account", principalFrom(ctx).AccountID)
		} else {
			s.log.ErrorContext(ctx, "export failed", "account", principalFrom(ctx).AccountID, "err", err)
		}
		return nil
	}
	return err
}

// EventFilter returns the filter that the query parameters of
// GET /api/audit-logs select (user_id, action, resource_type, start_date,
// end_date), checked as the API checks them: how the command line reads
// the same filters.
func EventFilter(q url.Values) (audit.EventFilter, error) {
	f, _, err := parseEventQuery(q)
	return f, err
}

// acceptedFormat returns the export format an Accept header asks for: the
// format of the one export media type with the highest quality, or "" (the
// default) when it names none, or several equally.
func acceptedFormat(accept []string) string {
	best, bestQ, tie := "", 0.0, false
	for _, v := range accept {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			format, ok := exportMediaTypes[mt]
			if !ok {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(v, 64); err != nil {
					continue
				}
			}
			switch {
			case q <= 0:
			case q > bestQ:
				best, bestQ, tie = format, q, false
			case q == bestQ && format != best:
				tie = true
			}
		}
	}
	if tie {
		return ""
	}
	return best
}
