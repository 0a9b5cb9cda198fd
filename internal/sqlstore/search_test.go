package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// corpusWords are the words of the generated corpus: short ones (shorter
// than MySQL's minimum token size), MySQL's stop words, accents composed
// and decomposed, a ligature, CJK, digits, and words that share prefixes.
var corpusWords = []string{
	"a", "i", "id", "of", "the", "and", "with", "about", "refund", "refunds", "refunded", "refunding",
	"order", "orders", "cancel", "cancelled", "price", "priced", "café", "cafe", "cafe\u0301", "crème", "ﬁle",
	"返金", "返金しました", "注文", "42", "4200", "2026", "x1", "1x", "ship", "shipping", "United", "Kingdom",
	"ÉCOLE", "école", "naïve", "straße", "STRASSE", "ωmega", "Ωmega",
	strings.Repeat("long", 25), strings.Repeat("long", 24) + "er",
}

var (
	corpusActions = []string{"order.refunded", "order.cancelled", "order.created", "product.updated", "user_login", "user_logout", "refund.issued"}
	corpusTypes   = []string{"order", "product", "user", "gift card"}
	corpusIPs     = []string{"10.0.0.1", "10.0.0.200", "10.1.0.7", "10.127.255.255", "10.128.0.1", "192.168.1.9", "203.0.113.7", "2001:db8::1", "2001:db9::1", "::1", ""}
	corpusMeta    = []string{"", `{"plan":"pro"}`, `{"plan":"basic","amount":100}`, `{"amount":"100"}`, `{"amount":100.0}`,
		`{"gift":true}`, `{"shipping":{"country":"United Kingdom"}}`, `{"plan":null}`, `{"plan":["pro"]}`}
)

// corpus returns n events of account for the agreement test, the same for
// the same seed.
func corpus(seed uint64, accountID int64, n int, t0 time.Time) []*audit.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	sentence := func(n int) string {
		var w []string
		for range n {
			w = append(w, pick(corpusWords))
		}
		return strings.Join(w, pick([]string{" ", " ", ", ", ".", "_", " - "}))
	}
	evs := make([]*audit.Event, n)
	for i := range evs {
		evs[i] = &audit.Event{
			AccountID: accountID, Action: pick(corpusActions), ResourceType: pick(corpusTypes),
			ResourceID: fmt.Sprintf("r%d", r.IntN(20)), Details: sentence(1 + r.IntN(8)),
			ActorType: pick([]string{"system", "external", "api_key", "customer"}), ActorID: pick([]string{"svc_1", "ext_2", "key_3", ""}),
			ActorName: pick([]string{"", "Adam Admin", "Zoë Ng", "The Importer"}), ActorEmail: pick([]string{"", "adam@example.com", "zoe@shop.example"}),
			IPAddress: pick(corpusIPs), Outcome: pick([]string{"", "success", "failure"}),
			CreatedAt: t0.Add(time.Duration(r.IntN(30*24*60)) * time.Minute),
		}
		if m := pick(corpusMeta); m != "" {
			evs[i].Metadata = []byte(m)
		}
	}
	return evs
}

// corpusQueries returns n searches over the corpus, the same for the same
// seed: random words, phrases and prefixes from the corpus's words, and
// qualifiers, alone or combined, some negated.
func corpusQueries(seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 2))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	word := func() string {
		w := pick(corpusWords)
		switch r.IntN(6) {
		case 0:
			return `"` + w + " " + pick(corpusWords) + `"`
		case 1:
			if rs := []rune(w); len(rs) > 2 {
				return string(rs[:1+r.IntN(len(rs)-1)]) + "*"
			}
		}
		return w
	}
	terms := []func() string{
		word, word, word,
		func() string { return "action:" + pick(corpusActions) + "," + pick(corpusActions) },
		func() string { return "action:" + pick([]string{"order.*", "user_*", "ref*", "o*", "product.updated"}) },
		func() string { return `resource_type:"` + pick(corpusTypes) + `"` },
		func() string { return "resource:order:r" + fmt.Sprint(r.IntN(20)) },
		func() string {
			return "ip:" + pick([]string{"10.0.0.0/8", "10.0.0.0/9", "10.0.0.128/25", "10.1.0.7", "2001:db8::/32", "::1", "0.0.0.0/0", "::/0"})
		},
		func() string { return "outcome:" + pick([]string{"success", "failure"}) },
		func() string {
			return "actor:" + pick([]string{"adam@example.com", `"Adam Admin"`, "svc_1", `"Zoë Ng"`})
		},
		func() string { return "actor_type:" + pick([]string{"system", "external,customer", "api_key"}) },
		func() string {
			return "created:" + pick([]string{"2026-01-10..2026-01-20", ">2026-01-25", "<=2026-01-05", "2026-01-15"})
		},
		func() string {
			return pick([]string{"metadata.plan:pro", "metadata.amount:100", "metadata.amount:100.0", "metadata.gift:true",
				`metadata.shipping.country:"United Kingdom"`, "metadata.plan:null"})
		},
	}
	var out []string
	for range n {
		var q []string
		for range 1 + r.IntN(3) {
			t := terms[r.IntN(len(terms))]()
			if r.IntN(4) == 0 {
				t = "-" + t
			}
			q = append(q, t)
		}
		out = append(out, strings.Join(q, " "))
	}
	return out
}

// TestSearchEnginesAgree loads one generated corpus into every engine this
// run reaches, with a second account holding another corpus, runs the same
// generated searches on each, and checks that the engines find the same
// events (by seq, in order) and never one of the other account.
func TestSearchEnginesAgree(t *testing.T) {
	const events, searches = 600, 400
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	queries := corpusQueries(7, searches)
	results := map[string][][]int64{}
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := e.Open(t)
			ctx := t.Context()
			var ids [2]int64
			for i := range ids {
				ids[i] = createShop(t, db, fmt.Sprintf("s%d.example.com", i))
				appendAll(t, db, corpus(uint64(i+1), ids[i], events, t0))
			}
			now := t0.Add(40 * 24 * time.Hour)
			var res [][]int64
			for _, qs := range queries {
				q, err := query.Parse(qs, now)
				if err != nil {
					t.Fatalf("Parse(%q): %v", qs, err)
				}
				page, err := db.SearchEvents(ctx, ids[0], q, audit.PageRequest{Page: 1, PerPage: events + 1})
				if err != nil {
					t.Fatalf("SearchEvents(%q): %v", qs, err)
				}
				seqs := []int64{}
				for _, ev := range page.Events {
					if ev.AccountID != ids[0] {
						t.Fatalf("search %q returned an event of account %d", qs, ev.AccountID)
					}
					seqs = append(seqs, ev.Seq)
				}
				res = append(res, seqs)
				// A short page may be found by another plan (walking the
				// account's events instead of reading every match): it
				// must hold the same events.
				short, err := db.SearchEvents(ctx, ids[0], q, audit.PageRequest{Page: 2, PerPage: 3})
				if err != nil {
					t.Fatalf("SearchEvents(%q) page 2: %v", qs, err)
				}
				var got []int64
				for _, ev := range short.Events {
					got = append(got, ev.Seq)
				}
				if want := seqs[min(3, len(seqs)):min(6, len(seqs))]; !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("search %q, page 2 of 3: %v; want %v", qs, got, want)
				}
			}
			results[e.Name] = res
		})
	}
	var base string
	matched := 0
	for name := range results {
		if base == "" || name == "sqlite" {
			base = name
		}
	}
	for name, res := range results {
		for i, q := range queries {
			if !slices.Equal(res[i], results[base][i]) {
				t.Errorf("search %q: %s finds %v\n%s finds %v", q, name, res[i], base, results[base][i])
			}
		}
	}
	for _, r := range results[base] {
		if len(r) > 0 {
			matched++
		}
	}
	// The corpus and searches are meant to find something more often
	// than not; if they stop doing so, the test has lost its teeth.
	if matched < searches/4 {
		t.Errorf("only %d of %d searches found anything", matched, searches)
	}
	t.Logf("%d engines, %d searches, %d found events", len(results), searches, matched)
}

// createShop creates an account named Shop at domain and returns its ID.
func createShop(t testing.TB, db *sqlstore.DB, domain string) int64 {
	t.Helper()
	ctx := context.Background()
	a := &audit.Account{Name: "Shop", Domain: domain}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// appendAll appends events in batches of 200.
func appendAll(t testing.TB, db *sqlstore.DB, evs []*audit.Event) {
	t.Helper()
	ctx := context.Background()
	signer := sqltest.Signer(t)
	for i := 0; i < len(evs); i += 200 {
		batch := evs[i:min(i+200, len(evs))]
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, signer, batch...); return err }); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSearchBackfill opens a database whose events predate the search
// columns (as migration 0004 finds them: NULL) and checks that opening it
// fills them, so old events are found like new ones.
func TestSearchBackfill(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			url := e.NewURL(t)
			ctx := t.Context()
			db, err := sqlstore.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			a := &audit.Account{Name: "Shop", Domain: "shop.example.com"}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
				t.Fatal(err)
			}
			evs := corpus(3, a.ID, 1234, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			evs[0].Details, evs[0].IPAddress = "a rare zyzzyva", "10.9.8.7"
			appendAll(t, db, evs)
			search := func(db *sqlstore.DB, qs string) int64 {
				q, err := query.Parse(qs, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				p, err := db.SearchEvents(ctx, a.ID, q, audit.PageRequest{Page: 1, PerPage: 1})
				if err != nil {
					t.Fatal(err)
				}
				return p.Pagination.Total
			}
			before := []int64{search(db, "zyzzyva"), search(db, "ip:10.9.8.0/24"), search(db, "refund*")}
			if before[0] != 1 || before[1] != 1 || before[2] == 0 {
				t.Fatalf("before: %v", before)
			}
			sqltest.ExecURL(t, url, `UPDATE events SET search_text = NULL, ip_bin = NULL`)
			if n := search(db, "zyzzyva"); n != 0 {
				t.Fatalf("with the columns emptied, the word is found %d times", n)
			}
			db.Close()
			db, err = sqlstore.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			after := []int64{search(db, "zyzzyva"), search(db, "ip:10.9.8.0/24"), search(db, "refund*")}
			if !slices.Equal(after, before) {
				t.Errorf("after reopening: totals %v; want %v", after, before)
			}
		})
	}
}

// TestSearchPlansAgree runs the same searches on every engine this run
// reaches through each way SearchEvents can read them: words through the
// full-text index or looked up in each event's text while walking the
// account newest first, the choice made from samples of several sizes,
// deep pages by offset or by a deferred join. Every plan must find the
// same events, totals and page arithmetic as the index plan, and every
// engine the same as SQLite. The count bound is low, so that bounded
// totals are compared too.
func TestSearchPlansAgree(t *testing.T) {
	const events = 400
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	queries := append(corpusQueries(11, 60),
		// One of each kind the search benchmark times.
		"action:order.refunded", "action:order.* outcome:failure", "action:order.refunded resource_type:order",
		"action:order.refunded resource_type:order outcome:success", "actor:adam@example.com", "ip:10.0.0.0/9",
		"resource_id:r3", "created:2026-01-10..2026-01-11", "created:2026-01-01..2026-01-31", "cafe", "order",
		`"refund order"`, `"order refund"`, "refund*", `"refund order" -refund*`, "order action:order.*", "-order action:order.*", "-refund*",
		"order action:order.refunded", "-order action:order.refunded", "-refund* resource_type:order outcome:success")
	plans := []struct {
		name                  string
		walk, deferAt, sample int
		like                  bool // action prefixes by LIKE on PostgreSQL (last: it stays set)
	}{
		{"index", -1, 0, 0, false},
		{"walk", 1, 0, 0, false},
		{"chosen", 0, 0, 0, false},
		{"chosen from 10, deferred", 0, 2, 10, false},
		{"chosen from 100", 0, 0, 100, false},
		{"walk, deferred", 1, 2, 0, false},
		{"chosen, deferred, prefixes by LIKE", 0, 2, 0, true},
	}
	type result struct {
		seqs  []int64
		pages []audit.Pagination
	}
	results := map[string][]result{}
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := e.Open(t)
			db.CountBound = 50
			ctx := t.Context()
			var ids [2]int64
			for i := range ids {
				ids[i] = createShop(t, db, fmt.Sprintf("s%d.example.com", i))
				appendAll(t, db, corpus(uint64(i+5), ids[i], events, t0))
			}
			now := t0.Add(40 * 24 * time.Hour)
			var res []result
			for _, pl := range plans {
				sqlstore.ForceSearchPlanForTest(db, pl.walk, pl.deferAt, pl.sample)
				if pl.like {
					sqlstore.ActionPrefixByLikeForTest(db)
				}
				for i, qs := range queries {
					q, err := query.Parse(qs, now)
					if err != nil {
						t.Fatalf("Parse(%q): %v", qs, err)
					}
					var r result
					for _, p := range []audit.PageRequest{{Page: 1, PerPage: events + 1}, {Page: 3, PerPage: 4}, {Page: 14, PerPage: 4}} {
						page, err := db.SearchEvents(ctx, ids[0], q, p)
						if err != nil {
							t.Fatalf("%s: SearchEvents(%q): %v", pl.name, qs, err)
						}
						for _, ev := range page.Events {
							if ev.AccountID != ids[0] {
								t.Fatalf("%s: search %q returned an event of account %d", pl.name, qs, ev.AccountID)
							}
							r.seqs = append(r.seqs, ev.Seq)
						}
						r.seqs = append(r.seqs, -1)
						r.pages = append(r.pages, page.Pagination)
					}
					if pl.name == "index" {
						res = append(res, r)
						continue
					}
					if want := res[i]; !slices.Equal(r.seqs, want.seqs) || !slices.Equal(r.pages, want.pages) {
						t.Errorf("%s: search %q finds %v %+v\nthe index plan finds %v %+v", pl.name, qs, r.seqs, r.pages, want.seqs, want.pages)
					}
				}
			}
			results[e.Name] = res
		})
	}
	for name, res := range results {
		for i, q := range queries {
			if want := results["sqlite"][i]; !slices.Equal(res[i].seqs, want.seqs) || !slices.Equal(res[i].pages, want.pages) {
				t.Errorf("search %q: %s finds %v %+v\nsqlite finds %v %+v", q, name, res[i].seqs, res[i].pages, want.seqs, want.pages)
			}
		}
	}
}

// TestSearchCountByRowsExamined checks the totals rule for searches
// without words: a search of one indexed qualifier counts its matches up
// to the bound; a combination is counted exactly when the qualifier whose
// index yields the fewest events yields at most the bound, and otherwise
// reports the matches among the newest bound events of an ordered index,
// a lower bound with TotalInexact. Pages and HasNext stay true to the
// pages served.
func TestSearchCountByRowsExamined(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Event i (seq i+1) is action "a" unless i is a multiple of 3 ("b"),
	// and a failure when i is even: 20 of "a", 10 of "b", 15 failures.
	var evs []*audit.Event
	for i := range 30 {
		e := &audit.Event{Action: "a", ResourceType: "order", Outcome: "success", CreatedAt: t0.Add(time.Duration(i) * time.Second)}
		if i%3 == 0 {
			e.Action = "b"
		}
		if i%2 == 0 {
			e.Outcome = "failure"
		}
		evs = append(evs, e)
	}
	tenth := "created:" + t0.Format(time.RFC3339) + ".." + t0.Add(9*time.Second).Format(time.RFC3339)
	tests := []struct {
		q       string
		page    int
		total   int64
		inexact bool
		seqs    []int64 // the page's events by seq, 4 a page
		pages   int64
		hasNext bool
	}{
		// One qualifier: its index count, up to the bound (10).
		{"action:b", 1, 10, false, []int64{28, 25, 22, 19}, 3, true},
		{"action:a", 1, 10, true, []int64{30, 29, 27, 26}, 3, true},
		// "b" yields 10 events: all read, the count is exact.
		{"action:b outcome:failure", 1, 5, false, []int64{25, 19, 13, 7}, 2, true},
		{"action:b outcome:failure", 2, 5, false, []int64{1}, 2, false},
		// The first ten seconds by the time index: exact.
		{tenth + " outcome:failure", 1, 5, false, []int64{9, 7, 5, 3}, 2, true},
		// "a" in the first ten seconds is one range of the action index
		// (6 events): its count is the count, and with another term it is
		// read whole.
		{tenth + " action:a", 1, 6, false, []int64{9, 8, 6, 5}, 2, true},
		{tenth + " action:a outcome:failure", 1, 3, false, []int64{9, 5, 3}, 1, false},
		// "a" yields 20: the newest 10 of them (i = 29 down to 16) hold
		// 5 failures, of the 10 in all.
		{"action:a outcome:failure", 1, 5, true, []int64{29, 27, 23, 21}, 2, true},
		{"action:a outcome:failure", 3, 5, true, []int64{5, 3}, 3, false},
		// No index: the account's newest 10 events hold 5 failures.
		{"outcome:failure", 1, 5, true, []int64{29, 27, 25, 23}, 2, true},
		// The same with b excluded: 4 of them (i = 24 is a "b").
		{"-action:b outcome:failure", 1, 4, true, []int64{29, 27, 23, 21}, 2, true},
		// Nothing matches among the newest: the page still tells.
		{"action:b resource_type:nothing", 1, 0, false, []int64{}, 0, false},
		{"action:a resource_type:order metadata.plan:none", 1, 0, true, []int64{}, 1, false},
		// actor: has indexes: nobody's events are counted exactly.
		{"action:a actor:nobody", 1, 0, false, []int64{}, 0, false},
	}
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := e.Open(t)
			db.CountBound = 10
			// The rule by rows examined, not the totals from the
			// analytics counts (TestSearchTotalsFromCounts).
			sqlstore.TotalsFromCountsForTest(db, false)
			ctx := t.Context()
			a := &audit.Account{Name: "Shop", Domain: "s.example.com"}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				ev.AccountID = a.ID
			}
			appendAll(t, db, evs)
			for _, tt := range tests {
				q, err := query.Parse(tt.q, t0.Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				pg, err := db.SearchEvents(ctx, a.ID, q, audit.PageRequest{Page: tt.page, PerPage: 4})
				if err != nil {
					t.Fatalf("SearchEvents(%q): %v", tt.q, err)
				}
				seqs := []int64{}
				for _, ev := range pg.Events {
					seqs = append(seqs, ev.Seq)
				}
				p := pg.Pagination
				got := fmt.Sprintf("total=%d inexact=%v seqs=%v pages=%d has_next=%v", p.Total, p.TotalInexact, seqs, p.Pages, p.HasNext)
				want := fmt.Sprintf("total=%d inexact=%v seqs=%v pages=%d has_next=%v", tt.total, tt.inexact, tt.seqs, tt.pages, tt.hasNext)
				if got != want {
					t.Errorf("%q page %d:\ngot  %s\nwant %s", tt.q, tt.page, got, want)
				}
			}
		})
	}
}

// TestSearchPlansUseIndexes checks on SQLite, from EXPLAIN QUERY PLAN of
// every statement SearchEvents runs, that a search reads the index of its
// most selective qualifier (a time range with it), that actor: reads each
// of its column indexes, and that no statement scans the events table.
func TestSearchPlansUseIndexes(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	ctx := t.Context()
	a := &audit.Account{Name: "Shop", Domain: "plans.example.com"}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []*audit.Event
	for i := range 300 {
		evs = append(evs, &audit.Event{
			AccountID: a.ID, Action: []string{"a", "a", "b"}[i%3], ResourceType: map[bool]string{true: "rare", false: "common"}[i%30 == 0],
			Outcome: []string{"success", "failure"}[i%2], ActorEmail: fmt.Sprintf("staff%d@shop.example.com", i%7),
			ActorID: fmt.Sprintf("staff_%d", i%7), ActorName: fmt.Sprintf("Staff %d", i%7), CreatedAt: t0.Add(time.Duration(i) * time.Minute),
		})
	}
	appendAll(t, db, evs)
	db.CountBound = 20
	tests := []struct{ q, want string }{
		{"actor:staff3@shop.example.com", "events_account_actor_email_idx (account_id=? AND actor_email=?)"},
		{"actor:staff3@shop.example.com", "events_account_actor_name_idx (account_id=? AND actor_name=?)"},
		{"actor:staff3@shop.example.com outcome:failure", "events_account_actor_email_idx"},
		{"action:a outcome:failure", "events_account_action_idx (account_id=? AND action=?)"},
		{"action:a resource_type:rare", "events_account_resource_type_idx (account_id=? AND resource_type=?)"},
		{"action:a created:2026-01-01T01:00:00Z..2026-01-01T02:00:00Z", "events_account_action_idx (account_id=? AND action=? AND created_at>? AND created_at<?)"},
		{"outcome:failure", "events_account_time_idx (account_id=?)"},
		{"", "events_account_time_idx (account_id=?)"},
	}
	for _, tt := range tests {
		q, err := query.Parse(tt.q, t0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		type stmt struct {
			query string
			args  []any
		}
		var stmts []stmt
		sqlstore.TraceSearchForTest(db, func(query string, args []any) { stmts = append(stmts, stmt{query, args}) })
		if _, err := db.SearchEvents(ctx, a.ID, q, audit.PageRequest{Page: 1, PerPage: 5}); err != nil {
			t.Fatalf("SearchEvents(%q): %v", tt.q, err)
		}
		sqlstore.TraceSearchForTest(db, nil)
		var plans []string
		for _, s := range stmts {
			plan, err := sqlstore.QueryPlanForTest(ctx, db, s.query, s.args...)
			if err != nil {
				t.Fatalf("%q: EXPLAIN QUERY PLAN %s: %v", tt.q, s.query, err)
			}
			if strings.Contains(plan, "SCAN e\n") {
				t.Errorf("%q: a statement scans the events table:\n%s\n%s", tt.q, s.query, plan)
			}
			plans = append(plans, plan)
		}
		if all := strings.Join(plans, "---\n"); !strings.Contains(all, tt.want) {
			t.Errorf("%q: no plan reads %s:\n%s", tt.q, tt.want, all)
		}
	}
}

// TestActorSearchUnion checks, on every engine this run reaches, that an
// actor: search alone, read as the union of its column indexes, finds what
// the same qualifier finds as an OR of the columns (the search with a time
// range that every event is in, which reads it that way): the value as an
// actor ID, email or name, a user actor by its ID, an event that matches in
// two columns once, several values; in listing order, page by page and by
// cursor, with the same totals, and never an event of another account.
func TestActorSearchUnion(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := e.Open(t)
			ctx := t.Context()
			var ids [2]int64
			for i := range ids {
				ids[i] = createShop(t, db, fmt.Sprintf("u%d.example.com", i))
				var evs []*audit.Event
				for j := range 240 {
					ev := &audit.Event{AccountID: ids[i], Action: "order.refunded", ActorType: "external",
						ActorID: fmt.Sprintf("svc_%d", j%5), ActorEmail: fmt.Sprintf("staff%d@example.com", j%4), ActorName: fmt.Sprintf("Staff %d", j%3),
						// Many events at one time: the order falls to seq.
						CreatedAt: t0.Add(time.Duration(j/7) * time.Minute)}
					switch j % 11 {
					case 0: // the name in the ID's column
						ev.ActorID = "Staff 1"
					case 1: // the email in two columns at once
						ev.ActorID = ev.ActorEmail
					case 2: // a user actor, named by the user's ID
						ev.ActorType, ev.ActorID = "user", "7"
					}
					evs = append(evs, ev)
				}
				appendAll(t, db, evs)
			}
			now := t0.Add(30 * 24 * time.Hour)
			for _, qs := range []string{
				"actor:staff2@example.com", `actor:"Staff 1"`, "actor:svc_3", "actor:7", "actor:staff1@example.com,svc_0",
				`actor:"Staff 0","Staff 2"`, "actor:nobody", "actor:svc_1,staff1@example.com,7",
			} {
				union, err := query.Parse(qs, now)
				if err != nil {
					t.Fatal(err)
				}
				or, err := query.Parse(qs+" created:>=2000-01-01", now)
				if err != nil {
					t.Fatal(err)
				}
				for _, tc := range []struct {
					per   int
					bound int64
				}{{7, 40}, {50, 40}, {7, 1000}, {50, 1000}} {
					per := tc.per
					db.CountBound = tc.bound
					var seqs [2][]int64
					var pages [2][]audit.Pagination
					for k, q := range []*query.Query{union, or} {
						for pg := 1; ; pg++ {
							page, err := db.SearchEvents(ctx, ids[0], q, audit.PageRequest{Page: pg, PerPage: per})
							if err != nil {
								t.Fatalf("%q page %d: %v", qs, pg, err)
							}
							pages[k] = append(pages[k], page.Pagination)
							for _, ev := range page.Events {
								if ev.AccountID != ids[0] {
									t.Fatalf("%q: event of account %d", qs, ev.AccountID)
								}
								seqs[k] = append(seqs[k], ev.Seq)
							}
							if !page.More || pg > 60 {
								break
							}
						}
					}
					if fmt.Sprint(seqs[0]) != fmt.Sprint(seqs[1]) {
						t.Errorf("%q, %d a page: union %v\nor %v", qs, per, seqs[0], seqs[1])
					}
					// The OR's total, more than the bound, is the matches
					// among the newest bound events; the union's is the
					// bound, as for a qualifier of one index.
					n := int64(len(seqs[1]))
					if pg := pages[0][0]; pg.Total != min(n, db.CountBound) || pg.TotalInexact != (n > db.CountBound) {
						t.Errorf("%q, %d a page: total %d (inexact %v) of %d matches, bound %d", qs, per, pg.Total, pg.TotalInexact, n, db.CountBound)
					}
					if n <= db.CountBound && fmt.Sprint(pages[0]) != fmt.Sprint(pages[1]) {
						t.Errorf("%q, %d a page: union pages %+v\nor %+v", qs, per, pages[0], pages[1])
					}
					// By cursor, from the first page's last event on.
					var cursor []int64
					var after *audit.Position
					for range 60 {
						page, err := db.SearchEvents(ctx, ids[0], union, audit.PageRequest{Page: 1, PerPage: per, After: after})
						if err != nil {
							t.Fatalf("%q by cursor: %v", qs, err)
						}
						for _, ev := range page.Events {
							cursor = append(cursor, ev.Seq)
						}
						if !page.More {
							break
						}
						last := page.Events[len(page.Events)-1]
						after = &audit.Position{CreatedAt: last.CreatedAt, Seq: last.Seq}
					}
					if fmt.Sprint(cursor) != fmt.Sprint(seqs[1]) {
						t.Errorf("%q, %d a page, by cursor: %v\nwant %v", qs, per, cursor, seqs[1])
					}
				}
			}
		})
	}
}
