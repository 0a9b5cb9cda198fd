package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

func TestFilterForm(t *testing.T) {
	now := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		form      filterForm
		start     string // RFC 3339, "" for none
		end       string
		wantField string
	}{
		{form: filterForm{}},
		{form: filterForm{Range: "24h"}, start: "2026-01-30T12:00:00Z"},
		{form: filterForm{Range: "7d", Since: "2026-01-20T08:00:00.123456Z"}, start: "2026-01-20T08:00:00.123456Z"},
		{form: filterForm{Range: "custom", Start: "2026-01-01", End: "2026-01-31"}, start: "2026-01-01T00:00:00Z", end: "2026-01-31T23:59:59.999999Z"},
		{form: filterForm{Start: "2026-01-01"}, start: "2026-01-01T00:00:00Z"},
		{form: filterForm{Range: "custom", Start: "2026-02-01", End: "2026-01-01"}, wantField: "start"},
		{form: filterForm{Range: "custom", Start: "yesterday"}, wantField: "start"},
		{form: filterForm{Range: "2y"}, wantField: "range"},
		{form: filterForm{UserID: "x"}, wantField: "user_id"},
	} {
		f := tt.form
		got, err := f.filter(now)
		if tt.wantField != "" {
			if audit.ErrorField(err) != tt.wantField {
				t.Errorf("%+v: error %v; want one on %s", tt.form, err, tt.wantField)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tt.form, err)
			continue
		}
		if s := fmtTime(got.Start); s != tt.start {
			t.Errorf("%+v: start %s; want %s", tt.form, s, tt.start)
		}
		if s := fmtTime(got.End); s != tt.end {
			t.Errorf("%+v: end %s; want %s", tt.form, s, tt.end)
		}
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// TestExplorerPaging follows Older links to the end and Newer links back,
// with a date preset whose start stays pinned across pages.
func TestExplorerPaging(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	c.signIn(audit.RoleOwner)
	link := regexp.MustCompile(`href="([^"]+)" rel="(next|prev)"`)
	first := regexp.MustCompile(`<a class="action" href="(/events/\d+)"`)
	links := func(p response) map[string]string {
		out := map[string]string{}
		for _, m := range link.FindAllStringSubmatch(p.body, -1) {
			out[m[2]] = html.UnescapeString(m[1])
		}
		return out
	}
	path := "/events?range=30d"
	var firsts []string
	for page := 0; ; page++ {
		p := c.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, p.status)
		}
		firsts = append(firsts, first.FindStringSubmatch(p.body)[1])
		next, ok := links(p)["next"]
		if !ok {
			break
		}
		if u, _ := url.Parse(next); u.Query().Get("since") == "" || u.Query().Get("range") != "30d" {
			t.Errorf("older link %s does not pin the range's start", next)
		}
		path = next
		if page > 10 {
			t.Fatal("no last page")
		}
	}
	if len(firsts) < 2 {
		t.Fatalf("%d pages; want several", len(firsts))
	}
	for i := len(firsts) - 1; i > 0; i-- {
		prev, ok := links(c.get(path))["prev"]
		if !ok {
			t.Fatalf("page %d has no Newer link", i+1)
		}
		path = prev
		if got := first.FindStringSubmatch(c.get(path).body)[1]; got != firsts[i-1] {
			t.Errorf("newer to page %d starts with %s; want %s", i, got, firsts[i-1])
		}
	}
	if strings.Contains(c.get(path).body, `rel="prev"`) {
		t.Error("the first page has a Newer link")
	}
	bad := c.get("/events?cursor=forged")
	if bad.status != http.StatusSeeOther {
		t.Errorf("forged cursor: %d; want a redirect to the listing's start", bad.status)
	}
	if p := c.get("/events?range=custom&start=nope"); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="filter-error"`) {
		t.Errorf("bad date: %d", p.status)
	}
}

// TestExplorerSearch checks the search box: a search narrows the list and
// stays in its paging links, a search the language refuses is shown
// beside the box with a 400, and the export buttons carry the search.
func TestExplorerSearch(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	c.signIn(audit.RoleOwner)
	all := c.get("/events")
	found := c.get("/events?" + url.Values{"q": {"action:user_login"}}.Encode())
	if found.status != http.StatusOK || !strings.Contains(found.body, "user_login") || strings.Count(found.body, `class="action"`) >= strings.Count(all.body, `class="action"`) {
		t.Fatalf("search for action:user_login: %d, %d events listed of %d", found.status,
			strings.Count(found.body, `class="action"`), strings.Count(all.body, `class="action"`))
	}
	for _, m := range regexp.MustCompile(`<a class="action" href="/events/\d+">([^<]+)<`).FindAllStringSubmatch(found.body, -1) {
		if m[1] != "user_login" {
			t.Errorf("search for action:user_login lists %s", m[1])
		}
	}
	if !strings.Contains(found.body, "q=action%3Auser_login") {
		t.Error("the export buttons do not carry the search")
	}
	// Past the count's bound the total is a lower bound, and says so: an
	// excluded address has no index, so the newest 3 events are checked.
	e.db.CountBound = 3
	some := c.get("/events?" + url.Values{"q": {"-ip:203.0.113.250"}}.Encode())
	if !strings.Contains(some.body, "At least 3 events match these filters") {
		t.Errorf("a count past its bound: the status line does not say it is a lower bound: %s",
			regexp.MustCompile(`<p role="status">[^<]*</p>`).FindString(some.body))
	}
	e.db.CountBound = 0
	if strings.Contains(all.body, "At least") {
		t.Error("an exact total is shown as a lower bound")
	}
	bad := c.get("/events?" + url.Values{"q": {"acton:x"}}.Encode())
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "unknown qualifier") {
		t.Errorf("a refused search: %d, body holds no message", bad.status)
	}
}

// TestLiveToggle checks what the explorer gives its live toggle: the tail
// of the page's filters and search, resuming after the newest event shown,
// on the first page only (TestBrowserLive drives it).
func TestLiveToggle(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	c.signIn(audit.RoleOwner)
	stream := regexp.MustCompile(`<div class="live" id="live" data-stream="([^"]*)" data-after-seq="(\d+)"`)
	for _, tt := range []struct {
		path, want string
	}{
		{"/events", "/api/audit-logs/stream"},
		{"/events?action=order.refunded&q=actor%3Acust_77", "/api/audit-logs/stream?action=order.refunded&amp;q=actor%3Acust_77"},
		{"/events?action=no_such_action", "/api/audit-logs/stream?action=no_such_action"},
	} {
		page := c.get(tt.path)
		m := stream.FindStringSubmatch(page.body)
		if m == nil || m[1] != tt.want || !strings.Contains(page.body, `src="/static/live.js?v=`) {
			t.Errorf("%s: live toggle %q; want the tail %s", tt.path, m, tt.want)
			continue
		}
		if strings.Contains(tt.path, "no_such") != (m[2] == "0") {
			t.Errorf("%s: after_seq %s", tt.path, m[2])
		}
	}
	first := c.get("/events")
	older := regexp.MustCompile(`href="(/events\?[^"]*cursor=[^"]*)" rel="next"`).FindStringSubmatch(first.body)
	if older == nil {
		t.Fatal("no older page")
	}
	if page := c.get(strings.ReplaceAll(older[1], "&amp;", "&")); page.status != 200 || strings.Contains(page.body, `id="live"`) {
		t.Errorf("a later page: %d with a live toggle", page.status)
	}
}
