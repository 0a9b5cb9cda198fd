package server

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// searchEvents returns the events of a small shop for the search tests:
// each has a distinct resource_id, which the tests compare.
func searchEvents(accountID, userID int64, t0 time.Time) []*audit.Event {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	return []*audit.Event{
		{AccountID: accountID, UserID: userID, ActorType: audit.ActorUser, Action: "zz.login", ResourceType: "user", ResourceID: "r1",
			Details: "Signed in from the kiosk", IPAddress: "203.0.113.7", Outcome: "success", CreatedAt: at(1)},
		{AccountID: accountID, ActorType: "system", ActorID: "svc_billing", Action: "zz.order.refunded", ResourceType: "order", ResourceID: "r2",
			Details: "Refund issued for order 1234", IPAddress: "10.1.2.3", Outcome: "success", CreatedAt: at(2),
			Metadata: []byte(`{"plan":"pro","shipping":{"country":"United Kingdom"}}`)},
		{AccountID: accountID, ActorType: "external", ActorID: "ext_9", ActorName: "Adam Admin", ActorEmail: "adam@example.com",
			Action: "zz.order.cancelled", ResourceType: "order", ResourceID: "r3", Details: "Test order cancelled",
			IPAddress: "10.200.0.1", Outcome: "failure", CreatedAt: at(3), Metadata: []byte(`{"plan":"basic"}`)},
		{AccountID: accountID, ActorType: "api_key", ActorID: "key_1", Action: "zz.product.updated", ResourceType: "product", ResourceID: "r4",
			Details: "Price changed", IPAddress: "2001:db8::1", Outcome: "success", CreatedAt: at(4)},
		{AccountID: accountID, ActorType: "customer", ActorID: "cus_1", Action: "zz.order.refund_failed", ResourceType: "order", ResourceID: "r5",
			Details: "Refund rejected", IPAddress: "10.0.0.255", Outcome: "failure", CreatedAt: at(5)},
	}
}

// resourceIDs returns the resource_id of each listed event, in order.
func resourceIDs(r *response) []string {
	out := []string{}
	for _, e := range r.list("audit_logs") {
		if id, ok := e.(map[string]any)["resource_id"].(string); ok {
			out = append(out, id)
		}
	}
	return out
}

// TestSearch runs every qualifier, words, phrases, negation and OR lists
// through GET /api/audit-logs?q=, alone and with the seed's parameters.
// The same events in another account must never show.
func TestSearch(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn, other := e.newTenant("acme"), e.newTenant("other")
		t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
		e.appendEvents(searchEvents(tn.accountID, tn.ownerID, t0)...)
		e.appendEvents(searchEvents(other.accountID, other.ownerID, t0)...)
		tests := []struct {
			params string // other parameters than q
			q      string
			want   string // resource IDs, newest first
		}{
			{"", "action:zz.order.refunded", "r2"},
			{"", "action:zz.order.*", "r5 r3 r2"},
			{"", "action:zz.login,zz.product.updated", "r4 r1"},
			{"", "action:zz.* -action:zz.order.*", "r4 r1"},
			{"", "actor:adam@example.com", "r3"},
			{"", `actor:"Adam Admin"`, "r3"},
			{"", fmt.Sprintf("actor:%d action:zz.*", tn.ownerID), "r1"},
			{"", "actor_type:api_key,customer", "r5 r4"},
			{"", "resource:order:r2", "r2"},
			{"", "resource:order", "r5 r3 r2"},
			{"", "resource_type:product", "r4"},
			{"", "resource_id:r1,r3", "r3 r1"},
			{"", "ip:10.1.2.3", "r2"},
			{"", "ip:10.0.0.0/9", "r5 r2"},
			{"", "ip:10.0.0.128/25", "r5"},
			{"", "ip:2001:db8::/32", "r4"},
			{"", "-ip:10.0.0.0/8 action:zz.*", "r4 r1"},
			{"", "outcome:failure", "r5 r3"},
			{"", "-outcome:success action:zz.*", "r5 r3"},
			{"", "created:2024-05-01T12:02:00Z..2024-05-01T12:04:00Z", "r4 r3 r2"},
			{"", "created:>2024-05-01T12:04:00Z action:zz.*", "r5"},
			{"", fmt.Sprintf("user_id:%d action:zz.*", tn.ownerID), "r1"},
			{"", "metadata.plan:pro", "r2"},
			{"", `metadata.shipping.country:"United Kingdom"`, "r2"},
			{"", "-metadata.plan:pro action:zz.order.*", "r5 r3"},
			{"", "refund", "r5 r2"},
			{"", "refund*", "r5 r2"},
			{"", `"refund issued"`, "r2"},
			{"", "order.refund*", "r5 r2"},
			{"", "kiosk", "r1"},
			{"", "refund -rejected", "r2"},
			{"", `"order cancelled" test`, "r3"},
			// With the seed's parameters: both must match.
			{"resource_type=order", "refund*", "r5 r2"},
			{"action=zz.order.refunded", "refund*", "r2"},
			{"action=zz.order.refunded", "-refund*", ""},
			{"start_date=2024-05-01T12:03:00Z&end_date=2024-05-01", "action:zz.*", "r5 r4 r3"},
			{fmt.Sprintf("user_id=%d", tn.ownerID), "action:zz.*", "r1"},
			{"resource_type=order&per_page=2", "action:zz.*", "r5 r3"},
			{"", "", ""}, // q empty: the seed's listing (checked below)
		}
		for _, tt := range tests {
			params := tt.params
			if tt.q != "" {
				params += "&q=" + url.QueryEscape(tt.q)
			}
			t.Run(params, func(t *testing.T) {
				for _, c := range []*tenant{tn, other} {
					r := c.events(t, params)
					if strings.Contains(string(r.raw), map[*tenant]string{tn: "other.example.com", other: "acme.example.com"}[c]) {
						t.Errorf("the listing of one account mentions another: %s", r.raw)
					}
					if c != tn || tt.q == "" {
						continue
					}
					if got := strings.Join(resourceIDs(r), " "); got != tt.want {
						t.Errorf("got %q; want %q", got, tt.want)
					}
					p := r.obj("pagination")
					if p["total_exact"] != true {
						t.Errorf("total_exact = %v; want true", p["total_exact"])
					}
				}
			})
		}
	})
}

// TestSearchErrors checks that a malformed q is a 400 with field q and the
// parser's message, which names the column.
func TestSearchErrors(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		for _, q := range []string{
			"acton:user_login", "note:refund", "metadata:pro", "action:", "action:a,", `actor:"Adam Admin`,
			`actor:"C:\Users"`, `actor:"Adam Admin"x`, "actor:adam*", "action:or*der", `action:"order refunded"`,
			"outcome:failed", "user_id:abc", "ip:10.0.0.300", "ip:10.0.0.0/33", "resource:order:", "created:2026-13-01",
			"created:yesterday", "created:7d", "created:-7y", "created:2026-02-01..2026-01-01", "created:..2026-01-01",
			"created:*", "action:a OR action:b", "NOT action:a", "refund - test", `"!!!"`, "metadata.a..b:x",
			strings.Repeat("w ", 33), strings.Repeat("x", 1001), "a\tb", "actor_type:API-KEY", "-",
		} {
			t.Run(q, func(t *testing.T) {
				_, perr := query.Parse(q, time.Now())
				if perr == nil {
					t.Fatalf("Parse(%q) succeeded; the test wants an error", q)
				}
				r := tn.owner.do("GET", "/api/audit-logs?q="+url.QueryEscape(q), nil)
				r.wantError(t, 400, "invalid", "q")
				if msg, _ := r.body["error"].(string); msg != perr.Error() || !strings.Contains(msg, "column") {
					t.Errorf("message %q; want the parser's %q, with a column", msg, perr.Error())
				}
			})
		}
		// A bad seed parameter is reported as before, even with a q.
		tn.owner.do("GET", "/api/audit-logs?user_id=x&q=refund", nil).wantError(t, 400, "invalid", "user_id")
	})
}

// TestSearchTotals checks the totals rule through HTTP: exact from the
// analytics counts where they answer the search, else exact up to the
// bound, then the bound with total_exact false, while has_next and pages
// stay true to the pages served.
func TestSearchTotals(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		db.CountBound = 4
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		var evs []*audit.Event
		for i := range 12 {
			evs = append(evs, &audit.Event{AccountID: tn.accountID, Action: "zz.viewed", Details: fmt.Sprintf("viewed item %d", i)})
		}
		e.appendEvents(evs...)
		tests := []struct {
			params     string
			total      int64
			exact      bool
			n          int
			pages      int64
			hasNext    bool
			totalIsLog bool
		}{
			{"per_page=5", 15, true, 5, 3, true, true}, // unfiltered: the log head, exact
			// An action is totalled exactly from the analytics counts,
			// past the bound.
			{"per_page=5&q=action:zz.viewed", 12, true, 5, 3, true, false},
			{"per_page=5&page=2&q=viewed", 4, false, 5, 3, true, false},
			{"per_page=5&page=3&q=viewed", 4, false, 2, 3, false, false},
			{"per_page=5&q=%22item+3%22", 1, true, 1, 1, false, false},
			{"per_page=5&action=zz.viewed", 12, true, 5, 3, true, false}, // the seed's filters follow the same rules
			{"per_page=5&q=action:zz.viewed+-actor_type:system", 4, false, 5, 2, true, false},
		}
		for _, tt := range tests {
			p := tn.events(t, tt.params)
			pg := p.obj("pagination")
			got := fmt.Sprintf("total=%d exact=%v n=%d pages=%d has_next=%v", num(pg, "total"), pg["total_exact"], len(p.list("audit_logs")), num(pg, "pages"), pg["has_next"])
			want := fmt.Sprintf("total=%d exact=%v n=%d pages=%d has_next=%v", tt.total, tt.exact, tt.n, tt.pages, tt.hasNext)
			if got != want {
				t.Errorf("%s: got  %s\nwant %s", tt.params, got, want)
			}
		}
	})
}

// TestSearchCursor walks a search with a relative time by next_cursor while
// time passes and events arrive: every page resolves created:>-24h as the
// first did, so the walk neither skips nor repeats events. A cursor works
// only with the search it was made for.
func TestSearchCursor(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		now := time.Now().UTC().Truncate(time.Second)
		e.setNow(now)
		tn := e.newTenant("acme")
		var evs []*audit.Event
		var want []string
		for i := range 23 {
			// One event an hour back from now, and one just inside the
			// window's far edge, which a later "now" would push out.
			at := now.Add(-time.Duration(i+1) * time.Hour)
			if i == 22 {
				at = now.Add(-24*time.Hour + 2*time.Minute)
			}
			id := fmt.Sprintf("w%02d", i)
			evs = append(evs, &audit.Event{AccountID: tn.accountID, Action: "zz.window", ResourceID: id, CreatedAt: at})
			want = append(want, id)
		}
		evs = append(evs, &audit.Event{AccountID: tn.accountID, Action: "zz.window", ResourceID: "old", CreatedAt: now.Add(-25 * time.Hour)})
		e.appendEvents(evs...)

		q := url.QueryEscape("action:zz.window created:>-24h")
		var got []string
		next := ""
		for page := 0; ; page++ {
			if page > 20 {
				t.Fatal("the walk does not end")
			}
			path := "/api/audit-logs?per_page=5&q=" + q
			if next != "" {
				path += "&cursor=" + next
			}
			r := tn.owner.do("GET", path, nil).want(t, 200)
			got = append(got, resourceIDs(r)...)
			next, _ = r.obj("pagination")["next_cursor"].(string)
			if next == "" {
				break
			}
			// Between pages, time passes and new events arrive.
			e.setNow(now.Add(time.Duration(page+1) * time.Minute * 3))
			e.appendEvents(&audit.Event{AccountID: tn.accountID, Action: "zz.window", ResourceID: fmt.Sprintf("new%d", page), CreatedAt: now.Add(time.Duration(page+1) * time.Minute)})
		}
		if !slices.Equal(got, want) {
			t.Errorf("walk %v\nwant %v", got, want)
		}

		first := tn.owner.do("GET", "/api/audit-logs?per_page=2&q="+q, nil).want(t, 200)
		cursor := first.obj("pagination")["next_cursor"].(string)
		tn.owner.do("GET", "/api/audit-logs?per_page=2&q="+q+"&cursor="+cursor, nil).want(t, 200)
		// The same search written differently is the same search.
		tn.owner.do("GET", "/api/audit-logs?per_page=2&q="+url.QueryEscape("Action:zz.window  created:>-24h")+"&cursor="+cursor, nil).want(t, 200)
		for _, other := range []string{"", "&q=" + url.QueryEscape("action:zz.window"), "&q=" + url.QueryEscape("action:zz.window created:>-25h"), "&action=zz.window&q=" + q} {
			tn.owner.do("GET", "/api/audit-logs?per_page=2&cursor="+cursor+other, nil).wantError(t, 400, "invalid", "cursor")
		}
		plain := tn.owner.do("GET", "/api/audit-logs?per_page=2", nil).want(t, 200).obj("pagination")["next_cursor"].(string)
		tn.owner.do("GET", "/api/audit-logs?per_page=2&q="+q+"&cursor="+plain, nil).wantError(t, 400, "invalid", "cursor")
		forged := []byte(cursor)
		forged[len(forged)-30] ^= 1
		tn.owner.do("GET", "/api/audit-logs?per_page=2&q="+q+"&cursor="+string(forged), nil).wantError(t, 400, "invalid", "cursor")
	})
}
