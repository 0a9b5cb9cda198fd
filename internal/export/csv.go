package export

import (
	"bufio"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
)

// CSVColumns are the columns of a CSV export, in order: the header row. The
// order is part of the format (docs/exports.md); new columns are only ever
// appended.
var CSVColumns = []string{
	"id", "seq", "created_at", "occurred_at", "action", "outcome",
	"resource_type", "resource_id", "actor_type", "actor_id", "actor_email", "actor_name",
	"user_id", "ip_address", "user_agent", "details", "event_id",
	"metadata", "changes", "leaf_hash", "api_key_id",
}

// csvTimeLayout renders times as the API and the NDJSON export do: ISO 8601,
// UTC, microseconds.
const csvTimeLayout = "2006-01-02T15:04:05.000000Z"

// CSVOptions configures a CSV export.
type CSVOptions struct {
	// BOM writes a UTF-8 byte order mark before the header row. Excel needs
	// it to read the file as UTF-8 when the file is double-clicked; other
	// spreadsheets and CSV parsers do not, and some show it as a stray
	// character in the first header cell, so it is off by default.
	BOM bool
}

// CSVWriter writes audit events as CSV (RFC 4180: fields quoted when
// needed, CRLF line ends), one row per event after one header row, with
// cells that a spreadsheet would run as a formula made inert (see
// NeutralizeCell). It holds one row at a time: memory does not grow with
// the number of events. It is not safe for concurrent use.
type CSVWriter struct {
	bw    *bufio.Writer
	cw    *csv.Writer
	rec   []string
	count int64
	err   error
}

// NewCSVWriter returns a CSVWriter that writes to w, starting with the
// optional BOM and the header row. Output is buffered: call Close to flush.
func NewCSVWriter(w io.Writer, opts CSVOptions) *CSVWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true // RFC 4180 §2.1; every spreadsheet reads it
	c := &CSVWriter{bw: bw, cw: cw, rec: make([]string, len(CSVColumns))}
	if opts.BOM {
		if _, err := bw.WriteString("\uFEFF"); err != nil {
			c.err = fmt.Errorf("csv export: write BOM: %w", err)
			return c
		}
	}
	if err := cw.Write(CSVColumns); err != nil {
		c.err = fmt.Errorf("csv export: write header: %w", err)
	}
	return c
}

// Write writes one event as a row. Events are written in the order given;
// the caller passes them in seq order. After an error every call returns it.
func (c *CSVWriter) Write(e *audit.Event) error {
	if c.err != nil {
		return c.err
	}
	r := c.rec
	r[0] = strconv.FormatInt(e.ID, 10)
	r[1] = strconv.FormatInt(e.Seq, 10)
	r[2] = csvTime(e.CreatedAt)
	r[3] = csvTime(e.OccurredAt)
	r[4] = csvText(e.Action)
	r[5] = csvText(e.Outcome)
	r[6] = csvText(e.ResourceType)
	r[7] = csvText(e.ResourceID)
	r[8] = csvText(e.ActorType)
	r[9] = csvText(e.ActorID)
	r[10] = csvText(e.ActorEmail)
	r[11] = csvText(e.ActorName)
	r[12] = csvID(e.UserID)
	r[13] = csvText(e.IPAddress)
	r[14] = csvText(e.UserAgent)
	r[15] = csvText(e.Details)
	r[16] = csvText(e.EventID)
	r[17] = csvJSON(e.Metadata)
	r[18] = csvJSON(e.Changes)
	r[19] = base64.StdEncoding.EncodeToString(e.LeafHash[:])
	r[20] = csvID(e.APIKeyID)
	if err := c.cw.Write(r); err != nil {
		c.err = fmt.Errorf("csv export: event seq %d: %w", e.Seq, err)
		return c.err
	}
	c.count++
	return nil
}

// Count returns the number of events written.
func (c *CSVWriter) Count() int64 { return c.count }

// Close flushes what is buffered. It does not close the underlying writer.
// An export with no events is the header row alone.
func (c *CSVWriter) Close() error {
	if c.err != nil {
		return c.err
	}
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		c.err = fmt.Errorf("csv export: flush: %w", err)
		return c.err
	}
	if err := c.bw.Flush(); err != nil {
		c.err = fmt.Errorf("csv export: flush: %w", err)
		return c.err
	}
	return nil
}

// csvTime renders t as the API does; "" for the zero time.
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(csvTimeLayout)
}

// csvID renders an optional ID; "" for 0.
func csvID(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// csvText prepares a client-supplied text field: valid UTF-8, line breaks
// as LF (encoding/csv writes them as CRLF), and neutralised.
func csvText(s string) string {
	return NeutralizeCell(cleanText(s))
}

// csvJSON prepares a JSON column. Compact JSON text begins with '{' or '[',
// never with a formula trigger, so it is written as stored (valid UTF-8
// only), and a program can parse the cell as JSON.
func csvJSON(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return cleanText(string(b))
}

// cleanText replaces invalid UTF-8 with U+FFFD and turns CRLF and lone CR
// into LF, so that a line break survives the CSV round trip (encoding/csv
// would drop a lone CR when writing CRLF line ends).
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return s
}
