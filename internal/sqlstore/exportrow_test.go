package sqlstore_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestExportPackedRows checks that an export on SQLite, which reads each
// event packed into one value, gives exactly the events that reading
// column by column gives: every column, NULLs, empty and multi-line text,
// other scripts, separators and digits that look like the packing's own,
// page boundaries, another account's events between; and that a row whose
// text holds a NUL byte (which the packing cannot carry) comes out whole,
// its page read column by column.
func TestExportPackedRows(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	ctx := t.Context()
	signer := sqltest.Signer(t)
	var accounts [2]*audit.Account
	for i := range accounts {
		accounts[i] = &audit.Account{Name: "Packed " + strconv.Itoa(i), Domain: "packed" + strconv.Itoa(i) + ".example.com"}
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, accounts[i]) }); err != nil {
			t.Fatal(err)
		}
	}
	a := accounts[0]
	u := &audit.User{AccountID: a.ID, Email: "o@packed0.example.com", PasswordHash: "x", FirstName: "O", Role: audit.RoleOwner, IsActive: true}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"", "plain", "12:34", "-1:", "3:abc", "line one\nline two\r\nthree", "Zoë Łukasz", "山田 太郎", "שלום", "emoji 🎉",
		strings.Repeat("long ", 400), `{"quoted":"json"}`, "%d:%s %%", "'; DROP TABLE events; --",
	}
	occurred := time.Date(2026, 2, 28, 23, 59, 59, 123456000, time.UTC)
	var evs []*audit.Event
	for i := range 2300 { // pages of 1,000: two whole and one part
		s := texts[i%len(texts)]
		e := &audit.Event{
			AccountID: a.ID, Action: "act." + strconv.Itoa(i%7), ResourceType: s, ResourceID: strconv.Itoa(i),
			Details: s, IPAddress: "203.0.113.7", UserAgent: s, ActorType: "customer", ActorID: s, ActorEmail: s, ActorName: s,
			Outcome: []string{"", audit.OutcomeSuccess, audit.OutcomeFailure}[i%3],
		}
		if i%2 == 0 {
			e.UserID, e.EventID, e.OccurredAt = u.ID, "evt-"+strconv.Itoa(i), occurred
			e.Metadata = []byte(`{"n":` + strconv.Itoa(i) + `,"s":"a:b"}`)
			e.Changes = []byte(`[{"field":"price","old":"1","new":"2"}]`)
		}
		if i%5 == 0 {
			e.Metadata = []byte(`{}`)
		}
		if i == 1500 {
			e.Details = "a NUL \x00 inside"
		}
		evs = append(evs, e)
	}
	other := &audit.Event{AccountID: accounts[1].ID, Action: "other", Details: "not exported"}
	for i := 0; i < len(evs); i += 250 {
		batch := append([]*audit.Event{other}, evs[i:min(i+250, len(evs))]...)
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, signer, batch...); return err }); err != nil {
			t.Fatal(err)
		}
	}
	read := func(unpacked bool, f audit.EventFilter) []*audit.Event {
		t.Helper()
		sqlstore.UnpackedExportForTest(db, unpacked)
		defer sqlstore.UnpackedExportForTest(db, false)
		var out []*audit.Event
		if err := db.ExportRange(ctx, a.ID, f, 0, int64(len(evs)), func(e *audit.Event) error { out = append(out, e); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The unfiltered read's second page holds the NUL (seq 1501); the
	// filtered read does not reach it (its action is act.2).
	for _, c := range []struct {
		f         audit.EventFilter
		fallbacks int64
	}{{audit.EventFilter{}, 1}, {audit.EventFilter{Action: "act.3"}, 0}} {
		f := c.f
		want := read(true, f)
		before := sqlstore.PackedExportFallbacksForTest(db)
		got := read(false, f)
		if n := sqlstore.PackedExportFallbacksForTest(db) - before; n != c.fallbacks {
			t.Errorf("filter %+v: %d pages read again column by column; want %d", f, n, c.fallbacks)
		}
		if len(want) == 0 || len(got) != len(want) {
			t.Fatalf("filter %+v: %d events packed, %d column by column", f, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("filter %+v: event %d packed:\n%+v\ncolumn by column:\n%+v", f, want[i].Seq, got[i], want[i])
			}
		}
	}
	all := read(false, audit.EventFilter{})
	if all[1500].Details != "a NUL \x00 inside" || all[0].Metadata == nil || all[1].Metadata != nil || !all[0].OccurredAt.Equal(occurred) {
		t.Errorf("events read back wrong: %q, %q, %q, %v", all[1500].Details, all[0].Metadata, all[1].Metadata, all[0].OccurredAt)
	}
}

// BenchmarkExportRange measures the store's share of a complete export on
// SQLite: ExportRange over an account of 50,000 events, each packed into
// one value (as exports read) and column by column (as before), in the
// same run. events/s is the figure to compare.
func BenchmarkExportRange(b *testing.B) {
	db := sqltest.OpenSQLite(b)
	ctx := b.Context()
	a := &audit.Account{Name: "Bench", Domain: "bench.example.com"}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		b.Fatal(err)
	}
	const n = 50_000
	for range n / 1000 {
		evs := benchEvents(a.ID, 1000)
		for _, e := range evs {
			e.Metadata = []byte(`{"amount":"42.00","currency":"USD"}`)
		}
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, sqltest.Signer(b), evs...); return err }); err != nil {
			b.Fatal(err)
		}
	}
	for _, unpacked := range []bool{false, true} {
		b.Run(map[bool]string{false: "packed", true: "columns"}[unpacked], func(b *testing.B) {
			sqlstore.UnpackedExportForTest(db, unpacked)
			defer sqlstore.UnpackedExportForTest(db, false)
			cpu0 := processCPU()
			for b.Loop() {
				got := 0
				if err := db.ExportRange(ctx, a.ID, audit.EventFilter{}, 0, n, func(e *audit.Event) error { got++; return nil }); err != nil || got != n {
					b.Fatal(got, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(n*b.N), "cpu-ns/event")
		})
	}
}
