package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// tagOf lists the query as c and returns the response's ETag, checking
// the caching headers that go with it.
func tagOf(t *testing.T, c *client, query string) string {
	t.Helper()
	if err := c.env.app.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := c.do("GET", "/api/audit-logs?"+query, nil).want(t, http.StatusOK)
	tag := r.header.Get("ETag")
	if !strings.HasPrefix(tag, `W/"`) || !strings.HasSuffix(tag, `"`) {
		t.Fatalf("GET ?%s: ETag %q; want a weak tag", query, tag)
	}
	if cc, v := r.header.Get("Cache-Control"), r.header.Get("Vary"); cc != "private, no-cache" || v != "Authorization, Cookie" {
		t.Errorf("GET ?%s: Cache-Control %q, Vary %q", query, cc, v)
	}
	return tag
}

func TestListingETag(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn, other := e.newTenant("acme"), e.newTenant("other")
		admin, adminID := e.addUser(tn, audit.RoleAdmin)
		reader, _ := e.newKey(tn, "siem", "events:read")
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		var evs []*audit.Event
		for i := range 30 {
			evs = append(evs, &audit.Event{AccountID: tn.accountID, Action: "product_updated", ResourceType: "product", CreatedAt: base.Add(time.Duration(i) * time.Minute)})
		}
		e.appendEvents(evs...)

		first := tagOf(t, tn.owner, "")
		// The same page, asked again: 304 with no body, for the tag as sent,
		// without its weakness indicator, in a list, or "*".
		for _, inm := range []string{first, strings.TrimPrefix(first, "W/"), `"x", ` + first, "*"} {
			r := tn.owner.do("GET", "/api/audit-logs", nil, "If-None-Match", inm)
			if r.status != http.StatusNotModified || len(r.raw) != 0 || r.header.Get("ETag") != first {
				t.Errorf("If-None-Match %s: status %d, ETag %q, body %q; want 304, the same tag, no body", inm, r.status, r.header.Get("ETag"), r.raw)
			}
		}
		tn.owner.do("GET", "/api/audit-logs", nil, "If-None-Match", `W/"l1.other"`).want(t, http.StatusOK)

		// The same listing spelled differently has the same tag; every
		// other listing has its own.
		for _, same := range []string{"per_page=50", "page=1", "per_page=50&page=1&unknown=1", "q="} {
			if got := tagOf(t, tn.owner, same); got != first {
				t.Errorf("?%s: tag %s; want the unfiltered first page's %s", same, got, first)
			}
		}
		seen := map[string]string{first: ""}
		for _, q := range []string{
			"per_page=10", "page=2&per_page=10", "action=product_updated", "resource_type=product",
			"user_id=1", "start_date=2024-01-01", "end_date=2024-01-01", "q=action:product_updated",
			"q=product", "q=action:product_updated&action=product_updated",
		} {
			tag := tagOf(t, tn.owner, q)
			if prev, dup := seen[tag]; dup {
				t.Errorf("?%s has the tag of ?%s", q, prev)
			}
			seen[tag] = q
		}
		// A page asked by cursor has its own tag, and 304 as well.
		r := tn.owner.do("GET", "/api/audit-logs?per_page=10", nil).want(t, http.StatusOK)
		cursor, _ := r.obj("pagination")["next_cursor"].(string)
		byCursor := tagOf(t, tn.owner, "per_page=10&cursor="+cursor)
		if _, dup := seen[byCursor]; dup {
			t.Error("the page after a cursor has the tag of another listing")
		}
		tn.owner.do("GET", "/api/audit-logs?per_page=10&cursor="+cursor, nil, "If-None-Match", byCursor).want(t, http.StatusNotModified)
		// A forged cursor is refused before any tag is matched.
		tn.owner.do("GET", "/api/audit-logs?cursor=AAAA", nil, "If-None-Match", "*").wantError(t, 400, "invalid", "cursor")
		tn.owner.do("GET", "/api/audit-logs?q=action:", nil, "If-None-Match", "*").wantError(t, 400, "invalid", "q")

		// Another view of the same account: its own tag.
		if tagOf(t, admin, "") == first || tagOf(t, reader, "") == first {
			t.Error("an admin or an API key shares the owner's tag")
		}
		// Another account never matches: its tag differs, and the first
		// account's tag gets it a full page.
		if tagOf(t, other.owner, "") == first {
			t.Error("two accounts share a tag")
		}
		r = other.owner.do("GET", "/api/audit-logs", nil, "If-None-Match", first).want(t, http.StatusOK)
		if n := num(r.obj("pagination"), "total"); n != 3 {
			t.Errorf("the other account lists %d events; want its own 3", n)
		}

		// An appended event changes every tag of the account.
		e.appendEvents(&audit.Event{AccountID: tn.accountID, Action: "order_created", CreatedAt: base.Add(time.Hour)})
		if tagOf(t, tn.owner, "") == first {
			t.Error("the tag did not change when an event was appended")
		}
		r = tn.owner.do("GET", "/api/audit-logs", nil, "If-None-Match", first).want(t, http.StatusOK)
		if !slices.Contains(actions(r), "order_created") {
			t.Errorf("listed %v; want the appended order_created among them", actions(r))
		}

		// The one write that changes how events read (the acting user's
		// role, shown in each event's user) appends an event, so the tag
		// moves with it.
		admin.do("GET", "/api/audit-logs", nil).want(t, http.StatusOK)
		before := tagOf(t, tn.owner, "user_id="+fmt.Sprint(adminID))
		tn.owner.do("PATCH", fmt.Sprintf("/api/users/%d", adminID), map[string]any{"role": "analyst"}).want(t, http.StatusOK)
		if tagOf(t, tn.owner, "user_id="+fmt.Sprint(adminID)) == before {
			t.Error("a role change left the listing's tag as it was")
		}

		// A search that counts back from now has no tag: its matches change
		// as time passes.
		r = tn.owner.do("GET", "/api/audit-logs?q=created:>-24h", nil, "If-None-Match", "*").want(t, http.StatusOK)
		if tag := r.header.Get("ETag"); tag != "" || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("relative search: ETag %q, Cache-Control %q; want none and no-store", tag, r.header.Get("Cache-Control"))
		}
	})
}

func TestGetEvent(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn, other := e.newTenant("acme"), e.newTenant("other")
		analyst, _ := e.addUser(tn, audit.RoleAnalyst)
		reader, _ := e.newKey(tn, "siem", "events:read")
		writer, _ := e.newKey(tn, "shop", "events:write")

		listed := tn.events(t, "per_page=100").list("audit_logs")
		ev := listed[len(listed)-1].(map[string]any) // account_created, acted by the owner
		id := num(ev, "id")
		path := fmt.Sprintf("/api/audit-logs/%d", id)
		r := tn.owner.do("GET", path, nil).want(t, http.StatusOK)
		got := r.obj("audit_log")
		if fmt.Sprint(got) != fmt.Sprint(ev) {
			t.Errorf("single event\n%v\nwant it as listed\n%v", got, ev)
		}
		if u, _ := got["user"].(map[string]any); num(u, "id") != tn.ownerID {
			t.Errorf("event user %v; want the owner %d", got["user"], tn.ownerID)
		}
		tag := r.header.Get("ETag")
		if !strings.HasPrefix(tag, `"`) || r.header.Get("Cache-Control") != "private, no-cache" {
			t.Errorf("ETag %q, Cache-Control %q; want a strong tag and private, no-cache", tag, r.header.Get("Cache-Control"))
		}
		tn.owner.do("GET", path, nil, "If-None-Match", tag).want(t, http.StatusNotModified)
		reader.do("GET", path, nil).want(t, http.StatusOK)

		otherEvents := other.events(t, "").list("audit_logs")
		otherID := num(otherEvents[0].(map[string]any), "id")
		for _, tt := range []struct {
			name   string
			c      *client
			path   string
			status int
			code   string
		}{
			{"another account's event", tn.owner, fmt.Sprintf("/api/audit-logs/%d", otherID), 404, "not_found"},
			{"another account asking", other.owner, path, 404, "not_found"},
			{"another account with the tag", other.owner, path, 404, "not_found"},
			{"no such event", tn.owner, "/api/audit-logs/99999999", 404, "not_found"},
			{"not an ID", tn.owner, "/api/audit-logs/abc", 404, "not_found"},
			{"zero", tn.owner, "/api/audit-logs/0", 404, "not_found"},
			{"leading zero", tn.owner, fmt.Sprintf("/api/audit-logs/0%d", id), 404, "not_found"},
			{"role without audit_logs:read", analyst, path, 403, "forbidden"},
			{"key without events:read", writer, path, 403, "forbidden"},
			{"signed out", e.client(), path, 401, "unauthorized"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				tt.c.do("GET", tt.path, nil, "If-None-Match", tag).wantError(t, tt.status, tt.code, "")
			})
		}
	})
}

func TestLogReadsETag(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	tn := e.newTenant("acme")
	size := num(tn.owner.do("GET", "/api/audit-logs/checkpoint", nil).want(t, http.StatusOK).body, "tree_size")
	for _, path := range []string{"/api/verifier-key", "/api/audit-logs/checkpoint", fmt.Sprintf("/api/audit-logs/checkpoint?size=%d", size)} {
		r := tn.owner.do("GET", path, nil).want(t, http.StatusOK)
		tag := r.header.Get("ETag")
		if !strings.HasPrefix(tag, `"`) {
			t.Fatalf("%s: ETag %q; want a strong tag", path, tag)
		}
		tn.owner.do("GET", path, nil, "If-None-Match", tag).want(t, http.StatusNotModified)
	}
	latest := tn.owner.do("GET", "/api/audit-logs/checkpoint", nil).header.Get("ETag")
	e.appendEvents(&audit.Event{AccountID: tn.accountID, Action: "order_created", CreatedAt: time.Now()})
	tn.owner.do("GET", "/api/audit-logs/checkpoint", nil, "If-None-Match", latest).want(t, http.StatusOK)
}

// TestNoValidatorOnError: a listing whose version was computed but whose
// page then failed answers the error without the page's ETag.
func TestNoValidatorOnError(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db)
	tn := e.newTenant("acme")
	tagOf(t, tn.owner, "per_page=7")
	sqltest.Exec(t, db, `DROP TABLE events`)
	r := tn.owner.do("GET", "/api/audit-logs?per_page=8", nil)
	r.wantError(t, 500, "internal", "")
	if r.header.Get("ETag") != "" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("500 with ETag %q, Cache-Control %q; want none and no-store", r.header.Get("ETag"), r.header.Get("Cache-Control"))
	}
}
