package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
)

// TestAlertsPage turns on a suggested rule, writes one (its errors beside
// their fields), edits, turns off and on, and deletes it through the
// console.
func TestAlertsPage(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	c.signIn(audit.RoleAdmin)
	page := c.get("/account/alerts")
	if page.status != http.StatusOK || !strings.Contains(page.body, `name="default" value="failed_logins"`) {
		t.Fatalf("alerts page: %d\n%s", page.status, page.body)
	}
	if got := c.post("/account/alerts", url.Values{"default": {"failed_logins"}}); got.status != http.StatusSeeOther {
		t.Fatalf("turn on a default: %d\n%s", got.status, got.body)
	}
	page = c.get("/account/alerts")
	if strings.Contains(page.body, `name="default" value="failed_logins"`) || !strings.Contains(page.body, `<tr id="rule-`) {
		t.Error("a default turned on is still suggested, or not listed")
	}
	if got := c.post("/account/alerts", url.Values{"default": {"failed_logins"}}); got.status != http.StatusConflict && got.status != http.StatusBadRequest {
		t.Errorf("the same default twice: %d", got.status)
	}
	for _, tt := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no name", url.Values{"action": {"order.refunded"}}, "rule-name"},
		{"threshold not a number", url.Values{"name": {"x"}, "action": {"order.refunded"}, "threshold": {"many"}}, "rule-threshold"},
		{"bad search", url.Values{"name": {"x"}, "action": {"order.refunded"}, "q": {"outcome:("}}, "rule-query"},
	} {
		got := c.post("/account/alerts", tt.form)
		if got.status != http.StatusBadRequest || !strings.Contains(got.body, `id="`+tt.field+`-error"`) {
			t.Errorf("%s: %d; want 400 with the error next to %s\n%s", tt.name, got.status, tt.field, got.body)
		}
	}
	if got := c.post("/account/alerts", url.Values{"name": {"Refunds by one actor"}, "action": {"order.refunded"}, "threshold": {"5"}, "window_seconds": {"600"}, "group_by": {"actor"}}); got.status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", got.status, got.body)
	}
	page = c.get("/account/alerts")
	m := regexp.MustCompile(`<a href="/account/alerts/(\d+)">Refunds by one actor</a>`).FindStringSubmatch(page.body)
	if m == nil || !strings.Contains(page.body, "more than 5 in 600 s (per actor)") {
		t.Fatalf("the new rule is not listed as written\n%s", page.body)
	}
	id := m[1]
	if got := c.get("/account/alerts/" + id); got.status != http.StatusOK || !strings.Contains(got.body, `value="order.refunded"`) {
		t.Errorf("edit page: %d", got.status)
	}
	if got := c.post("/account/alerts/"+id+"/edit", url.Values{"name": {"Refunds by one actor"}, "action": {"order.refunded"}, "threshold": {"9"}, "window_seconds": {"-1"}}); got.status != http.StatusBadRequest || !strings.Contains(got.body, `id="rule-window-error"`) {
		t.Errorf("a bad edit: %d\n%s", got.status, got.body)
	}
	if got := c.post("/account/alerts/"+id+"/edit", url.Values{"name": {"Refunds by one actor"}, "action": {"order.refunded"}, "threshold": {"9"}, "window_seconds": {"600"}}); got.status != http.StatusSeeOther {
		t.Errorf("edit: %d\n%s", got.status, got.body)
	}
	for _, step := range []string{"disable", "enable"} {
		if got := c.post("/account/alerts/"+id+"/"+step, url.Values{}); got.status != http.StatusSeeOther || got.header.Get("Location") != "/account/alerts?done=rule-"+step+"d" {
			t.Errorf("%s: %d to %q", step, got.status, got.header.Get("Location"))
		}
	}
	if page := c.get("/account/alerts"); !strings.Contains(page.body, "more than 9 in 600 s") {
		t.Error("the edit did not show")
	}
	for _, bad := range []string{"/account/alerts/999/delete", "/account/alerts/x/enable", "/account/alerts/" + id + "/explode"} {
		if got := c.post(bad, url.Values{}); got.status != http.StatusNotFound {
			t.Errorf("POST %s: %d; want 404", bad, got.status)
		}
	}
	if got := c.get("/account/alerts/999"); got.status != http.StatusNotFound {
		t.Errorf("GET an unknown rule: %d", got.status)
	}
	if got := c.post("/account/alerts/"+id+"/delete", url.Values{}); got.status != http.StatusSeeOther {
		t.Errorf("delete: %d", got.status)
	}
	if page := c.get("/account/alerts"); strings.Contains(page.body, "Refunds by one actor") {
		t.Error("the deleted rule is still listed")
	}
}
