package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// testExportReads checks the export's reads: ExportEvents and ExportRange
// give the account's events in seq order within their bounds, across page
// boundaries, and CountEvents counts what ExportEvents gives, filter and
// bound alike.
func testExportReads(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a := newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	const n = 2500 // pages of 1,000: two whole and one part
	evs := make([]*audit.Event, n)
	for i := range evs {
		evs[i] = event(a.ID, []string{"order_created", "order_refunded", "product_created"}[i%3])
	}
	for i := 0; i < n; i += 500 {
		appendEvents(t, db, evs[i:i+500]...)
	}
	appendEvents(t, db, event(b.ID, "order_created"))

	seqs := func(f audit.EventFilter, after, upTo int64) []int64 {
		t.Helper()
		var got []int64
		err := db.ExportRange(ctx, a.ID, f, after, upTo, func(e *audit.Event) error {
			if e.AccountID != a.ID {
				t.Fatalf("event of account %d", e.AccountID)
			}
			got = append(got, e.Seq)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := func(from, to int64, keep func(seq int64) bool) []int64 {
		var out []int64
		for s := from; s <= to; s++ {
			if keep == nil || keep(s) {
				out = append(out, s)
			}
		}
		return out
	}
	for _, r := range [][2]int64{{0, n}, {0, 1000}, {1000, 2000}, {999, 1001}, {2000, n}, {n, n}, {0, 2400}} {
		if got, w := seqs(audit.EventFilter{}, r[0], r[1]), want(r[0]+1, r[1], nil); !slices.Equal(got, w) {
			t.Errorf("ExportRange(%d, %d): %d seqs from %v; want %d", r[0], r[1], len(got), got[:min(3, len(got))], len(w))
		}
	}
	refunds := audit.EventFilter{Action: "order_refunded"}
	isRefund := func(s int64) bool { return (s-1)%3 == 1 }
	var all []int64
	if err := db.ExportEvents(ctx, a.ID, query.FromFilter(refunds), 2000, func(e *audit.Event) error { all = append(all, e.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if w := want(1, 2000, isRefund); !slices.Equal(all, w) {
		t.Errorf("ExportEvents(order_refunded, up to 2000): %d seqs; want %d", len(all), len(w))
	}
	for _, c := range []struct {
		f    audit.EventFilter
		upTo int64
		want int64
	}{
		{audit.EventFilter{}, n, n},
		{audit.EventFilter{}, 10, 10},
		{refunds, 2000, int64(len(want(1, 2000, isRefund)))},
		{audit.EventFilter{Action: "nothing"}, n, 0},
	} {
		if got, err := db.CountEvents(ctx, a.ID, query.FromFilter(c.f), c.upTo); err != nil || got != c.want {
			t.Errorf("CountEvents(%+v, %d) = %d, %v; want %d", c.f, c.upTo, got, err, c.want)
		}
	}
	// fn's error stops the read and comes back.
	stop := errors.New("stop")
	calls := 0
	err := db.ExportEvents(ctx, a.ID, nil, n, func(*audit.Event) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ExportEvents with a failing fn: %v after %d calls; want stop after 1", err, calls)
	}
}
