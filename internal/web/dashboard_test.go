package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
)

// TestDashboard checks the dashboard's numbers against the analytics API
// and the explorer's totals, and its links.
func TestDashboard(t *testing.T) {
	e := newTestEnv(t)
	owner := e.client()
	owner.signIn(audit.RoleOwner)
	for _, rng := range []string{"", "24h", "30d"} {
		page := owner.get("/dashboard?range=" + rng)
		if page.status != http.StatusOK {
			t.Fatalf("range %q: status %d", rng, page.status)
		}
		if len(page.body) > 100_000 {
			t.Errorf("range %q: %d bytes; want under 100 KB", rng, len(page.body))
		}
		// The total, as the API counts it for the same range.
		start := regexp.MustCompile(`<time datetime="([^"]+)"`).FindStringSubmatch(page.body)
		if start == nil {
			t.Fatalf("range %q: no range shown", rng)
		}
		api := owner.get("/api/analytics/summary?start_date=" + start[1])
		var sum struct {
			Total int64 `json:"total"`
		}
		if err := json.Unmarshal([]byte(api.body), &sum); err != nil || api.status != 200 {
			t.Fatalf("summary: %d %s", api.status, api.body)
		}
		total := regexp.MustCompile(`<strong>([\d,]+)</strong> events`).FindStringSubmatch(page.body)
		if total == nil || total[1] != thousands(sum.Total) {
			t.Errorf("range %q: dashboard total %v; the API's %d", rng, total, sum.Total)
		}
		if rng == "30d" && sum.Total == 0 {
			t.Errorf("the sample's last 30 days count nothing")
		}
		// Every top value links to its events in the explorer; the
		// link's count matches.
		links := regexp.MustCompile(`<a href="(/events\?action=[^"]+)" class="action">[^<]+</a>\s*<svg[^>]*><rect[^>]*/></svg></td><td data-label="Events">([\d,]+)</td>`).FindAllStringSubmatch(page.body, -1)
		if rng == "30d" && len(links) == 0 {
			t.Fatalf("no top actions on the 30-day dashboard")
		}
		for _, l := range links[:min(2, len(links))] {
			href := strings.ReplaceAll(l[1], "&amp;", "&")
			list := owner.get(href)
			if m := regexp.MustCompile(`([\d,]+) events? match these filters`).FindStringSubmatch(list.body); m == nil || m[1] != l[2] {
				t.Errorf("%s lists %v; the dashboard counts %s", href, m, l[2])
			}
		}
	}
	if got := owner.get("/dashboard?range=forever"); got.status != http.StatusBadRequest {
		t.Errorf("an unknown range: status %d; want 400", got.status)
	}
}
