package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
)

// TestDataPage sets the retention period and erases a person's data
// through the console, with the confirmation step.
func TestDataPage(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	c.signIn(audit.RoleOwner)
	if got := c.get("/account/data"); got.status != http.StatusOK || !strings.Contains(got.body, "No erasures yet") {
		t.Fatalf("data page: %d", got.status)
	}
	for _, days := range []string{"-3", "many"} {
		got := c.post("/account/retention", url.Values{"retention_days": {days}})
		if got.status != http.StatusBadRequest || !strings.Contains(got.body, `id="retention-days-error"`) {
			t.Errorf("retention %q: %d\n%s", days, got.status, got.body)
		}
	}
	if got := c.post("/account/retention", url.Values{"retention_days": {"90"}}); got.status != http.StatusSeeOther {
		t.Fatalf("retention 90: %d\n%s", got.status, got.body)
	}
	useDefault := `name="use_default" value="true"`
	if got := c.get("/account/data?done=retention"); !strings.Contains(got.body, "<strong>90 days</strong>") || !strings.Contains(got.body, useDefault) {
		t.Error("the retention period, or the way back to the default, does not show")
	}
	// Back to the service's default (forever here), whatever the field says.
	if got := c.post("/account/retention", url.Values{"retention_days": {"90"}, "use_default": {"true"}}); got.status != http.StatusSeeOther {
		t.Fatalf("retention back to the default: %d\n%s", got.status, got.body)
	}
	if got := c.get("/account/data"); !strings.Contains(got.body, "<strong>forever</strong>") || strings.Contains(got.body, useDefault) {
		t.Errorf("after going back to the default:\n%s", got.body)
	}
	if got := c.post("/account/retention", url.Values{"retention_days": {"90"}}); got.status != http.StatusSeeOther {
		t.Fatalf("retention 90: %d\n%s", got.status, got.body)
	}

	// What Erase would refuse is refused before the confirmation step,
	// beside its field.
	owner := strconv.FormatInt(e.principal(audit.RoleOwner).User.ID, 10)
	for _, tc := range []struct {
		name    string
		form    url.Values
		status  int
		errorID string
		says    string
	}{
		{"a bad email", url.Values{"kind": {"email"}, "subject": {"not-an-email"}}, http.StatusBadRequest, "erase-subject-error", "email"},
		{"no such user", url.Values{"kind": {"user_id"}, "subject": {"999999"}}, http.StatusNotFound, "erase-subject-error", "No user of this account has this ID"},
		{"a user ID that is not one", url.Values{"kind": {"user_id"}, "subject": {"x7"}}, http.StatusBadRequest, "erase-subject-error", "the user&#39;s ID"},
		{"an actor anonymised", url.Values{"kind": {"actor_id"}, "subject": {"cust_77"}, "anonymize_user": {"true"}}, http.StatusBadRequest, "anonymize-error", "needs a user"},
		{"an email of no user anonymised", url.Values{"kind": {"email"}, "subject": {"jane@example.net"}, "anonymize_user": {"true"}}, http.StatusBadRequest, "anonymize-error", "no user of the account has this email"},
		{"the last owner anonymised", url.Values{"kind": {"user_id"}, "subject": {owner}, "anonymize_user": {"true"}}, http.StatusConflict, "anonymize-error", "at least one active owner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := c.post("/account/erasures", tc.form)
			if got.status != tc.status || !strings.Contains(got.body, `id="`+tc.errorID+`"`) || !strings.Contains(got.body, tc.says) {
				t.Errorf("%d; want %d with %s saying %q\n%s", got.status, tc.status, tc.errorID, tc.says, got.body)
			}
			if strings.Contains(got.body, `name="confirm" value="yes"`) {
				t.Error("asks to confirm an erasure it would refuse")
			}
		})
	}
	bad := c.post("/account/erasures", url.Values{"kind": {"email"}, "subject": {"not-an-email"}, "confirm": {"yes"}})
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `id="erase-subject-error"`) {
		t.Errorf("a bad email: %d\n%s", bad.status, bad.body)
	}
	ask := c.post("/account/erasures", url.Values{"kind": {"email"}, "subject": {"jane@example.net"}})
	if ask.status != http.StatusOK || !strings.Contains(ask.body, `name="confirm" value="yes"`) || !strings.Contains(ask.body, "cannot be undone") {
		t.Fatalf("the confirmation step: %d\n%s", ask.status, ask.body)
	}
	ev := "/events/" + strconv.FormatInt(e.detailed, 10)
	if !strings.Contains(c.get(ev).body, "Jane Roe") {
		t.Fatal("erased before the confirmation")
	}
	done := c.post("/account/erasures", url.Values{"kind": {"email"}, "subject": {"jane@example.net"}, "confirm": {"yes"}})
	if done.status != http.StatusCreated || !strings.Contains(done.body, "Erased: 1 event lost") || !strings.Contains(done.body, "<td data-label=\"Subject\">email") {
		t.Fatalf("erase: %d\n%s", done.status, done.body)
	}
	if strings.Contains(done.body, "jane@example.net") {
		t.Error("the erasure list names the subject")
	}
	if strings.Contains(c.get(ev).body, "Jane Roe") {
		t.Error("the event still shows the erased name")
	}
	// An admin may neither erase nor set the retention (TestFormPermissions),
	// nor open the page.
	admin := e.client()
	admin.signIn(audit.RoleAdmin)
	if got := admin.get("/account/data"); got.status != http.StatusForbidden {
		t.Errorf("admin opens the data page: %d", got.status)
	}
}
