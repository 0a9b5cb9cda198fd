package sqlstore_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// packedFixture opens a SQLite store with two accounts and 2,300 events
// in the first (between events of the second) whose text covers what the
// packing must carry: NULLs, empty and multi-line text, other scripts,
// separators and digits that look like those of a packing, a NUL byte
// (event 1200, seq 1201), and the packing's own separator (event 1500,
// seq 1501), which it cannot carry; half the events are a user's of the
// account.
func packedFixture(t *testing.T) (*sqlstore.DB, *audit.Account, []*audit.Event) {
	t.Helper()
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
		if i == 1200 {
			e.Details = "a NUL \x00 inside"
		}
		if i == 1500 {
			e.Details = "a NUL \x00 and a unit separator \x1f inside"
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
	return db, a, evs
}

// TestExportPackedRows checks that an export on SQLite, which reads each
// event packed into one value, gives exactly the events that reading
// column by column gives: every column, NULLs, empty and multi-line text,
// other scripts, a NUL byte, page boundaries, another account's events
// between; and that a row whose text holds the packing's separator (which
// the packing cannot carry) comes out whole, its page read column by
// column.
func TestExportPackedRows(t *testing.T) {
	db, a, evs := packedFixture(t)
	ctx := t.Context()
	read := func(unpacked bool, f audit.EventFilter) []*audit.Event {
		t.Helper()
		sqlstore.UnpackedReadsForTest(db, unpacked)
		defer sqlstore.UnpackedReadsForTest(db, false)
		var out []*audit.Event
		if err := db.ExportRange(ctx, a.ID, f, 0, int64(len(evs)), func(e *audit.Event) error { out = append(out, e); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The unfiltered read's second page holds the separator (seq 1501); the
	// filtered read does not reach it (its action is act.2).
	for _, c := range []struct {
		f         audit.EventFilter
		fallbacks int64
	}{{audit.EventFilter{}, 1}, {audit.EventFilter{Action: "act.3"}, 0}} {
		f := c.f
		want := read(true, f)
		before := sqlstore.PackedFallbacksForTest(db)
		got := read(false, f)
		if n := sqlstore.PackedFallbacksForTest(db) - before; n != c.fallbacks {
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
	if all[1500].Details != "a NUL \x00 and a unit separator \x1f inside" || all[1200].Details != "a NUL \x00 inside" || all[0].Metadata == nil || all[1].Metadata != nil || !all[0].OccurredAt.Equal(evs[0].OccurredAt) {
		t.Errorf("events read back wrong: %q, %q, %q, %v", all[1500].Details, all[0].Metadata, all[1].Metadata, all[0].OccurredAt)
	}
}

// TestListPackedRows checks that a listing on SQLite, which reads each
// event and its acting user packed into one value, gives exactly the page
// that reading column by column gives: pages by number, deep pages by the
// deferred join, by cursor, with a filter, words and an actor, the acting
// user joined and absent, erased events, a NUL byte; and that a page
// holding the row with the packing's separator is read again column by
// column, whole.
func TestListPackedRows(t *testing.T) {
	db, a, evs := packedFixture(t)
	ctx := t.Context()
	err := db.Update(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.ErasePersonalData(ctx, a.ID, sqlstore.ErasureSubject{ActorID: "plain"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	search := func(s string) *query.Query {
		t.Helper()
		q, err := query.Parse(s, now)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	read := func(unpacked bool, q *query.Query, p audit.PageRequest) *audit.EventPage {
		t.Helper()
		sqlstore.UnpackedReadsForTest(db, unpacked)
		defer sqlstore.UnpackedReadsForTest(db, false)
		page, err := db.SearchEvents(ctx, a.ID, q, p)
		if err != nil {
			t.Fatal(err)
		}
		return page
	}
	first := read(true, nil, audit.PageRequest{Page: 1, PerPage: 50})
	after := &audit.Position{CreatedAt: first.Events[49].CreatedAt, Seq: first.Events[49].Seq}
	// Newest first, the separator (seq 1501) is the 800th event: on page
	// 16 of 50, and read as the extra row of page 8 of 100; the NUL (seq
	// 1201) is on page 22 of 50.
	cases := []struct {
		name      string
		q         *query.Query
		p         audit.PageRequest
		fallbacks int64
	}{
		{"first page", nil, audit.PageRequest{Page: 1, PerPage: 50}, 0},
		{"third page", nil, audit.PageRequest{Page: 3, PerPage: 100}, 0},
		{"the separator's page", nil, audit.PageRequest{Page: 16, PerPage: 50}, 1},
		{"the separator as the extra row", nil, audit.PageRequest{Page: 8, PerPage: 100}, 1},
		{"the NUL's page", nil, audit.PageRequest{Page: 22, PerPage: 50}, 0},
		{"last page", nil, audit.PageRequest{Page: 46, PerPage: 50}, 0},
		{"past the end", nil, audit.PageRequest{Page: 99, PerPage: 50}, 0},
		{"by cursor", nil, audit.PageRequest{PerPage: 50, After: after}, 0},
		{"filter", query.FromFilter(audit.EventFilter{Action: "act.3"}), audit.PageRequest{Page: 2, PerPage: 20}, 0},
		{"words", search("plain"), audit.PageRequest{Page: 1, PerPage: 30}, 0},
		{"actor", search(`actor:"Zoë Łukasz"`), audit.PageRequest{Page: 3, PerPage: 25}, 0},
		{"user", query.FromFilter(audit.EventFilter{UserID: evs[0].UserID}), audit.PageRequest{Page: 2, PerPage: 25}, 0},
		{"outcome and cursor", search("outcome:failure"), audit.PageRequest{PerPage: 40, After: after}, 0},
	}
	for _, deferAt := range []int{0, 1} {
		// deferAt 1 reads every page after the first by the deferred join.
		sqlstore.ForceSearchPlanForTest(db, 0, deferAt, 0)
		for _, c := range cases {
			want := read(true, c.q, c.p)
			before := sqlstore.PackedFallbacksForTest(db)
			got := read(false, c.q, c.p)
			if n := sqlstore.PackedFallbacksForTest(db) - before; n != c.fallbacks {
				t.Errorf("%s (deferAt %d): %d pages read again column by column; want %d", c.name, deferAt, n, c.fallbacks)
			}
			if c.name != "past the end" && len(want.Events) == 0 {
				t.Fatalf("%s: no events", c.name)
			}
			if !reflect.DeepEqual(got, want) {
				for i := range min(len(got.Events), len(want.Events)) {
					if !reflect.DeepEqual(got.Events[i], want.Events[i]) {
						t.Fatalf("%s (deferAt %d): event %d packed:\n%+v %+v\ncolumn by column:\n%+v %+v", c.name, deferAt, i, got.Events[i], got.Events[i].User, want.Events[i], want.Events[i].User)
					}
				}
				t.Fatalf("%s (deferAt %d): packed %d events %+v, column by column %d %+v", c.name, deferAt, len(got.Events), got.Pagination, len(want.Events), want.Pagination)
			}
		}
	}
	// The pages hold what they must: users joined and not, erased events.
	page := read(false, nil, audit.PageRequest{Page: 1, PerPage: 100})
	var users, erased int
	for _, e := range page.Events {
		if e.User != nil && e.User.Email == "o@packed0.example.com" && e.User.Role == audit.RoleOwner && e.User.AccountID == a.ID {
			users++
		}
		if e.Salt == nil {
			erased++
		}
	}
	if users != 50 || erased == 0 {
		t.Errorf("first 100 events: %d with their user, %d erased; want 50 and some", users, erased)
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
			sqlstore.UnpackedReadsForTest(db, unpacked)
			defer sqlstore.UnpackedReadsForTest(db, false)
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
