package export

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/go-pdf/fpdf"
)

// sampleInfo is the report information of the sample report.
func sampleInfo() ReportInfo {
	return ReportInfo{
		AccountID: 42, AccountName: "Northwind Goods", AccountDomain: "northwind-goods.com",
		Filters: []string{
			"Recorded from 2026-11-01 00:00 UTC to 2026-11-30 23:59 UTC",
			"Any action, any user",
		},
		GeneratedAt:     time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC),
		GeneratedByName: "María González", GeneratedByEmail: "maria.gonzalez@northwind-goods.com",
		Checkpoint: ReportCheckpoint{
			Origin:   "audit.northwind-goods.com/log/42",
			TreeSize: 1877,
			RootHash: "tV0cX1q8rjfK3U5m4S2Qe6oVYfP0C8nH7bL9wZ1dAeg=",
			Note: "audit.northwind-goods.com/log/42\n1877\ntV0cX1q8rjfK3U5m4S2Qe6oVYfP0C8nH7bL9wZ1dAeg=\n\n" +
				"— audit.northwind-goods.com 3q2+7wAB1mJ0tqv0PU8m6yLzEu0b7u0dGm1XkOq2o1m6V9i0bH6yB2k7p5Xo3N9r7Qe4a1Wf8sT0cYhUo2dJkL9pA3g=\n",
			VerifierKey: "audit.northwind-goods.com+9c4f2a1e+AW0fS1rB2mZ7yGk4Lq3nP8tVx6cE5dH0jU9wR2aO1iKs",
		},
	}
}

// renderPDF builds a report of events and returns the PDF.
func renderPDF(t testing.TB, info ReportInfo, opts PDFOptions, events []*audit.Event) []byte {
	t.Helper()
	r := NewPDFReport(info, opts)
	for _, e := range events {
		if err := r.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	n, err := r.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo returned %d; wrote %d bytes", n, buf.Len())
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("output does not start with %%PDF-: %q", buf.Bytes()[:min(buf.Len(), 16)])
	}
	return buf.Bytes()
}

// needTool skips the test when a command is missing, except in CI
// (CI=true), where .ci/run installs poppler-utils and a missing tool fails.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (poppler-utils); CI must install it: %v", name, err)
		}
		t.Skipf("%s not found: install poppler-utils to run this test", name)
	}
	return path
}

// pdfText returns the text of pages first..last of a PDF (last 0: to the
// end), as pdftotext extracts it.
func pdfText(t *testing.T, pdf []byte, first, last int) string {
	t.Helper()
	bin := needTool(t, "pdftotext")
	file := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(file, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-enc", "UTF-8", "-f", fmt.Sprint(first)}
	if last > 0 {
		args = append(args, "-l", fmt.Sprint(last))
	}
	out, err := exec.Command(bin, append(args, file, "-")...).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// pdfPages returns the page count pdfinfo reports.
func pdfPages(t *testing.T, pdf []byte) int {
	t.Helper()
	bin := needTool(t, "pdfinfo")
	file := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(file, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, file).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	var n int
	for line := range strings.SplitSeq(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Pages:"); ok {
			fmt.Sscan(strings.TrimSpace(v), &n)
		}
	}
	if n == 0 {
		t.Fatalf("pdfinfo shows no page count:\n%s", out)
	}
	return n
}

// reportEvents are ~300 events: the realistic sample and the tricky ones.
func reportEvents() []*audit.Event {
	events := sampleEvents(286)
	for i, e := range trickyEvents() {
		c := *e
		c.Seq, c.ID = int64(287+i), int64(90000+i)
		c.CreatedAt = sampleBase.Add(30 * 24 * time.Hour).Add(time.Duration(i) * time.Minute)
		events = append(events, &c)
	}
	return events
}

func countFailures(events []*audit.Event) int {
	n := 0
	for _, e := range events {
		if e.Outcome == audit.OutcomeFailure {
			n++
		}
	}
	return n
}

func TestPDFReportContents(t *testing.T) {
	events := reportEvents()
	pdf := renderPDF(t, sampleInfo(), PDFOptions{}, events)
	if !bytes.Contains(pdf, []byte("/BaseFont /utf8droidsansfallback")) {
		t.Error("a report with CJK text does not embed the CJK font")
	}
	pages := pdfPages(t, pdf)
	if pages < 4 {
		t.Fatalf("%d pages; want the table to span several", pages)
	}
	first := pdfText(t, pdf, 1, 1)
	cp := sampleInfo().Checkpoint
	for _, want := range []string{
		"Audit log report", "Northwind Goods", "northwind-goods.com", "account ID 42",
		"Recorded from 2026-11-01 00:00 UTC to 2026-11-30 23:59 UTC", "Any action, any user",
		"2026-12-01 09:30:00 UTC by María González <maria.gonzalez@northwind-goods.com>",
		fmt.Sprintf("%d events, recorded 2026-11-02 08:15:00 UTC", len(events)),
		"Summary", "events in range", fmt.Sprint(len(events)),
		fmt.Sprintf("%d (", countFailures(events)), "failures",
		"Top actions", "order.refunded", "login_failed", "Top actors", "María González <maria.gonzalez@northwind-goods.com>",
		"Tree size 1,877", "Page 1 of " + fmt.Sprint(pages),
	} {
		if !strings.Contains(first, want) {
			t.Errorf("page 1 lacks %q", want)
		}
	}
	for page := 2; page <= 3; page++ {
		text := pdfText(t, pdf, page, page)
		for _, want := range []string{"Time (UTC)", "Action", "Actor", "Resource", "Outcome", "IP address", "Details",
			fmt.Sprintf("Page %d of %d", page, pages), "Northwind Goods (account 42)"} {
			if !strings.Contains(text, want) {
				t.Errorf("page %d lacks %q", page, want)
			}
		}
	}
	all := pdfText(t, pdf, 1, 0)
	for _, want := range []string{
		"payout.destination_changed", "staff.role_changed", "price: 25.00 → 22.50", "Ольга Иванова", "田中 健二",
		"Größe M", "Refunded €20.00", "203.0.113.10",
		"Verifiable log checkpoint", cp.Origin, cp.RootHash, cp.VerifierKey, "— audit.northwind-goods.com 3q2+7wAB",
		"emoji \uFFFD", // characters no font has show as U+FFFD
	} {
		if !strings.Contains(all, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// CJK lines break between characters, so look for it without the breaks.
	if joined := strings.Join(strings.Fields(all), ""); !strings.Contains(joined, "注文を返金しました") {
		t.Error("report lacks 注文を返金しました")
	}
	if strings.Contains(all, "not listed") {
		t.Error("report under the cap has a cap notice")
	}
}

func TestPDFReportCap(t *testing.T) {
	events := reportEvents()
	pdf := renderPDF(t, sampleInfo(), PDFOptions{MaxRows: 40}, events)
	all := pdfText(t, pdf, 1, 0)
	missing := len(events) - 40
	for _, want := range []string{
		fmt.Sprintf("%d more events in range are not listed: the table stops at 40 rows.", missing),
		fmt.Sprintf("The summary counts all %d events", len(events)),
		"format=csv", fmt.Sprintf("The event table lists the first 40 of the %d events", len(events)),
		"Verifiable log checkpoint",
	} {
		if !strings.Contains(strings.Join(strings.Fields(all), " "), want) {
			t.Errorf("capped report lacks %q", want)
		}
	}
	// Event 40 is listed, event 41 is not (their times are unique).
	if t40 := events[39].CreatedAt.Format("15:04:05"); !strings.Contains(all, t40) {
		t.Errorf("capped report lacks the 40th event (%s)", t40)
	}
	if t41 := events[40].CreatedAt.Format("15:04:05"); strings.Contains(all, t41) {
		t.Errorf("capped report lists the 41st event (%s)", t41)
	}
}

// TestPDFReportLargeSeqs checks that the # column holds a seq of a large
// log on one line: a month of a ten-million-event log has eight-digit seqs
// (the column's first width wrapped five digits).
func TestPDFReportLargeSeqs(t *testing.T) {
	events := sampleEvents(5)
	for i, e := range events {
		e.Seq = 12_345_670 + int64(i)
	}
	pdf := renderPDF(t, sampleInfo(), PDFOptions{}, events)
	table := pdfText(t, pdf, 2, 0)
	for _, e := range events {
		if s := strconv.FormatInt(e.Seq, 10); !strings.Contains(table, s) {
			t.Errorf("the table does not show seq %s on one line:\n%s", s, table)
		}
	}
}

// TestPDFReportTallRows checks that rows whose text has many lines stay
// within a page, and that they do not make the table run away.
func TestPDFReportTallRows(t *testing.T) {
	events := sampleEvents(6)
	events[1].Details = strings.Repeat("line\n", 500)
	events[2].Details = strings.Repeat("Ω", 5000)
	events[3].Changes = []byte("[" + strings.Repeat(`{"field":"f","old":1,"new":2},`, 300) + `{"field":"last","old":1,"new":2}]`)
	pdf := renderPDF(t, sampleInfo(), PDFOptions{}, events)
	if pages := pdfPages(t, pdf); pages > 4 {
		t.Errorf("%d pages for 6 events; want at most 4", pages)
	}
	all := pdfText(t, pdf, 1, 0)
	if !strings.Contains(all, "line …") {
		t.Error("a cell cut at its line limit does not end with an ellipsis")
	}
}

// TestPDFReportLongSelection checks that a selection described in many
// lines moves the summary to the next page rather than over the footer.
func TestPDFReportLongSelection(t *testing.T) {
	info := sampleInfo()
	for i := range 30 {
		info.Filters = append(info.Filters, fmt.Sprintf("Resource ID is one of order #%d to #%d", 1000*i, 1000*i+999))
	}
	pdf := renderPDF(t, info, PDFOptions{}, sampleEvents(30))
	first, second := pdfText(t, pdf, 1, 1), pdfText(t, pdf, 2, 2)
	if !strings.Contains(first, "#29999") {
		t.Error("page 1 lacks the last filter")
	}
	if strings.Contains(first, "Top actions") || !strings.Contains(second, "Top actions") {
		t.Error("the summary's tables did not move to page 2")
	}
}

func TestPDFReportEmpty(t *testing.T) {
	info := sampleInfo()
	info.Filters = nil
	info.Checkpoint = ReportCheckpoint{}
	pdf := renderPDF(t, info, PDFOptions{}, nil)
	if bytes.Contains(pdf, []byte("/BaseFont /utf8droidsansfallback")) {
		t.Error("a report without CJK text embeds the CJK font")
	}
	all := pdfText(t, pdf, 1, 0)
	for _, want := range []string{"All events of the account's log", "No events", "No events match the selection.",
		"No checkpoint was provided"} {
		if !strings.Contains(all, want) {
			t.Errorf("empty report lacks %q", want)
		}
	}
}

// TestPDFReportPNG renders pages 1 and 2 to PNG, as a person would see
// them. With -update it also rewrites the sample report of the docs,
// docs/sample-report.pdf (300 realistic events), and its first page,
// docs/sample-report-page1.png:
//
//	go test ./internal/export/ -run TestPDFReportPNG -update
func TestPDFReportPNG(t *testing.T) {
	bin := needTool(t, "pdftoppm")
	pdf := renderPDF(t, sampleInfo(), PDFOptions{}, reportEvents())
	dir := t.TempDir()
	file := filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(file, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-r", "60", "-png", "-f", "1", "-l", "2", file, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "page-*.png")) // page-1.png, or page-01.png for 10+ pages
	if len(names) != 2 {
		t.Fatalf("pdftoppm wrote %q; want pages 1 and 2", names)
	}
	for _, path := range names {
		name := filepath.Base(path)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG")) || len(b) < 10_000 {
			t.Errorf("%s: %d bytes, not a rendered page", name, len(b))
		}
		if dst := os.Getenv("AUDITLOG_REPORT_PNG_DIR"); dst != "" { // to look at them
			os.WriteFile(filepath.Join(dst, name), b, 0o644)
		}
	}
	if *update {
		// The sample in docs/ shows realistic events only.
		pdf := renderPDF(t, sampleInfo(), PDFOptions{}, sampleEvents(300))
		docs := filepath.Join("..", "..", "docs")
		file := filepath.Join(docs, "sample-report.pdf")
		if err := os.WriteFile(file, pdf, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-r", "80", "-png", "-f", "1", "-l", "1", "-singlefile", file, filepath.Join(docs, "sample-report-page1")).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v\n%s", err, out)
		}
	}
}

func TestPDFReportOnce(t *testing.T) {
	r := NewPDFReport(sampleInfo(), PDFOptions{})
	if _, err := r.WriteTo(io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(sampleEvent(0)); !errors.Is(err, ErrReportWritten) {
		t.Errorf("Add after WriteTo = %v; want ErrReportWritten", err)
	}
	if _, err := r.WriteTo(io.Discard); !errors.Is(err, ErrReportWritten) {
		t.Errorf("second WriteTo = %v; want ErrReportWritten", err)
	}
}

func TestPDFReportWriteError(t *testing.T) {
	boom := errors.New("connection reset")
	r := NewPDFReport(sampleInfo(), PDFOptions{})
	r.Add(sampleEvent(0))
	if _, err := r.WriteTo(failingWriter{boom}); !errors.Is(err, boom) {
		t.Errorf("WriteTo = %v; want it to wrap the writer's error", err)
	}
}

func TestCounter(t *testing.T) {
	tests := []struct {
		name      string
		limit     int
		keys      string // one event per letter
		n         int
		want      string
		wantRest  int64
		wantOther int64
	}{
		{"empty", 10, "", 3, "", 0, 0},
		{"under top", 10, "aab", 3, "a=2 b=1", 0, 0},
		{"top cut", 10, "aaabbc", 2, "a=3 b=2", 1, 0},
		{"ties by key", 10, "bbaacc", 2, "a=2 b=2", 2, 0},
		{"limit reached", 2, "aabcbd", 5, "a=2 b=2", 2, 2},
		{"late heavy key counted as other", 1, "abbbb", 5, "a=1", 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCounter(tt.limit)
			for _, k := range tt.keys {
				c.add(string(k))
			}
			top, rest := c.top(tt.n)
			var got []string
			for _, kc := range top {
				got = append(got, fmt.Sprintf("%s=%d", kc.key, kc.count))
			}
			if g := strings.Join(got, " "); g != tt.want || rest != tt.wantRest || c.other != tt.wantOther {
				t.Errorf("top(%d) = %q, rest %d, other %d; want %q, %d, %d", tt.n, g, rest, c.other, tt.want, tt.wantRest, tt.wantOther)
			}
		})
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven ch…"},
		{"日本語のテキストです", 5, "日本語の…"},
		{"bad \xff", 10, "bad \uFFFD"},
	}
	for _, tt := range tests {
		if got := cut(tt.in, tt.n); got != tt.want {
			t.Errorf("cut(%q, %d) = %q; want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestChangesText(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, ``},
		{`[{"field":"price","old":"25.00","new":"22.50"}]`, "price: 25.00 → 22.50"},
		{`[{"field":"qty","old":1,"new":2},{"field":"tags","old":null,"new":["a"]}]`, "qty: 1 → 2\ntags: – → [\"a\"]"},
		{`{"not":"an array"}`, `Changes: {"not":"an array"}`},
	}
	for _, tt := range tests {
		if got := changesText([]byte(tt.in)); got != tt.want {
			t.Errorf("changesText(%s) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestTypesetter(t *testing.T) {
	cov, err := fontCoverage()
	if err != nil {
		t.Fatal(err)
	}
	ts := newTypesetter(fpdf.New("L", "mm", "A4", ""), cov, true)
	tests := []struct {
		name, in, want string
	}{
		{"plain", "hello", "hello"},
		{"control characters", "a\tb\x00c\r\nd\re", "a b c\nd\ne"},
		{"emoji has no glyph", "ok 🎉", "ok \uFFFD"},
		{"emoji sequence is one mark", "a👩‍💻b 👍🏽 c", "a\uFFFDb \uFFFD c"},
		{"emoji presentation selector dropped", "I ❤️ it", "I ❤ it"},
		{"CJK kept for the fallback font", "注文", "注文"},
		{"combining mark composed", "e\u0301", "é"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"bidi controls dropped", "a\u202eb", "ab"},
	}
	for _, tt := range tests {
		if got := ts.clean(tt.in); got != tt.want {
			t.Errorf("%s: clean(%q) = %q; want %q", tt.name, tt.in, got, tt.want)
		}
	}
	if got := visual("abc שלום def"); got != "abc םולש def" {
		t.Errorf("visual = %q", got)
	}
	long := strings.Repeat("word ", 40) + strings.Repeat("x", 200) + " 日本語日本語日本語日本語日本語日本語"
	for _, line := range ts.wrap(ts.clean(long), 50, false, tableSize) {
		if w := ts.width(line, false, tableSize); w > 50 {
			t.Errorf("line %q is %.1f mm wide; want at most 50", line, w)
		}
	}
}

// TestPDFReportMemoryBounded adds 200,000 events to a report capped at 100
// rows: the summary counts them all, and the heap stays flat.
func TestPDFReportMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	events := sampleEvents(900)
	r := NewPDFReport(sampleInfo(), PDFOptions{MaxRows: 100})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	add := func(n int) {
		for i := range n {
			if err := r.Add(events[i%len(events)]); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(10_000)
	before := heap()
	add(200_000)
	after := heap()
	if after > before+1<<20 {
		t.Errorf("heap grew from %d to %d bytes over 200,000 events", before, after)
	}
	if r.Count() != 210_000 || len(r.rows) != 100 {
		t.Errorf("count %d, rows %d; want 210000, 100", r.Count(), len(r.rows))
	}
	if _, err := r.WriteTo(io.Discard); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPDFReportAtCap builds a report of DefaultPDFMaxRows events, the
// largest table a report holds.
func BenchmarkPDFReportAtCap(b *testing.B) {
	events := sampleEvents(DefaultPDFMaxRows)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		r := NewPDFReport(sampleInfo(), PDFOptions{})
		for _, e := range events {
			if err := r.Add(e); err != nil {
				b.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if _, err := r.WriteTo(&buf); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(size)/(1<<20), "MB-pdf")
	b.ReportMetric(float64(m.HeapSys)/(1<<20), "MB-heap-sys")
}

// TestPDFReportCompactPages checks that the pages say each font, colour
// and line width once, not before every piece of text: the pages are held
// uncompressed until the report is written, so their size is the report's
// memory.
func TestPDFReportCompactPages(t *testing.T) {
	r := NewPDFReport(sampleInfo(), PDFOptions{})
	for i := range 600 {
		if err := r.Add(sampleEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := r.render()
	if err != nil {
		t.Fatal(err)
	}
	doc.SetCompression(false)
	var buf bytes.Buffer
	if err := doc.Output(&buf); err != nil {
		t.Fatal(err)
	}
	content := buf.String()
	texts := strings.Count(content, ") Tj ET")
	fonts := strings.Count(content, " Tf ET")
	pages := doc.PageNo()
	t.Logf("%d pages, %d pieces of text, %d font selections, %d bytes", pages, texts, fonts, buf.Len())
	// A font change is written where the font does change (bold, the CJK
	// fallback, the header's size) and once after each page's header.
	if fonts*4 > texts {
		t.Errorf("%d font selections for %d pieces of text; want at most one for four", fonts, texts)
	}
	if n := strings.Count(content, " rg BT "); n > 0 {
		t.Errorf("%d pieces of text wrapped in a colour of their own; want text in the fill colour", n)
	}
	// A line width is written when it changes (the header's rule, the
	// table's rows) and where the library starts a page: a few a page, not
	// one for each row.
	widths := 0
	for _, line := range strings.Split(content, "\n") {
		if strings.HasSuffix(line, " w") {
			widths++
		}
	}
	if widths > 4*pages {
		t.Errorf("%d line widths on %d pages; want at most four a page", widths, pages)
	}
}

// TestPDFReportGCPercent checks that writing a report gives back the
// garbage collector's target it found, whatever it was (GOGC=off too).
func TestPDFReportGCPercent(t *testing.T) {
	for _, start := range []int{100, 200, reportGCPercent, 20, -1} {
		before := debug.SetGCPercent(start)
		r := NewPDFReport(sampleInfo(), PDFOptions{})
		for i := range 50 {
			if err := r.Add(sampleEvent(i)); err != nil {
				t.Fatal(err)
			}
		}
		_, err := r.WriteTo(io.Discard)
		if got := debug.SetGCPercent(before); got != start {
			t.Errorf("GOGC %d before the report, %d after", start, got)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
