package server

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func TestPagination(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme") // 3 events: account_created, user_created, user_login
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		var evs []*audit.Event
		for i := range 247 {
			evs = append(evs, &audit.Event{AccountID: tn.accountID, Action: "product_updated", CreatedAt: base.Add(time.Duration(i) * time.Minute)})
		}
		e.appendEvents(evs...)
		const total = 250
		tests := []struct {
			query                string
			page, perPage, count int
			pages                int
			hasNext, hasPrev     bool
		}{
			{"", 1, 50, 50, 5, true, false},
			{"page=2&per_page=100", 2, 100, 100, 3, true, true},
			{"page=3&per_page=100", 3, 100, 50, 3, false, true},
			{"page=4&per_page=100", 4, 100, 0, 3, false, true},
			{"per_page=1000", 1, 100, 100, 3, true, false}, // capped at 100
			{"per_page=7&page=36", 36, 7, 5, 36, false, true},
			{"per_page=250", 1, 100, 100, 3, true, false},
			{"per_page=1", 1, 1, 1, 250, true, false},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				r := tn.events(t, tt.query)
				p := r.obj("pagination")
				got := fmt.Sprintf("page=%d per_page=%d total=%d pages=%d has_next=%v has_prev=%v n=%d",
					num(p, "page"), num(p, "per_page"), num(p, "total"), num(p, "pages"), p["has_next"], p["has_prev"], len(r.list("audit_logs")))
				want := fmt.Sprintf("page=%d per_page=%d total=%d pages=%d has_next=%v has_prev=%v n=%d",
					tt.page, tt.perPage, total, tt.pages, tt.hasNext, tt.hasPrev, tt.count)
				if got != want {
					t.Errorf("got  %s\nwant %s", got, want)
				}
			})
		}
		// Pages tile the log: newest first, no repeats, no gaps.
		var seqs []int64
		for page := 1; page <= 3; page++ {
			for _, ev := range tn.events(t, fmt.Sprintf("page=%d&per_page=100", page)).list("audit_logs") {
				seqs = append(seqs, num(ev.(map[string]any), "seq"))
			}
		}
		if len(seqs) != total {
			t.Fatalf("%d events over all pages; want %d", len(seqs), total)
		}
		// The three events of the account's creation are newest (now), then
		// the 247 back-dated ones from newest to oldest.
		for i, s := range seqs[3:] {
			if want := int64(total - i); s != want {
				t.Fatalf("event %d has seq %d; want %d", i+3, s, want)
			}
		}
	})
}

func TestPaginationEmpty(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		r := tn.events(t, "action=nothing-matches")
		p := r.obj("pagination")
		if num(p, "total") != 0 || num(p, "pages") != 0 || p["has_next"] != false || p["has_prev"] != false {
			t.Errorf("empty pagination %v", p)
		}
		if l := r.list("audit_logs"); l == nil || len(l) != 0 {
			t.Errorf("audit_logs = %s; want []", r.raw)
		}
	})
}

func TestEventFilters(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		_, analystID := e.addUser(tn, audit.RoleAnalyst)
		day := func(d, h int) time.Time { return time.Date(2024, 3, d, h, 0, 0, 0, time.UTC) }
		e.appendEvents(
			&audit.Event{AccountID: tn.accountID, UserID: analystID, Action: "report_exported", ResourceType: "report", CreatedAt: day(1, 0)},
			&audit.Event{AccountID: tn.accountID, UserID: tn.ownerID, Action: "order_refunded", ResourceType: "order", CreatedAt: day(1, 23)},
			&audit.Event{AccountID: tn.accountID, UserID: analystID, Action: "report_exported", ResourceType: "report", CreatedAt: day(2, 12)},
			&audit.Event{AccountID: tn.accountID, UserID: tn.ownerID, Action: "product_created", ResourceType: "product", CreatedAt: day(3, 0)},
			&audit.Event{AccountID: tn.accountID, Action: "order_refunded", ResourceType: "order", CreatedAt: day(31, 23).Add(59*time.Minute + 59*time.Second)},
		)
		tests := []struct {
			query string
			want  string // actions, newest first
		}{
			{"user_id={analyst}&end_date=2024-12-31", "report_exported,report_exported"},
			{"action=order_refunded", "order_refunded,order_refunded"},
			{"resource_type=product", "product_created"},
			{"start_date=2024-03-01&end_date=2024-03-01", "order_refunded,report_exported"},                     // a whole day, both ends inclusive
			{"start_date=2024-03-01T23:00:00Z&end_date=2024-03-02T12:00:00Z", "report_exported,order_refunded"}, // instants inclusive
			{"start_date=2024-03-01T23:00:00.000001Z&end_date=2024-03-02T11:59:59.999999", "x"},
			{"start_date=2024-03-02&end_date=2024-03-31", "order_refunded,product_created,report_exported"},
			{"start_date=2024-03-02T00:00:00%2B01:00&end_date=2024-03-02", "report_exported,order_refunded"}, // zone honored: 23:00Z on the 1st
			{"end_date=2024-02-29", "x"},
			{"action=report_exported&resource_type=report&start_date=2024-03-02", "report_exported"},
			{"action=report_exported&user_id={owner}", "x"},
		}
		for _, tt := range tests {
			q := strings.NewReplacer("{analyst}", fmt.Sprint(analystID), "{owner}", fmt.Sprint(tn.ownerID)).Replace(tt.query)
			t.Run(q, func(t *testing.T) {
				got := strings.Join(actions(tn.events(t, q)), ",")
				want := tt.want
				if want == "x" {
					want = ""
				}
				if got != want {
					t.Errorf("got %q; want %q", got, want)
				}
			})
		}
	})
}

func TestEventQueryErrors(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		for query, field := range map[string]string{
			"page=0":                 "page",
			"page=-1":                "page",
			"page=abc":               "page",
			"page=99999999999999999": "page",
			"per_page=0":             "per_page",
			"per_page=1.5":           "per_page",
			"user_id=x":              "user_id",
			"user_id=0":              "user_id",
			"start_date=yesterday":   "start_date",
			"end_date=2024-13-01":    "end_date",
			"start_date=2024-02-01&end_date=2024-01-01": "start_date",
			"action=" + strings.Repeat("a", 101):        "action",
			"resource_type=" + url.QueryEscape("a\nb"):  "resource_type",
		} {
			t.Run(query, func(t *testing.T) {
				tn.owner.do("GET", "/api/audit-logs?"+query, nil).wantError(t, 400, "invalid", field)
			})
		}
	})
}

// TestTenantIsolation checks that a user of one account sees nothing of
// another through any endpoint or filter.
func TestTenantIsolation(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		a, b := e.newTenant("alpha"), e.newTenant("beta")
		_, bAnalyst := e.addUser(b, audit.RoleAnalyst)
		e.appendEvents(&audit.Event{AccountID: b.accountID, UserID: bAnalyst, Action: "secret_action", ResourceType: "secret"})

		for _, q := range []string{
			"", fmt.Sprintf("user_id=%d", b.ownerID), fmt.Sprintf("user_id=%d", bAnalyst),
			"action=secret_action", "resource_type=secret", "start_date=2000-01-01&end_date=2100-01-01", "per_page=100",
		} {
			r := a.events(t, q)
			for _, ev := range r.list("audit_logs") {
				m := ev.(map[string]any)
				if u, ok := m["user"].(map[string]any); ok && num(u, "id") != a.ownerID {
					t.Errorf("query %q: alpha sees event of user %v", q, u)
				}
				if strings.Contains(string(r.raw), "beta") {
					t.Errorf("query %q: alpha's events mention beta: %s", q, r.raw)
				}
			}
		}
		users := a.owner.do("GET", "/api/users", nil).want(t, 200)
		if strings.Contains(string(users.raw), "beta") {
			t.Errorf("alpha's users include beta's: %s", users.raw)
		}
		a.owner.do("GET", fmt.Sprintf("/api/accounts/%d", b.accountID), nil).wantError(t, 404, "not_found", "")
		if strings.Contains(string(a.owner.do("GET", "/api/auth/me", nil).raw), "beta") {
			t.Error("me mentions beta")
		}
	})
}

func TestEventShape(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		at := time.Date(2024, 1, 1, 12, 0, 0, 123456000, time.UTC)
		e.appendEvents(
			&audit.Event{AccountID: tn.accountID, UserID: tn.ownerID, Action: "user_login", ResourceType: "user", ResourceID: "1",
				Details: "User logged in successfully", IPAddress: "192.168.1.1", UserAgent: "Mozilla/5.0...", CreatedAt: at},
			&audit.Event{AccountID: tn.accountID, Action: "system_job", CreatedAt: at.Add(-time.Hour)},
		)
		evs := tn.events(t, "end_date=2024-01-01").list("audit_logs")
		if len(evs) != 2 {
			t.Fatalf("%d events; want 2", len(evs))
		}
		got := evs[0].(map[string]any)
		want := map[string]any{
			"action": "user_login", "resource_type": "user", "resource_id": "1", "details": "User logged in successfully",
			"ip_address": "192.168.1.1", "user_agent": "Mozilla/5.0...", "created_at": "2024-01-01T12:00:00.123456Z",
			"user": map[string]any{"id": float64(tn.ownerID), "email": "owner@acme.example.com", "first_name": "Olga", "last_name": "acme", "role": "owner"},
		}
		for k, w := range want {
			if fmt.Sprint(got[k]) != fmt.Sprint(w) {
				t.Errorf("%s = %v; want %v", k, got[k], w)
			}
		}
		if got["id"] == nil || got["seq"] == nil {
			t.Errorf("event lacks id or seq: %v", got)
		}
		anon := evs[1].(map[string]any)
		for _, k := range []string{"user", "user_id", "resource_type", "resource_id", "details", "ip_address", "user_agent"} {
			if v, ok := anon[k]; !ok || v != nil {
				t.Errorf("unset %s = %v (present %v); want null", k, v, ok)
			}
		}
	})
}

// TestCursorPaging walks a log by next_cursor and checks that the pages
// tile it exactly, newest first, ties in time included, with and without a
// filter; and that a cursor cannot be forged or carried to other filters or
// another account.
func TestCursorPaging(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn, other := e.newTenant("acme"), e.newTenant("other")
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		var evs []*audit.Event
		for i := range 120 {
			evs = append(evs, &audit.Event{AccountID: tn.accountID, Action: []string{"a.one", "a.two"}[i%2], CreatedAt: base.Add(time.Duration(i) * time.Second)})
		}
		e.appendEvents(evs...)
		var tied []*audit.Event // one transaction, one timestamp: only seq orders them
		for range 45 {
			tied = append(tied, &audit.Event{AccountID: tn.accountID, Action: "a.tied"})
		}
		e.appendEvents(tied...)

		const maxPages = 100 // a walk that goes on past this never ends
		walk := func(query string) []int64 {
			var seqs []int64
			url := "/api/audit-logs?per_page=40&" + query
			for i := 0; ; i++ {
				if i == maxPages {
					t.Fatalf("query %q: cursor walk did not end after %d pages", query, i)
				}
				r := tn.owner.do("GET", url, nil).want(t, 200)
				for _, ev := range r.list("audit_logs") {
					seqs = append(seqs, num(ev.(map[string]any), "seq"))
				}
				p := r.obj("pagination")
				next, _ := p["next_cursor"].(string)
				if i > 0 && p["page"] != nil {
					t.Errorf("cursor page reports page %v; want null", p["page"])
				}
				if next == "" {
					if p["has_next"] != false {
						t.Errorf("last page has_next %v", p["has_next"])
					}
					return seqs
				}
				url = "/api/audit-logs?per_page=40&" + query + "&cursor=" + next
			}
		}
		offset := func(query string) []int64 {
			var seqs []int64
			for page := 1; ; page++ {
				if page > maxPages {
					t.Fatalf("query %q: offset walk did not end after %d pages", query, maxPages)
				}
				r := tn.owner.do("GET", fmt.Sprintf("/api/audit-logs?per_page=40&page=%d&%s", page, query), nil).want(t, 200)
				for _, ev := range r.list("audit_logs") {
					seqs = append(seqs, num(ev.(map[string]any), "seq"))
				}
				if r.obj("pagination")["has_next"] != true {
					return seqs
				}
			}
		}
		for _, q := range []string{"", "action=a.two", "action=a.tied", "start_date=2024-01-01T00:00:30Z&end_date=2024-01-01T00:01:30Z"} {
			got, want := walk(q), offset(q)
			if len(got) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("query %q: cursor walk %v\nwant (offset walk) %v", q, got, want)
			}
		}
		if n := len(walk("")); n != 168 { // 120 + 45 + the account's 3
			t.Errorf("cursor walk saw %d events; want 168", n)
		}

		first := tn.owner.do("GET", "/api/audit-logs?per_page=10", nil).want(t, 200)
		cursor := first.obj("pagination")["next_cursor"].(string)
		tn.owner.do("GET", "/api/audit-logs?per_page=10&action=a.one&cursor="+cursor, nil).wantError(t, 400, "invalid", "cursor")
		other.owner.do("GET", "/api/audit-logs?per_page=10&cursor="+cursor, nil).wantError(t, 400, "invalid", "cursor")
		forged := []byte(cursor)
		forged[3] ^= 1
		tn.owner.do("GET", "/api/audit-logs?per_page=10&cursor="+string(forged), nil).wantError(t, 400, "invalid", "cursor")
		tn.owner.do("GET", "/api/audit-logs?cursor=!!!", nil).wantError(t, 400, "invalid", "cursor")
	})
}
