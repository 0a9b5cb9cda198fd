package export

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/go-pdf/fpdf"
)

// Defaults of PDFOptions.
const (
	// DefaultPDFMaxRows caps the report's event table. Ten thousand rows
	// are some 400 pages: as much as a person reads, and a report that is
	// built in a few seconds and a few tens of MB. Larger ranges are for
	// the CSV and NDJSON exports, which stream; the report's summary still
	// counts every event.
	DefaultPDFMaxRows = 10_000
	// DefaultPDFTopN is how many actions and actors the summary lists.
	DefaultPDFTopN = 10
	// DefaultPDFMaxKeys is how many distinct actions, and distinct actors,
	// the summary counts exactly.
	DefaultPDFMaxKeys = 1000
)

// Longest text kept from an event for one table cell, in characters; the
// rest is cut with "…" (the full text is in the CSV and NDJSON exports).
// It bounds the memory the buffered rows take and keeps a row within a page.
const (
	maxDetailsRunes = 600
	maxCellRunes    = 160
)

// ReportInfo describes what a PDF report is about: the account, the
// selection, who asked for it, and the account's signed checkpoint that ties
// it to the verifiable log. The caller provides every value as it should be
// printed; the report computes none of them.
type ReportInfo struct {
	// Title heads the first page; "" means "Audit log report".
	Title string

	AccountID     int64
	AccountName   string
	AccountDomain string

	// Filters describes the selection in words, one item each, such as
	// "Action is order.refunded" or "From 2026-11-01 00:00 UTC to
	// 2026-11-30 23:59 UTC". None means every event of the log.
	Filters []string

	GeneratedAt      time.Time
	GeneratedByName  string
	GeneratedByEmail string

	Checkpoint ReportCheckpoint
}

// ReportCheckpoint is the account's signed checkpoint, as the API's
// checkpoint endpoint gives it.
type ReportCheckpoint struct {
	Origin      string // the log's origin line
	TreeSize    int64  // events in the log when the checkpoint was signed
	RootHash    string // base64, as the API shows it
	Note        string // the C2SP signed note, signature lines included
	VerifierKey string // the key that verifies the note
}

// PDFOptions configures a PDF report. Zero values mean the defaults.
type PDFOptions struct {
	// MaxRows caps the event table (DefaultPDFMaxRows). Events past the cap
	// are counted in the summary but not listed; a notice says how many.
	MaxRows int
	// TopN is how many actions and actors the summary lists
	// (DefaultPDFTopN).
	TopN int
	// MaxKeys bounds the distinct actions, and the distinct actors, that
	// the summary counts (DefaultPDFMaxKeys). Events with a value first seen
	// after that many are counted together as "other", and the summary says
	// so.
	MaxKeys int
}

func (o PDFOptions) withDefaults() PDFOptions {
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultPDFMaxRows
	}
	if o.TopN <= 0 {
		o.TopN = DefaultPDFTopN
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultPDFMaxKeys
	}
	return o
}

// PDFReport builds a PDF report of an account's audit events: a first page
// with the account, the selection and summary counts, a table of the events
// (capped at PDFOptions.MaxRows rows), and the signed checkpoint. Add the
// events in seq order, then call WriteTo once. The summary counts every
// event added; only the table's rows are kept, so memory is bounded by the
// cap however many events there are. It is not safe for concurrent use.
type PDFReport struct {
	info ReportInfo
	opts PDFOptions

	rows        []reportRow
	total       int64
	failures    int64
	first, last time.Time
	actions     *counter
	actors      *counter
	done        bool
}

// reportRow is one event as the table shows it, its text already cut.
type reportRow struct {
	seq                                  int64
	time                                 time.Time
	action, actor, resource, outcome, ip string
	details                              string
	failed                               bool
}

// NewPDFReport returns an empty report.
func NewPDFReport(info ReportInfo, opts PDFOptions) *PDFReport {
	opts = opts.withDefaults()
	return &PDFReport{
		info: info, opts: opts,
		actions: newCounter(opts.MaxKeys), actors: newCounter(opts.MaxKeys),
	}
}

var _ io.WriterTo = (*PDFReport)(nil)

// ErrReportWritten is returned by Add and WriteTo once WriteTo has run.
var ErrReportWritten = errors.New("pdf report: already written")

// Add counts an event in the summary and, while the table has room, keeps
// its row.
func (r *PDFReport) Add(e *audit.Event) error {
	if r.done {
		return ErrReportWritten
	}
	r.total++
	failed := e.Outcome == audit.OutcomeFailure
	if failed {
		r.failures++
	}
	if r.first.IsZero() || e.CreatedAt.Before(r.first) {
		r.first = e.CreatedAt
	}
	if e.CreatedAt.After(r.last) {
		r.last = e.CreatedAt
	}
	r.actions.add(cut(orDash(e.Action), maxCellRunes))
	r.actors.add(cut(actorLabel(e), maxCellRunes))
	if len(r.rows) < r.opts.MaxRows {
		r.rows = append(r.rows, rowOf(e, failed))
	}
	return nil
}

// Count returns the number of events added.
func (r *PDFReport) Count() int64 { return r.total }

func rowOf(e *audit.Event, failed bool) reportRow {
	actor := actorLabel(e)
	if e.ActorName != "" && e.ActorEmail != "" {
		actor = e.ActorName + "\n" + e.ActorEmail
	}
	resource := e.ResourceType + "\n" + e.ResourceID // type above ID, as name above email
	if e.ResourceType == "" || e.ResourceID == "" {
		resource = e.ResourceType + e.ResourceID
	}
	details := e.Details
	if ch := changesText(e.Changes); ch != "" {
		if details != "" {
			details += "\n"
		}
		details += ch
	}
	outcome := e.Outcome
	if outcome == "" {
		outcome = "–"
	}
	return reportRow{
		seq: e.Seq, time: e.CreatedAt, failed: failed,
		action:   cut(orDash(e.Action), maxCellRunes),
		actor:    cut(actor, maxCellRunes),
		resource: cut(orDash(resource), maxCellRunes),
		outcome:  cut(outcome, maxCellRunes),
		ip:       cut(orDash(e.IPAddress), maxCellRunes),
		details:  cut(details, maxDetailsRunes),
	}
}

// actorLabel names who acted, for the summary: "Name <email>", the email,
// the name, or the actor's type and ID.
func actorLabel(e *audit.Event) string {
	switch {
	case e.ActorName != "" && e.ActorEmail != "":
		return e.ActorName + " <" + e.ActorEmail + ">"
	case e.ActorEmail != "":
		return e.ActorEmail
	case e.ActorName != "":
		return e.ActorName
	case e.ActorID != "":
		return strings.TrimSpace(e.ActorType + " " + e.ActorID)
	case e.ActorType == audit.ActorUser && e.UserID != 0:
		return fmt.Sprintf("user #%d", e.UserID)
	case e.ActorType != "":
		return e.ActorType
	}
	return "(no actor recorded)"
}

// changesText renders a changes array ([{field, old, new}]) as
// "field: old → new" lines; "" when absent or not in that shape.
func changesText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var changes []struct {
		Field string          `json:"field"`
		Old   json.RawMessage `json:"old"`
		New   json.RawMessage `json:"new"`
	}
	if err := json.Unmarshal(b, &changes); err != nil {
		return "Changes: " + string(b)
	}
	val := func(m json.RawMessage) string {
		var s string
		if len(m) == 0 || string(m) == "null" {
			return "–"
		}
		if json.Unmarshal(m, &s) == nil {
			return s
		}
		return string(m)
	}
	var sb strings.Builder
	for i, c := range changes {
		if i > 0 {
			sb.WriteString("\n")
		}
		fmt.Fprintf(&sb, "%s: %s → %s", c.Field, val(c.Old), val(c.New))
	}
	return sb.String()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// cut returns s, made valid UTF-8, shortened to at most n characters with
// an ellipsis.
func cut(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n { // bytes ≥ runes
		return strings.Clone(s)
	}
	i, count := 0, 0
	for i < len(s) {
		if count == n-1 {
			return s[:i] + "…"
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return strings.Clone(s)
}

// counter counts events by key, keeping at most max distinct keys; events
// whose key arrives when it is full are counted as other.
type counter struct {
	max   int
	n     map[string]int64
	other int64
}

func newCounter(limit int) *counter { return &counter{max: limit, n: map[string]int64{}} }

func (c *counter) add(key string) {
	if _, ok := c.n[key]; ok || len(c.n) < c.max {
		c.n[key]++
		return
	}
	c.other++
}

type keyCount struct {
	key   string
	count int64
}

// top returns the n largest counts, largest first (ties by key), and the
// sum of the rest including other.
func (c *counter) top(n int) (top []keyCount, rest int64) {
	for k, v := range c.n {
		top = append(top, keyCount{k, v})
	}
	slices.SortFunc(top, func(a, b keyCount) int {
		if a.count != b.count {
			return cmp.Compare(b.count, a.count)
		}
		return strings.Compare(a.key, b.key)
	})
	rest = c.other
	if len(top) > n {
		for _, kc := range top[n:] {
			rest += kc.count
		}
		top = top[:n]
	}
	return top, rest
}

// WriteTo renders the report and writes the PDF to w. It can be called
// once.
func (r *PDFReport) WriteTo(w io.Writer) (int64, error) {
	if r.done {
		return 0, ErrReportWritten
	}
	r.done = true
	doc, err := r.build()
	if err != nil {
		return 0, fmt.Errorf("pdf report: %w", err)
	}
	cw := &countingWriter{w: w}
	if err := doc.Output(cw); err != nil {
		return cw.n, fmt.Errorf("pdf report: write: %w", err)
	}
	return cw.n, nil
}

// reportGCPercent is the garbage collector's target (GOGC) while a report
// is built.
const reportGCPercent = 50

// building makes reports build one at a time in the process.
var building sync.Mutex

// build renders the report and closes the document, leaving it to write.
// This is where a report's memory peaks: the PDF library holds every page
// uncompressed until it closes the document, and it then compresses each
// page with a new compressor of about 1 MB, hundreds of MB of garbage in a
// second for a full table. With the default GOGC of 100 the heap grows to
// twice what is live before a collection frees it (a 10,000-row report
// took the server's peak RSS from 37 to 105 MB); at 50 it stays near one
// and a half times (80 MB), for about the same CPU time. So build lowers
// the collector's target while it runs, and builds one report at a time,
// so that concurrent reports neither add up nor undo each other's setting:
// for the second or so it takes, every other request in the process runs
// at that target too. A lower GOGC already set (or GOGC=off, leaving the
// memory limit in charge) is kept. The document is written after the
// lock is released, so a slow client holds up no other report.
func (r *PDFReport) build() (*fpdf.Fpdf, error) {
	building.Lock()
	defer building.Unlock()
	if old := debug.SetGCPercent(reportGCPercent); old < reportGCPercent {
		debug.SetGCPercent(old)
	} else {
		defer debug.SetGCPercent(old)
	}
	doc, err := r.render()
	// The pages hold the rows now: let them go before the library
	// compresses the pages.
	r.rows = nil
	if err != nil {
		return nil, err
	}
	doc.Close()
	return doc, doc.Error()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
