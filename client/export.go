package client

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// Export formats.
const (
	FormatNDJSON = "ndjson" // the verifiable export (VerifyExport checks it)
	FormatCSV    = "csv"
	FormatPDF    = "pdf"
)

// ExportInfo describes a downloaded export.
type ExportInfo struct {
	// Filename is the name the service gives the file.
	Filename string
	// ContentType is its media type.
	ContentType string
	// Events is how many events the service said the file holds, and
	// TreeSize the size of the log it was exported at.
	Events, TreeSize int64
	// Bytes is how many bytes were written to the writer.
	Bytes int64
}

// Export downloads the events that q selects in the format (FormatNDJSON
// when ""), streaming them to w as they arrive, in constant memory. Only
// the request is retried, never a download under way: an error after the
// first byte leaves w with part of the file. The service reports a failure
// during the download only by cutting the file short, which VerifyExport
// detects in an NDJSON export (its end line is missing); check every
// NDJSON export before trusting it. The context bounds the whole
// download.
func (c *Client) Export(ctx context.Context, w io.Writer, format string, q Query) (*ExportInfo, error) {
	if format == "" {
		format = FormatNDJSON
	}
	params := q.values()
	params.Set("format", format)
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/api/audit-logs/export", query: params, noTimeout: true})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	info := &ExportInfo{ContentType: resp.Header.Get("Content-Type")}
	if _, p, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		info.Filename = p["filename"]
	}
	info.Events, _ = strconv.ParseInt(resp.Header.Get("X-Export-Events"), 10, 64)
	info.TreeSize, _ = strconv.ParseInt(resp.Header.Get("X-Export-Tree-Size"), 10, 64)
	info.Bytes, err = io.Copy(w, resp.Body)
	if err != nil {
		return info, fmt.Errorf("auditlog: export cut short after %d bytes: %w", info.Bytes, err)
	}
	return info, nil
}
