package storetest

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// searchCorpus appends the search tests' events to account a at t0 + seq
// minutes (seq 1 to 6), with u1 and u2 as the user actors. It returns
// nothing: the tests name events by seq.
func searchCorpus(t *testing.T, db *sqlstore.DB, a *audit.Account, u1, u2 *audit.User, t0 time.Time) {
	t.Helper()
	at := func(seq int) time.Time { return t0.Add(time.Duration(seq) * time.Minute) }
	e1 := &audit.Event{Action: "user_login", ResourceType: "user", ResourceID: "u1", Details: "Signed in",
		IPAddress: "203.0.113.7", Outcome: "success"}
	e2 := &audit.Event{Action: "order.refunded", ResourceType: "order", ResourceID: "1234", Details: "Refund issued for order 1234",
		ActorType: "system", ActorID: "svc_billing", ActorName: "Billing", IPAddress: "10.1.2.3", Outcome: "success",
		Metadata: []byte(`{"plan":"pro","amount":100,"shipping":{"country":"United Kingdom"}}`)}
	e3 := &audit.Event{Action: "order.cancelled", ResourceType: "order", ResourceID: "1235", Details: "Test order cancelled by the customer",
		ActorType: "external", ActorID: "ext_9", IPAddress: "10.200.0.1", Outcome: "failure",
		Metadata: []byte(`{"plan":"basic","amount":"100","gift":true}`)}
	e4 := &audit.Event{Action: "product.updated", ResourceType: "product", ResourceID: "p_1", Details: "Price changed (refunded customers)",
		ActorType: "api_key", ActorID: "key_1", ActorName: "Importer", IPAddress: "2001:db8::1", Outcome: "success",
		Metadata: []byte(`{"amount":100.0,"plan":{"x":1},"note":null}`)}
	e5 := &audit.Event{Action: "order.refund_failed", ResourceType: "order", ResourceID: "1234", Details: "Refund rejected",
		IPAddress: "192.168.1.5", Outcome: "failure",
		Metadata: []byte(`{"rate":2.5,"flag":false,"n":{"007":"bond","deep":{"x":{"y":"z"}}},"count":"7","big":12345678901234567890,"esc":"caf\u00e9 \"q\"","raw":"crème"}`)}
	e6 := &audit.Event{Action: "order_refunded", ResourceType: "order", ResourceID: "77", Details: "Café crème ordered; 返金しました",
		ActorType: "customer", ActorID: "cus_1", ActorEmail: "adam@example.com", ActorName: "Adam Admin", IPAddress: "10.0.0.255"}
	e1.SetUserActor(u1)
	e5.SetUserActor(u2)
	for i, e := range []*audit.Event{e1, e2, e3, e4, e5, e6} {
		e.AccountID, e.CreatedAt = a.ID, at(i+1)
		if e.ActorType == "" {
			e.ActorType = audit.ActorSystem
		}
		appendEvents(t, db, e)
	}
}

// searchCase is one search and the seqs it finds in searchCorpus, newest
// first.
type searchCase struct {
	q    string
	want []int64
}

// searchCases returns the search tests' cases for the corpus's users.
func searchCases(u1, u2 *audit.User) []searchCase {
	uid := strconv.FormatInt(u1.ID, 10)
	return []searchCase{
		{"", []int64{6, 5, 4, 3, 2, 1}},
		// action
		{"action:order.refunded", []int64{2}},
		{"action:ORDER.Refunded", []int64{2}},
		{"action:order.*", []int64{5, 3, 2}},
		{"action:order*", []int64{6, 5, 3, 2}},
		{"action:order.ref*", []int64{5, 2}},
		{"action:user_login,product.updated", []int64{4, 1}},
		{"action:order.refunded,product.*", []int64{4, 2}},
		{"-action:order.*", []int64{6, 4, 1}},
		{"action:order_*", []int64{6}}, // "_" is literal, not LIKE's any character
		// actor
		{"actor:adam@example.com", []int64{6}},
		{`actor:"Adam Admin"`, []int64{6}},
		{"actor:svc_billing", []int64{2}},
		{"actor:" + uid, []int64{1}},
		{"actor:" + u2.Email + "," + u1.Email, []int64{5, 1}},
		{"actor:adam", []int64{}},
		{"-actor:adam@example.com", []int64{5, 4, 3, 2, 1}},
		{"actor_type:api_key", []int64{4}},
		{"actor_type:user,customer", []int64{6, 5, 1}},
		// resource
		{"resource:order", []int64{6, 5, 3, 2}},
		{"resource:order:1234", []int64{5, 2}},
		{"resource:order:1234,product", []int64{5, 4, 2}},
		{"resource_type:product resource_id:p_1", []int64{4}},
		{"resource_id:1234,1235", []int64{5, 3, 2}},
		{"-resource_type:order", []int64{4, 1}},
		// ip
		{"ip:10.1.2.3", []int64{2}},
		{"ip:::ffff:10.1.2.3", []int64{2}},
		{"ip:10.0.0.0/9", []int64{6, 2}},
		{"ip:10.0.0.128/25", []int64{6}},
		{"ip:10.0.0.0/8 outcome:failure", []int64{3}},
		{"-ip:10.0.0.0/8,192.168.0.0/16", []int64{4, 1}},
		{"ip:2001:db8::/32", []int64{4}},
		{"ip:2001:db8::1", []int64{4}},
		{"ip:0.0.0.0/0", []int64{6, 5, 3, 2, 1}},
		{"ip:::/0", []int64{4}},
		// outcome, user_id
		{"outcome:failure", []int64{5, 3}},
		{"-outcome:success", []int64{6, 5, 3}},
		{"user_id:" + uid, []int64{1}},
		{"-user_id:" + uid, []int64{6, 5, 4, 3, 2}},
		// created
		{"created:2024-04-01T10:02:00Z..2024-04-01T10:04:00Z", []int64{4, 3, 2}},
		{"created:>2024-04-01T10:04:00Z", []int64{6, 5}},
		{"created:2024-04-01", []int64{6, 5, 4, 3, 2, 1}},
		{"created:<2024-01-01", []int64{}},
		{"created:<1960-01-01", []int64{}},
		{"created:>1960-01-01 created:<=2024-04-01T10:01:00Z", []int64{1}},
		{"created:-7d", []int64{6, 5, 4, 3, 2, 1}},
		{"created:<-7d", []int64{}},
		{"created:2024-04-01T10:01:00Z,2024-04-01T10:06:00Z", []int64{6, 1}},
		{"-created:2024-04-01T10:01:00Z..2024-04-01T10:05:00Z", []int64{6}},
		// metadata
		{"metadata.plan:pro", []int64{2}},
		{"metadata.amount:100", []int64{3, 2}},
		{"metadata.amount:100.0", []int64{4}},
		{"metadata.gift:true", []int64{3}},
		{`metadata.shipping.country:"United Kingdom"`, []int64{2}},
		{"metadata.shipping:x", []int64{}},
		{"metadata.note:null", []int64{}},
		{"metadata.plan:pro,basic", []int64{3, 2}},
		{"-metadata.plan:pro", []int64{6, 5, 4, 3, 1}},
		{"metadata.rate:2.5", []int64{5}},
		{"metadata.rate:2.50", []int64{}}, // numbers as written
		{`metadata.rate:"2.5"`, []int64{5}},
		{"metadata.flag:false", []int64{5}},
		{"metadata.flag:true", []int64{}},
		{"-metadata.flag:false", []int64{6, 4, 3, 2, 1}},
		{"metadata.n.007:bond", []int64{5}},
		{"metadata.n.7:bond", []int64{}},
		{"metadata.n.deep.x.y:z", []int64{5}},
		{"metadata.n.deep.x:z", []int64{}},
		{"metadata.count:7", []int64{5}},
		{"metadata.big:12345678901234567890", []int64{5}},
		{`metadata.esc:"café \"q\""`, []int64{5}},
		{"metadata.raw:crème", []int64{5}},
		{"metadata.raw:creme", []int64{}},
		{"-metadata.esc:x", []int64{6, 5, 4, 3, 2, 1}},
		{"metadata.plan:pro metadata.amount:100", []int64{2}},
		{"metadata.amount:100 -metadata.plan:pro", []int64{3}},
		{"metadata.gift:true,false", []int64{3}},
		{"metadata.flag:false,true metadata.gift:true", []int64{}},
		// words and phrases
		{"refund", []int64{5, 2}},
		{"REFUND", []int64{5, 2}},
		{"refund*", []int64{6, 5, 4, 2}},
		{`"refund issued"`, []int64{2}},
		{`"issued refund"`, []int64{}},
		{"order refunded", []int64{6, 2}},
		{"Order.Refunded", []int64{6, 2}},
		{"order.ref*", []int64{6, 5, 2}},
		{"-order.ref*", []int64{4, 3, 1}},
		{"-test", []int64{6, 5, 4, 2, 1}},
		{`"refund issued" -test`, []int64{2}},
		{"refund -rejected", []int64{2}},
		{"-refund -test", []int64{6, 4, 1}},
		{"café", []int64{6}},
		{"cafe", []int64{}},
		{"返金しました", []int64{6}},
		{"adam@example.com", []int64{6}},
		{"the", []int64{3}},
		{"by the", []int64{3}},
		{"1234", []int64{5, 2}},
		{"u1", []int64{1}},
		{"p*", []int64{4}},
		{"nothing", []int64{}},
		// combinations
		{"action:order.* refund*", []int64{5, 2}},
		{"refund* outcome:failure", []int64{5}},
		{"resource:order -action:order.refund_failed refund*", []int64{6, 2}},
	}
}

func testSearch(t *testing.T, db *sqlstore.DB) {
	a := newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	u1 := newUser(t, db, a.ID, "one@a.example.com", audit.RoleAdmin)
	u2 := newUser(t, db, a.ID, "two@a.example.com", audit.RoleAnalyst)
	t0 := time.Date(2024, 4, 1, 10, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	searchCorpus(t, db, a, u1, u2, t0)
	// Account b holds the same events, with its own users: every word and
	// value of every case matches one of them too.
	v1 := newUser(t, db, b.ID, "one@b.example.com", audit.RoleAdmin)
	v2 := newUser(t, db, b.ID, "two@b.example.com", audit.RoleAnalyst)
	searchCorpus(t, db, b, v1, v2, t0)
	for _, c := range searchCases(u1, u2) {
		t.Run(c.q, func(t *testing.T) {
			q, err := query.Parse(c.q, now)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.q, err)
			}
			for _, acct := range []*audit.Account{a, b} {
				page, err := db.SearchEvents(t.Context(), acct.ID, q, audit.PageRequest{Page: 1, PerPage: 100})
				if err != nil {
					t.Fatalf("SearchEvents(%q): %v", c.q, err)
				}
				for _, e := range page.Events {
					if e.AccountID != acct.ID {
						t.Fatalf("search of account %d returned event %d of account %d", acct.ID, e.ID, e.AccountID)
					}
				}
				if acct != a {
					continue
				}
				if got := seqs(page.Events); !slices.Equal(got, c.want) {
					t.Errorf("seqs = %v; want %v", got, c.want)
				}
				if pg := page.Pagination; pg.Total != int64(len(c.want)) || pg.TotalInexact {
					t.Errorf("total = %d (inexact %v); want %d", pg.Total, pg.TotalInexact, len(c.want))
				}
			}
		})
	}
	// The seed's filters combine with a search.
	f := query.FromFilter(audit.EventFilter{ResourceType: "order", End: t0.Add(3 * time.Minute)})
	q, _ := query.Parse("refund*", now)
	page, err := db.SearchEvents(t.Context(), a.ID, f.And(q), audit.PageRequest{Page: 1, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := seqs(page.Events), []int64{2}; !slices.Equal(got, want) {
		t.Errorf("filter and search: seqs = %v; want %v", got, want)
	}
}

// testSearchTotals checks the totals rule: the log head unfiltered, the
// analytics counts where they answer the search (docs/search.md), else a
// count up to the bound.
func testSearchTotals(t *testing.T, db *sqlstore.DB) {
	db.CountBound = 10
	a := newAccount(t, db, "a.example.com")
	var evs []*audit.Event
	for i := range 25 {
		e := event(a.ID, "item.viewed")
		if i < 5 {
			e.Action = "item.bought"
		}
		evs = append(evs, e)
	}
	appendEvents(t, db, evs...)
	now := time.Now()
	tests := []struct {
		q          string
		page       int
		wantTotal  int64
		inexact    bool
		wantEvents int
		wantPages  int64
		hasNext    bool
		examine    int64 // DB.ExamineBound; 0: the default, more than the bound
	}{
		{"", 1, 25, false, 5, 5, true, 0},                   // the log head: exact
		{"action:item.bought", 1, 5, false, 5, 1, false, 0}, // under the bound: exact
		{"action:item.viewed", 1, 20, false, 5, 4, true, 0}, // 20 match: exact from the analytics counts, past the bound
		{"details", 1, 10, true, 5, 2, true, 0},
		{"details", 2, 10, true, 5, 3, true, 0},
		{"details", 4, 10, true, 5, 5, true, 0},  // past the bound, the page is still served
		{"details", 5, 10, true, 5, 5, false, 0}, // the last page
		{"details", 6, 10, true, 0, 6, false, 0},
		{"action:item.*", 1, 25, false, 5, 5, true, 0}, // the counts again
		{"action:item.* details", 5, 10, true, 5, 5, false, 0},
		{"action:item.b* details", 1, 5, false, 5, 1, false, 0},
		// Checking fewer events than the bound (DB.ExamineBound): the
		// lower bound is the matches among the newest 4 the driver
		// selects, the time index or the action's index.
		{"details", 1, 4, true, 5, 2, true, 4},
		{"details", 4, 4, true, 5, 5, true, 4},
		{"action:item.viewed details", 1, 4, true, 5, 2, true, 4},
		{"action:item.viewed details", 4, 4, true, 5, 4, false, 4},
		{"action:item.bought details", 1, 5, false, 5, 1, false, 4}, // under the bound: exact, whatever is examined
	}
	for _, tt := range tests {
		db.ExamineBound = tt.examine
		q, err := query.Parse(tt.q, now)
		if err != nil {
			t.Fatal(err)
		}
		page, err := db.SearchEvents(t.Context(), a.ID, q, audit.PageRequest{Page: tt.page, PerPage: 5})
		if err != nil {
			t.Fatal(err)
		}
		pg := page.Pagination
		if pg.Total != tt.wantTotal || pg.TotalInexact != tt.inexact || len(page.Events) != tt.wantEvents || pg.Pages != tt.wantPages || pg.HasNext != tt.hasNext {
			t.Errorf("%q page %d: total %d inexact %v events %d pages %d has_next %v; want %d %v %d %d %v", tt.q, tt.page,
				pg.Total, pg.TotalInexact, len(page.Events), pg.Pages, pg.HasNext, tt.wantTotal, tt.inexact, tt.wantEvents, tt.wantPages, tt.hasNext)
		}
	}
}
