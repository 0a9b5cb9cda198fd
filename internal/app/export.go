package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// Export formats: the values of ExportRequest.Format.
const (
	// FormatNDJSON is the self-proving export that auditlog verify checks
	// offline (docs/verification.md).
	FormatNDJSON = "ndjson"
	// FormatCSV is one row per event for spreadsheets (docs/exports.md).
	FormatCSV = "csv"
	// FormatPDF is a report for people: a summary, a table capped at
	// export.DefaultPDFMaxRows events and the signed checkpoint.
	FormatPDF = "pdf"
)

// ExportFormats lists the export formats, the default first.
var ExportFormats = []string{FormatNDJSON, FormatCSV, FormatPDF}

// formatNames are the formats as the audit record names them.
var formatNames = map[string]string{FormatNDJSON: "NDJSON", FormatCSV: "CSV", FormatPDF: "PDF"}

// errFormat is the error of an unknown export format.
var errFormat = audit.FieldError("format", "format must be ndjson, csv or pdf.")

// ExportRequest is what to export.
type ExportRequest struct {
	// Format is FormatNDJSON (the default when ""), FormatCSV or FormatPDF.
	Format string
	// Filter and Search select the events, as for ListEvents: an event
	// must match both; Search "" is no search.
	Filter audit.EventFilter
	Search string
	// BOM starts a CSV export with a UTF-8 byte order mark (for Excel).
	BOM bool
	// PDF configures a PDF report; zero values are the defaults.
	PDF export.PDFOptions
	// Progress, when set, is called as the export goes with the number of
	// events read so far (for a PDF report, added to it before the report
	// is written), at most once per thousand events.
	Progress func(events int64)
}

// Export describes an export about to be written, for the surface to name
// and label it before the first byte.
type Export struct {
	AccountID int64
	Account   *audit.Account
	Format    string
	Filter    audit.EventFilter
	// Search is the export's search in its canonical form ("" for none).
	Search string
	// query is what the export reads: Filter and Search together.
	query *query.Query
	// Checkpoint is the account's latest signed checkpoint when the export
	// began: the export holds the events up to it, never later ones.
	Checkpoint *sqlstore.Checkpoint
	// Complete is set when the export holds every event of the log up to
	// the checkpoint; otherwise each NDJSON event carries its inclusion
	// proof.
	Complete bool
	// Events is how many events the export holds (a PDF report's table
	// may list fewer; its summary counts them all).
	Events int64
	// Pruned is the log's prefix that retention removed when the export
	// began (Size 0 when none): a complete export starts after it.
	Pruned *sqlstore.PrunedPrefix
}

// ContentType returns the export's media type.
func (x *Export) ContentType() string {
	switch x.Format {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatPDF:
		return "application/pdf"
	}
	return "application/x-ndjson"
}

// Filename returns the export's file name: plain ASCII, naming the
// account (by its domain, or its ID when the domain has other
// characters), the range (the dates when the filter has them, otherwise
// the log's size at the checkpoint; "filtered" when other filters apply)
// and the format, such as audit-log-acme.example-size-1234.csv or
// audit-log-acme.example-2026-11-01-to-2026-11-30-filtered.pdf.
func (x *Export) Filename() string {
	name := "account-" + strconv.FormatInt(x.AccountID, 10)
	if x.Account != nil && asciiName(x.Account.Domain) {
		name = x.Account.Domain
	}
	var rng string
	f := x.Filter
	switch {
	case !f.Start.IsZero() && !f.End.IsZero():
		rng = f.Start.UTC().Format(time.DateOnly) + "-to-" + f.End.UTC().Format(time.DateOnly)
	case !f.Start.IsZero():
		rng = "from-" + f.Start.UTC().Format(time.DateOnly)
	case !f.End.IsZero():
		rng = "to-" + f.End.UTC().Format(time.DateOnly)
	default:
		rng = "size-" + strconv.FormatInt(x.Checkpoint.Size, 10)
	}
	if f.UserID != 0 || f.Action != "" || f.ResourceType != "" || x.Search != "" {
		rng += "-filtered"
	}
	return "audit-log-" + name + "-" + rng + "." + x.Format
}

// asciiName reports whether s is a non-empty run of the characters a
// domain may hold in ASCII, safe in a quoted file name.
func asciiName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// Export records that p exports the account's events selected by
// req.Filter in req.Format, then writes them.
//
// It reads the account's latest signed checkpoint and counts the events the
// export will hold (the checkpoint's size when unfiltered), then records
// the export, in a transaction of its own, before anything is written: who,
// the format, the filter, the count and the checkpoint's size. The record
// is the first event after the checkpoint, so it is never in the file it
// describes, and it stays in the log if the export then fails. It then
// calls start, and writes to the writer start returns, the events up to
// the checkpoint in log order:
//
//   - NDJSON: the self-proving export (package export): a header with the
//     checkpoint, one line per event (with its inclusion proof when
//     filtered) and an end line. Memory stays flat; bytes flow at once.
//   - CSV: a header row and one row per event, cells neutralised against
//     formula injection. Memory stays flat; bytes flow at once.
//   - PDF: the report is built whole (its table capped at req.PDF.MaxRows
//     rows, its summary counting every event) before start is called.
//
// An error before start is called means nothing was written. An export
// that fails after start is cut short: an NDJSON file then lacks its end
// line, which tells the reader, and the verifier, that it is incomplete.
// Each format checks ctx as it goes, so a client that disconnects stops
// the reads.
func (a *App) Export(ctx context.Context, p *Principal, c Client, req ExportRequest, start func(*Export) io.Writer) error {
	if err := p.authorizeFeature(FeatureExport); err != nil {
		return err
	}
	if err := p.authorizeRead(req.Search); err != nil {
		return err
	}
	if req.Format == "" {
		req.Format = FormatNDJSON
	}
	if _, ok := formatNames[req.Format]; !ok {
		return errFormat
	}
	f := req.Filter
	search, err := query.Parse(req.Search, a.now())
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return qe.AuditError()
		}
		return err
	}
	cp, err := a.exportCheckpoint(ctx, p.AccountID)
	if err != nil {
		return err
	}
	acct, err := a.store.Account(ctx, p.AccountID)
	if err != nil {
		return err
	}
	pruned, err := a.store.PrunedPrefix(ctx, p.AccountID)
	if err != nil {
		return err
	}
	if pruned.Size > cp.Size {
		// Pruned past the checkpoint read a moment ago (a prune and its
		// record raced the export): the next try reads both afresh.
		return fmt.Errorf("app: export of account %d: pruned to %d past checkpoint %d: %w", p.AccountID, pruned.Size, cp.Size, sqlstore.ErrPruneRaced)
	}
	x := &Export{AccountID: p.AccountID, Account: acct, Format: req.Format, Filter: f, Checkpoint: cp, Pruned: pruned,
		query: a.narrow(p, query.FromFilter(f).And(search)), Complete: f == (audit.EventFilter{}) && search.IsZero() && !p.narrowed(), Events: cp.Size - pruned.Size}
	if !search.IsZero() {
		x.Search = search.String()
	}
	if !x.Complete {
		if x.Events, err = a.store.CountEvents(ctx, p.AccountID, x.query, cp.Size); err != nil {
			return err
		}
	}
	if err := a.recordNow(ctx, p, c, entry{auditLogResource, audit.ActionLogExported, exportDetails(x)}); err != nil {
		return err
	}
	switch req.Format {
	case FormatCSV:
		return a.exportCSV(ctx, x, req, start)
	case FormatPDF:
		return a.exportPDF(ctx, p, x, req, start)
	}
	return a.exportNDJSON(ctx, x, req, start)
}

// exportFilterOrder is the order in which an export's audit record names
// the filter's parameters.
var exportFilterOrder = []string{"q", "user_id", "action", "resource_type", "start_date", "end_date"}

// params returns the export's selection as the query parameters that
// select it (q among them), nil when it selects everything.
func (x *Export) params() map[string]string {
	m := FilterParams(x.Filter)
	if x.Search != "" {
		if m == nil {
			m = map[string]string{}
		}
		m["q"] = x.Search
	}
	return m
}

// exportDetails is the details text of an export's audit record, such as
// "Exported the audit log as CSV filtered by action=order_refunded: 15
// events up to checkpoint 1234".
func exportDetails(x *Export) string {
	var b strings.Builder
	b.WriteString("Exported the audit log as " + formatNames[x.Format])
	if filter := x.params(); len(filter) > 0 {
		b.WriteString(" filtered by")
		for _, k := range exportFilterOrder {
			if v, ok := filter[k]; ok {
				fmt.Fprintf(&b, " %s=%s", k, v)
			}
		}
	}
	fmt.Fprintf(&b, ": %d events up to checkpoint %d", x.Events, x.Checkpoint.Size)
	return b.String()
}

// How an export reads the log: in batches of exportBatch events, at most
// exportAhead batches ahead of the writer. An unfiltered export, whose
// events are the seqs after the pruned prefix up to size with no gaps, reads its batches as seq ranges
// on exportReaders connections at once.
const (
	exportBatch   = 1000
	exportAhead   = 4
	exportReaders = 2
)

// exportChunk is one batch of an export's events, read by a reader.
type exportChunk struct {
	after, upTo int64 // the seq range; unused by the sequential reader
	events      []*audit.Event
	err         error
	done        chan struct{} // closed once events and err are set
}

// exportEvents calls fn for each event of the export, in seq order,
// stopping when ctx ends or fn fails. The store is read on goroutines of
// their own, a few batches ahead of fn, so that reading the next events
// overlaps encoding and sending these: memory stays bounded by the batches
// in flight (at most exportAhead+exportReaders+1), whatever the size of
// the log.
func (a *App) exportEvents(ctx context.Context, x *Export, progress func(int64), fn func(e *audit.Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the readers when fn fails
	chunks := make(chan *exportChunk, exportAhead)
	var done int64
	if x.Complete {
		go a.readRanges(ctx, x, chunks)
	} else {
		go a.readPages(ctx, x, chunks)
	}
	for c := range chunks {
		select {
		case <-c.done:
		case <-ctx.Done():
			return fmt.Errorf("export stopped: %w", ctx.Err())
		}
		if c.err != nil {
			return c.err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("export stopped: %w", err)
		}
		for _, e := range c.events {
			if err := fn(e); err != nil {
				return err
			}
		}
		if done += int64(len(c.events)); progress != nil {
			progress(done)
		}
	}
	// A reader stops early, without a last chunk, only when ctx ends.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("export stopped: %w", err)
	}
	return nil
}

// readPages reads a filtered export's events in one pass, a batch at a
// time, into chunks, and closes chunks at the end or on the first error.
func (a *App) readPages(ctx context.Context, x *Export, chunks chan<- *exportChunk) {
	defer close(chunks)
	newChunk := func() *exportChunk {
		return &exportChunk{done: make(chan struct{}), events: make([]*audit.Event, 0, exportBatch)}
	}
	c := newChunk()
	send := func() error {
		full := c
		c = newChunk()
		close(full.done)
		select {
		case chunks <- full:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("export stopped: %w", ctx.Err())
		}
	}
	err := a.store.ExportEvents(ctx, x.AccountID, x.query, x.Checkpoint.Size, func(e *audit.Event) error {
		if c.events = append(c.events, e); len(c.events) == exportBatch {
			return send()
		}
		return nil
	})
	if err != nil {
		c.err = err
	}
	if err != nil || len(c.events) > 0 {
		send()
	}
}

// readRanges reads a complete export's events as consecutive seq ranges
// of exportBatch, on exportReaders goroutines, and passes them on in order.
func (a *App) readRanges(ctx context.Context, x *Export, chunks chan<- *exportChunk) {
	defer close(chunks)
	work := make(chan *exportChunk)
	defer close(work)
	for range exportReaders {
		go func() {
			for c := range work {
				c.events = make([]*audit.Event, 0, c.upTo-c.after)
				c.err = a.store.ExportRange(ctx, x.AccountID, audit.EventFilter{}, c.after, c.upTo, func(e *audit.Event) error {
					c.events = append(c.events, e)
					return nil
				})
				if c.err == nil && int64(len(c.events)) != c.upTo-c.after {
					// Retention removed them since the export began: the
					// file stops here, without its end line.
					c.err = fmt.Errorf("app: export of account %d: events %d to %d were pruned during the export: %w", x.AccountID, c.after+1, c.upTo, sqlstore.ErrPruneRaced)
				}
				close(c.done)
			}
		}()
	}
	for after := x.Pruned.Size; after < x.Checkpoint.Size; after += exportBatch {
		c := &exportChunk{after: after, upTo: min(after+exportBatch, x.Checkpoint.Size), done: make(chan struct{})}
		select {
		case work <- c:
		case <-ctx.Done():
			return
		}
		select {
		case chunks <- c:
		case <-ctx.Done():
			return
		}
	}
}

// exportNDJSON writes the self-proving NDJSON export.
func (a *App) exportNDJSON(ctx context.Context, x *Export, req ExportRequest, start func(*Export) io.Writer) error {
	cp := x.Checkpoint
	h := export.Header{
		AccountID: x.AccountID, Origin: a.Origin(x.AccountID), TreeSize: cp.Size, RootHash: cp.Root,
		Checkpoint: cp.Note, Complete: x.Complete, Filter: x.params(), ExportedAt: a.now().UTC().Format(timeLayout),
	}
	if p := x.Pruned; p.Size > 0 {
		h.Pruned = &export.Pruned{FirstSeq: p.Size + 1, PrunedAt: p.At.UTC().Format(timeLayout), Frontier: p.Frontier}
	}
	ew := export.NewWriter(start(x), h)
	var tiles *tlog.Tiles
	n := 0
	var line export.Event
	err := a.exportEvents(ctx, x, req.Progress, func(e *audit.Event) error {
		export.SetEvent(&line, e)
		if !x.Complete {
			if n%1000 == 0 {
				tiles = a.store.Tiles(ctx, x.AccountID) // bounded cache: a fresh view per thousand events
			}
			var err error
			if line.Proof, err = tiles.InclusionProof(cp.Size, e.Seq-1); err != nil {
				return fmt.Errorf("prove event %d: %w", e.Seq, err)
			}
		}
		n++
		return ew.Write(&line)
	})
	if err != nil {
		return err
	}
	return ew.Close()
}

// exportCSV writes the CSV export.
func (a *App) exportCSV(ctx context.Context, x *Export, req ExportRequest, start func(*Export) io.Writer) error {
	cw := export.NewCSVWriter(start(x), export.CSVOptions{BOM: req.BOM})
	if err := a.exportEvents(ctx, x, req.Progress, cw.Write); err != nil {
		return err
	}
	return cw.Close()
}

// exportPDF builds the PDF report, then writes it.
func (a *App) exportPDF(ctx context.Context, p *Principal, x *Export, req ExportRequest, start func(*Export) io.Writer) error {
	vkey, _ := a.VerifierKey()
	info := export.ReportInfo{
		AccountID: x.AccountID, AccountName: x.Account.Name, AccountDomain: x.Account.Domain,
		Filters:     x.filterWords(),
		GeneratedAt: a.now().UTC(),
		Checkpoint: export.ReportCheckpoint{
			Origin: a.Origin(x.AccountID), TreeSize: x.Checkpoint.Size, RootHash: x.Checkpoint.Root.String(),
			Note: x.Checkpoint.Note, VerifierKey: vkey,
		},
	}
	info.GeneratedByName, info.GeneratedByEmail = p.names()
	r := export.NewPDFReport(info, req.PDF)
	if err := a.exportEvents(ctx, x, req.Progress, r.Add); err != nil {
		return err
	}
	if _, err := r.WriteTo(start(x)); err != nil {
		return fmt.Errorf("write pdf report: %w", err)
	}
	return nil
}

// names returns who p is, as a report prints it: a user's name and email,
// an API key's name, an operator's name.
func (p *Principal) names() (name, email string) {
	switch {
	case p.User != nil:
		return strings.TrimSpace(p.User.FirstName + " " + p.User.LastName), p.User.Email
	case p.APIKey != nil:
		return "API key " + p.APIKey.Name + " (" + p.APIKey.Prefix + ")", ""
	case p.Platform != nil:
		return "Platform key " + p.Platform.Name + " (" + p.Platform.Prefix + ")", ""
	case p.Viewer != nil:
		return "Embedded viewer " + p.Viewer.ID + " (" + p.Viewer.CreatedBy + ")", ""
	}
	return p.Operator, ""
}

// filterTimeLayout renders a filter's times in words.
const filterTimeLayout = "2006-01-02 15:04:05 UTC"

// filterWords describes the export's selection in words, its search too.
func (x *Export) filterWords() []string { return filterWords(x.Filter, x.Search) }

// filterWords returns the selection in words, one item per condition, as a
// PDF report prints it; none when it selects every event.
func filterWords(f audit.EventFilter, search string) []string {
	var out []string
	if search != "" {
		out = append(out, "Search: "+search)
	}
	if f.UserID != 0 {
		out = append(out, "User ID is "+strconv.FormatInt(f.UserID, 10))
	}
	if f.Action != "" {
		out = append(out, "Action is "+f.Action)
	}
	if f.ResourceType != "" {
		out = append(out, "Resource type is "+f.ResourceType)
	}
	switch {
	case !f.Start.IsZero() && !f.End.IsZero():
		out = append(out, "From "+f.Start.UTC().Format(filterTimeLayout)+" to "+f.End.UTC().Format(filterTimeLayout))
	case !f.Start.IsZero():
		out = append(out, "From "+f.Start.UTC().Format(filterTimeLayout))
	case !f.End.IsZero():
		out = append(out, "Until "+f.End.UTC().Format(filterTimeLayout))
	}
	return out
}
