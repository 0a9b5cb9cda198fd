package export

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// Page geometry (A4 landscape, mm) and type sizes (pt).
const (
	pageW, pageH   = 297.0, 210.0
	marginX        = 12.0
	contentW       = pageW - 2*marginX
	tableTop       = 17.0         // below the running header
	tableBottom    = pageH - 14.0 // above the footer
	bodySize       = 9.5          // running text
	smallSize      = 8.0          // labels, header, footer
	tableSize      = 7.5          // table cells
	tableLineH     = tableSize*0.3528*1.25 + 0.1
	cellPadX       = 1.3
	cellPadY       = 1.2
	reportTimeForm = "2006-01-02 15:04:05 UTC"
	maxCellLines   = 24 // lines of one table cell; 24 fill about half a page
)

// Colours.
var (
	colText   = [3]int{33, 37, 41}
	colMuted  = [3]int{100, 108, 117}
	colAccent = [3]int{31, 78, 121}
	colFail   = [3]int{176, 0, 32}
	colRule   = [3]int{206, 212, 218}
	colHead   = [3]int{228, 233, 240}
	colZebra  = [3]int{246, 248, 250}
	colNotice = [3]int{255, 246, 224}
)

// tableColumn is a column of the event table.
type tableColumn struct {
	title string
	width float64
	cell  func(*reportRow) string
}

var tableColumns = []tableColumn{
	{"#", 11, func(r *reportRow) string { return strconv.FormatInt(r.seq, 10) }},
	{"Time (UTC)", 19, func(r *reportRow) string { return r.time.UTC().Format("2006-01-02\n15:04:05") }},
	{"Action", 35, func(r *reportRow) string { return r.action }},
	{"Actor", 58, func(r *reportRow) string { return r.actor }},
	{"Resource", 28, func(r *reportRow) string { return r.resource }},
	{"Outcome", 15, func(r *reportRow) string { return r.outcome }},
	{"IP address", 22, func(r *reportRow) string { return r.ip }},
	{"Details", contentW - 11 - 19 - 35 - 58 - 28 - 15 - 22, func(r *reportRow) string { return r.details }},
}

// renderer holds the state of one rendering.
type renderer struct {
	r       *PDFReport
	pdf     *fpdf.Fpdf
	ts      *typesetter
	title   string
	inTable bool
	// cols are tableColumns with the # column as wide as the report's
	// largest seq needs (a log's seqs reach millions), Details narrower.
	cols []tableColumn
}

// columns returns tableColumns for the report's rows: the # column
// widened, when its largest seq needs more than the default width, at the
// expense of Details.
func (rd *renderer) columns() []tableColumn {
	cols := slices.Clone(tableColumns)
	var top int64
	for i := range rd.r.rows {
		top = max(top, rd.r.rows[i].seq)
	}
	need := rd.ts.width(strconv.FormatInt(top, 10), false, tableSize) + 2*cellPadX + 0.5
	if extra := need - cols[0].width; extra > 0 {
		cols[0].width += extra
		cols[len(cols)-1].width -= extra
	}
	return cols
}

func (r *PDFReport) render() (*fpdf.Fpdf, error) {
	cov, err := fontCoverage()
	if err != nil {
		return nil, err
	}
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.SetMargins(marginX, tableTop, marginX)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AliasNbPages("{nb}")
	rd := &renderer{r: r, pdf: pdf, ts: newTypesetter(pdf, cov, r.needsFallback(cov))}
	rd.cols = rd.columns()
	rd.title = r.info.Title
	if rd.title == "" {
		rd.title = "Audit log report"
	}
	created := r.info.GeneratedAt
	if created.IsZero() {
		created = time.Now()
	}
	pdf.SetTitle(rd.ts.clean(rd.title+" — "+r.info.AccountName), true)
	pdf.SetAuthor(rd.ts.clean(strings.TrimSpace(r.info.GeneratedByName+" "+angle(r.info.GeneratedByEmail))), true)
	pdf.SetCreator("auditlog", true)
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetHeaderFunc(rd.header)
	pdf.SetFooterFunc(rd.footer)

	pdf.AddPage()
	rd.firstPage()
	rd.table()
	rd.checkpoint()
	if err := pdf.Error(); err != nil {
		return nil, err
	}
	return pdf, nil
}

// needsFallback reports whether any text of the report needs the CJK font.
func (r *PDFReport) needsFallback(cov *[3]coverage) bool {
	info := r.info
	texts := append([]string{info.Title, info.AccountName, info.AccountDomain, info.GeneratedByName,
		info.GeneratedByEmail, info.Checkpoint.Origin, info.Checkpoint.Note}, info.Filters...)
	for k := range r.actions.n {
		texts = append(texts, k)
	}
	for k := range r.actors.n {
		texts = append(texts, k)
	}
	for _, s := range texts {
		if needsFallback(cov, s) {
			return true
		}
	}
	for i := range r.rows {
		row := &r.rows[i]
		for _, s := range []string{row.action, row.actor, row.resource, row.outcome, row.ip, row.details} {
			if needsFallback(cov, s) {
				return true
			}
		}
	}
	return false
}

func angle(email string) string {
	if email == "" {
		return ""
	}
	return "<" + email + ">"
}

// The PDF library writes every colour, line width and font it is given
// into the page, changed or not, and holds every page until it writes the
// file: the renderer sets each only when it changes, which keeps a table
// page to about half its size and the report's memory with it.

// color sets the colour of the text drawn next. Text is painted with the
// fill colour, so it sets that too: with the two equal the library writes
// no colour change around each piece of text. A filled shape sets its own
// fill (fill) right before it is drawn.
func (rd *renderer) color(c [3]int) {
	rd.pdf.SetTextColor(c[0], c[1], c[2])
	rd.fill(c)
}

func (rd *renderer) fill(c [3]int) {
	if r, g, b := rd.pdf.GetFillColor(); [3]int{r, g, b} != c {
		rd.pdf.SetFillColor(c[0], c[1], c[2])
	}
}

func (rd *renderer) rule(c [3]int) {
	if r, g, b := rd.pdf.GetDrawColor(); [3]int{r, g, b} != c {
		rd.pdf.SetDrawColor(c[0], c[1], c[2])
	}
}

func (rd *renderer) lineWidth(w float64) {
	if rd.pdf.GetLineWidth() != w {
		rd.pdf.SetLineWidth(w)
	}
}

// text draws wrapped text at (x, y) (top of the first line) in width w and
// returns the y below it.
func (rd *renderer) text(x, y, w float64, s string, bold bool, size float64) float64 {
	lh := size * 0.3528 * 1.3
	for _, line := range rd.ts.wrap(rd.ts.clean(s), w, bold, size) {
		rd.ts.draw(x, y+lh*0.78, line, bold, size)
		y += lh
	}
	return y
}

// header runs at the top of every page but the first: what the report is,
// and, on table pages, the table's column titles.
func (rd *renderer) header() {
	defer rd.ts.forget() // the library restores the page's font after it
	pdf := rd.pdf
	if pdf.PageNo() == 1 {
		return
	}
	info := rd.r.info
	rd.color(colMuted)
	left := rd.ts.clean(fmt.Sprintf("%s · %s (account %d)", rd.title, info.AccountName, info.AccountID))
	rd.ts.draw(marginX, 9, rd.ts.fit(left, contentW*0.65, false, smallSize), false, smallSize)
	right := "Generated " + rd.generatedAt()
	rd.ts.draw(pageW-marginX-rd.ts.width(right, false, smallSize), 9, right, false, smallSize)
	rd.rule(colRule)
	rd.lineWidth(0.2)
	pdf.Line(marginX, 11, pageW-marginX, 11)
	if rd.inTable {
		rd.tableHeader(tableTop - 4)
	}
}

func (rd *renderer) generatedAt() string {
	t := rd.r.info.GeneratedAt
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format(reportTimeForm)
}

// footer runs at the bottom of every page: the page number and total.
func (rd *renderer) footer() {
	defer rd.ts.forget() // the library restores the page's font after it
	rd.color(colMuted)
	s := fmt.Sprintf("Page %d of {nb}", rd.pdf.PageNo())
	// The alias is replaced by the page count when the PDF is written; it
	// is at most as wide as "{nb}" for fewer than 10,000 pages.
	rd.ts.draw((pageW-rd.ts.width(s, false, smallSize))/2, pageH-7, s, false, smallSize)
	left := "auditlog · account " + strconv.FormatInt(rd.r.info.AccountID, 10)
	rd.ts.draw(marginX, pageH-7, left, false, smallSize)
}

// firstPage draws the title, what the report covers, and the summary.
func (rd *renderer) firstPage() {
	pdf, r, info := rd.pdf, rd.r, rd.r.info
	rd.color(colAccent)
	y := rd.text(marginX, 14, contentW, rd.title, true, 20)
	rd.color(colText)
	y = rd.text(marginX, y+1, contentW, info.AccountName, true, 13) + 3

	account := info.AccountName
	if info.AccountDomain != "" {
		account += " — " + info.AccountDomain
	}
	account += fmt.Sprintf(" (account ID %d)", info.AccountID)
	selection := "All events of the account's log"
	if len(info.Filters) > 0 {
		selection = strings.Join(info.Filters, "\n")
	}
	covered := "No events"
	if r.total > 0 {
		covered = fmt.Sprintf("%s %s, recorded %s to %s", thousands(r.total), plural(r.total, "event", "events"),
			r.first.UTC().Format(reportTimeForm), r.last.UTC().Format(reportTimeForm))
	}
	by := strings.TrimSpace(info.GeneratedByName + " " + angle(info.GeneratedByEmail))
	generated := rd.generatedAt()
	if by != "" {
		generated += " by " + by
	}
	cp := info.Checkpoint
	checkpoint := "Not provided"
	if cp.RootHash != "" {
		checkpoint = fmt.Sprintf("Tree size %s, root hash %s (signed note on the last page)", thousands(cp.TreeSize), cp.RootHash)
	}
	for _, kv := range [][2]string{
		{"Account", account}, {"Selection", selection}, {"Events in range", covered},
		{"Generated", generated}, {"Log checkpoint", checkpoint},
	} {
		rd.color(colMuted)
		rd.text(marginX, y, 38, kv[0], false, smallSize+0.5)
		rd.color(colText)
		y = rd.text(marginX+40, y, contentW-40, kv[1], false, bodySize) + 1.2
	}

	y = rd.room(y+4, 30) // heading and figures
	rd.color(colAccent)
	y = rd.text(marginX, y, contentW, "Summary", true, 13) + 2
	actions, actionsRest := r.actions.top(r.opts.TopN)
	actors, actorsRest := r.actors.top(r.opts.TopN)
	failShare := ""
	if r.total > 0 {
		failShare = fmt.Sprintf(" (%s)", percent(r.failures, r.total))
	}
	figures := [][2]string{
		{thousands(r.total), "events in range"},
		{thousands(r.failures) + failShare, "failures (outcome failure)"},
		{distinct(r.actions), "distinct actions"},
		{distinct(r.actors), "distinct actors"},
	}
	boxW := (contentW - 3*4) / 4
	for i, f := range figures {
		x := marginX + float64(i)*(boxW+4)
		rd.fill(colZebra)
		rd.rule(colRule)
		rd.lineWidth(0.2)
		pdf.Rect(x, y, boxW, 16, "FD")
		if i == 1 && r.failures > 0 {
			rd.color(colFail)
		} else {
			rd.color(colText)
		}
		rd.text(x+3, y+2.2, boxW-6, f[0], true, 15)
		rd.color(colMuted)
		rd.text(x+3, y+10, boxW-6, f[1], false, smallSize)
	}
	y += 16 + 6

	y = rd.room(y, 12+5*float64(max(len(actions), len(actors))+2))
	half := (contentW - 8) / 2
	yl := rd.topTable(marginX, y, half, "Top actions", "Action", actions, actionsRest, r.actions, "actions")
	yr := rd.topTable(marginX+half+8, y, half, "Top actors", "Actor", actors, actorsRest, r.actors, "actors")
	y = max(yl, yr) + 3
	rd.color(colMuted)
	if r.actions.other > 0 || r.actors.other > 0 {
		y = rd.text(marginX, y, contentW, fmt.Sprintf("More than %s distinct values: events whose action or actor was first seen after the first %s are counted under “Other”.",
			thousands(int64(r.opts.MaxKeys)), thousands(int64(r.opts.MaxKeys))), false, smallSize)
	}
	if r.total > int64(len(r.rows)) {
		y = rd.text(marginX, y, contentW, fmt.Sprintf("The event table lists the first %s of the %s events; the counts above cover all of them.",
			thousands(int64(len(r.rows))), thousands(r.total)), false, smallSize)
	}
	y += 6
	if y+24 > tableBottom {
		return // guidance only; long selections leave no room for it
	}
	rd.color(colAccent)
	y = rd.text(marginX, y, contentW, "Reading this report", true, 10.5) + 1
	rd.color(colText)
	rd.text(marginX, y, contentW,
		"The table on the next pages lists the events in the order of the account's log (#, the event's position in it), with times in UTC as the service recorded them. "+
			"Actor is who acted as recorded at the time; Details adds the changes an event records (field: old → new). Long text is shortened with “…”: "+
			"the CSV and NDJSON exports hold every field in full. The last page carries the signed checkpoint that ties these events to the verifiable log.",
		false, bodySize-0.5)
}

// room returns y, or the top of a new page when h mm do not fit below y
// (a long selection can push the summary off the first page).
func (rd *renderer) room(y, h float64) float64 {
	if y+h <= tableBottom {
		return y
	}
	rd.pdf.AddPage()
	return rd.pdf.GetY() + 2
}

// distinct renders the number of distinct keys a counter saw, "1,000+"
// when it stopped counting new ones.
func distinct(c *counter) string {
	s := thousands(int64(len(c.n)))
	if c.other > 0 {
		s += "+"
	}
	return s
}

// topTable draws a "top N" table and returns the y below it.
func (rd *renderer) topTable(x, y, w float64, title, keyTitle string, top []keyCount, rest int64, c *counter, noun string) float64 {
	pdf, total := rd.pdf, rd.r.total
	rd.color(colText)
	y = rd.text(x, y, w, title, true, 10.5) + 1
	numW, shareW := 22.0, 16.0
	keyW := w - numW - shareW
	rowH := 5.0
	rd.fill(colHead)
	pdf.Rect(x, y, w, rowH, "F")
	rd.color(colText)
	base := y + rowH*0.68
	rd.ts.draw(x+cellPadX, base, keyTitle, true, smallSize)
	rd.ts.draw(x+keyW+numW-cellPadX-rd.ts.width("Events", true, smallSize), base, "Events", true, smallSize)
	rd.ts.draw(x+w-cellPadX-rd.ts.width("Share", true, smallSize), base, "Share", true, smallSize)
	y += rowH
	row := func(key, num, share string, muted bool) {
		if muted {
			rd.color(colMuted)
		} else {
			rd.color(colText)
		}
		base := y + rowH*0.68
		key = rd.ts.fit(rd.ts.clean(strings.ReplaceAll(key, "\n", " ")), keyW-2*cellPadX, false, smallSize)
		rd.ts.draw(x+cellPadX, base, key, false, smallSize)
		rd.ts.draw(x+keyW+numW-cellPadX-rd.ts.width(num, false, smallSize), base, num, false, smallSize)
		rd.ts.draw(x+w-cellPadX-rd.ts.width(share, false, smallSize), base, share, false, smallSize)
		y += rowH
		rd.rule(colRule)
		rd.lineWidth(0.1)
		pdf.Line(x, y, x+w, y)
	}
	if len(top) == 0 {
		row("No events", "", "", true)
	}
	for _, kc := range top {
		row(kc.key, thousands(kc.count), percent(kc.count, total), false)
	}
	if rest > 0 {
		others := len(c.n) - len(top)
		label := fmt.Sprintf("Other (%s more %s)", thousands(int64(others)), noun)
		if c.other > 0 {
			label = fmt.Sprintf("Other (%s+ more %s)", thousands(int64(others)), noun)
		}
		row(label, thousands(rest), percent(rest, total), true)
	}
	return y
}

// tableHeader draws the column titles with their top at y.
func (rd *renderer) tableHeader(y float64) {
	pdf := rd.pdf
	h := tableLineH + 2*cellPadY
	rd.fill(colHead)
	pdf.Rect(marginX, y, contentW, h, "F")
	rd.color(colText)
	x := marginX
	for _, c := range rd.cols {
		rd.ts.draw(x+cellPadX, y+cellPadY+tableLineH*0.78, c.title, true, tableSize)
		x += c.width
	}
	pdf.SetY(y + h)
}

// table draws the event table over as many pages as it needs, then the
// notice of the events it does not list.
func (rd *renderer) table() {
	pdf, r := rd.pdf, rd.r
	rd.inTable = true
	pdf.AddPage()
	if len(r.rows) == 0 {
		rd.color(colMuted)
		rd.text(marginX, pdf.GetY()+3, contentW, "No events match the selection.", false, bodySize)
	}
	lines := make([][]string, len(rd.cols))
	for i := range r.rows {
		row := &r.rows[i]
		n := 1
		for j, c := range rd.cols {
			lines[j] = rd.ts.wrap(rd.ts.clean(c.cell(row)), c.width-2*cellPadX, false, tableSize)
			if len(lines[j]) > maxCellLines { // many short lines: keep the row within a page
				lines[j] = lines[j][:maxCellLines]
				lines[j][maxCellLines-1] = rd.ts.fit(lines[j][maxCellLines-1]+" …", c.width-2*cellPadX, false, tableSize)
			}
			n = max(n, len(lines[j]))
		}
		h := float64(n)*tableLineH + 2*cellPadY
		y := pdf.GetY()
		if y+h > tableBottom {
			pdf.AddPage()
			y = pdf.GetY()
		}
		if i%2 == 1 {
			rd.fill(colZebra)
			pdf.Rect(marginX, y, contentW, h, "F")
		}
		x := marginX
		for j, c := range rd.cols {
			bold := false
			switch {
			case row.failed && c.title == "Outcome":
				rd.color(colFail)
				bold = true
			case c.title == "#" || c.title == "Time (UTC)":
				rd.color(colMuted)
			default:
				rd.color(colText)
			}
			for k, line := range lines[j] {
				rd.ts.draw(x+cellPadX, y+cellPadY+float64(k)*tableLineH+tableLineH*0.78, line, bold, tableSize)
			}
			x += c.width
		}
		rd.rule(colRule)
		rd.lineWidth(0.1)
		pdf.Line(marginX, y+h, marginX+contentW, y+h)
		pdf.SetY(y + h)
	}
	rd.inTable = false
	if missing := r.total - int64(len(r.rows)); missing > 0 {
		rd.notice(fmt.Sprintf("%s more %s in range %s not listed: the table stops at %s rows. The summary counts all %s events. "+
			"For every event, export the same selection as CSV or NDJSON (GET /api/audit-logs/export?format=csv or format=ndjson); "+
			"the NDJSON export can be verified offline against the checkpoint below.",
			thousands(missing), plural(missing, "event", "events"), plural(missing, "is", "are"),
			thousands(int64(len(r.rows))), thousands(r.total)))
	}
}

// notice draws a highlighted paragraph below the table.
func (rd *renderer) notice(s string) {
	pdf := rd.pdf
	s = rd.ts.clean(s)
	lines := rd.ts.wrap(s, contentW-8, true, bodySize)
	lh := bodySize * 0.3528 * 1.3
	h := float64(len(lines))*lh + 6
	y := pdf.GetY() + 4
	if y+h > tableBottom {
		pdf.AddPage()
		y = pdf.GetY() + 2
	}
	rd.fill(colNotice)
	rd.rule(colFail)
	rd.lineWidth(0.3)
	pdf.Rect(marginX, y, contentW, h, "FD")
	rd.color(colText)
	rd.text(marginX+4, y+3, contentW-8, s, true, bodySize)
	pdf.SetY(y + h)
}

// checkpoint draws the account's signed checkpoint and how to use it.
func (rd *renderer) checkpoint() {
	pdf, cp := rd.pdf, rd.r.info.Checkpoint
	noteLines := strings.Count(strings.TrimRight(cp.Note, "\n"), "\n") + 1
	need := 62 + float64(noteLines)*4.5
	y := pdf.GetY() + 8
	if y+need > tableBottom {
		pdf.AddPage()
		y = pdf.GetY() + 2
	}
	rd.color(colAccent)
	y = rd.text(marginX, y, contentW, "Verifiable log checkpoint", true, 13) + 1.5
	rd.color(colText)
	if cp.Note == "" && cp.RootHash == "" {
		rd.text(marginX, y, contentW, "No checkpoint was provided for this report.", false, bodySize)
		return
	}
	y = rd.text(marginX, y, contentW,
		fmt.Sprintf("Each event of the account is a leaf of its verifiable log (RFC 6962 Merkle tree); event # in the table is its position in the log. "+
			"This checkpoint, signed by the service, commits to the first %s events of the log. With the verifier key, anyone can check the signature, "+
			"ask for a proof that an event is included (GET /api/audit-logs/{id}/proof), and check that later checkpoints extend this one "+
			"(GET /api/audit-logs/consistency). See docs/verification.md.", thousands(cp.TreeSize)),
		false, bodySize) + 2.5
	for _, kv := range [][2]string{
		{"Origin", cp.Origin}, {"Tree size", thousands(cp.TreeSize)}, {"Root hash", cp.RootHash}, {"Verifier key", cp.VerifierKey},
	} {
		rd.color(colMuted)
		rd.text(marginX, y, 38, kv[0], false, smallSize+0.5)
		rd.color(colText)
		y = rd.text(marginX+40, y, contentW-40, kv[1], false, bodySize) + 1
	}
	y += 2
	rd.color(colMuted)
	y = rd.text(marginX, y, contentW, "Signed note (C2SP signed-note format, verbatim):", false, smallSize+0.5) + 1
	note := rd.ts.clean(strings.TrimRight(cp.Note, "\n"))
	lines := rd.ts.wrap(note, contentW-8, false, bodySize)
	lh := bodySize * 0.3528 * 1.35
	h := float64(len(lines))*lh + 5
	if y+h > tableBottom {
		pdf.AddPage()
		y = pdf.GetY() + 2
	}
	rd.fill(colZebra)
	rd.rule(colRule)
	rd.lineWidth(0.2)
	pdf.Rect(marginX, y, contentW, h, "FD")
	rd.color(colText)
	for i, line := range lines {
		rd.ts.draw(marginX+4, y+2.5+float64(i)*lh+lh*0.78, line, false, bodySize)
	}
	pdf.SetY(y + h)
}

// thousands renders n with comma thousands separators.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func percent(n, total int64) string {
	if total == 0 {
		return "–"
	}
	p := float64(n) * 100 / float64(total)
	if p > 0 && p < 0.1 {
		return "<0.1%"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + "%"
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
