package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/alert"
	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestAlertRules checks /api/alert-rules on every engine: an owner or
// admin creates, lists, reads, changes, switches and deletes rules, each
// change recorded in the log; analysts and content creators get 403, API
// keys 403, another account's rule 404, bad input 400 naming the field.
func TestAlertRules(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn, other := e.newTenant("acme"), e.newTenant("other")
		admin, _ := e.addUser(tn, "admin")
		analyst, _ := e.addUser(tn, "analyst")
		creator, _ := e.addUser(tn, "content_creator")

		r := tn.owner.do("POST", "/api/alert-rules", map[string]any{"name": "Refund spike", "action": "order.refunded,order_refunded",
			"threshold": 10, "window_seconds": 3600}).want(t, http.StatusCreated).obj("alert_rule")
		if r["enabled"] != true || r["q"] != "" || r["group_by"] != "" || r["default"] != nil || r["last_triggered_at"] != nil {
			t.Errorf("created %v", r)
		}
		id := fmt.Sprint(num(r, "id"))
		admin.do("POST", "/api/alert-rules", map[string]any{"default": "failed_logins", "enabled": false}).want(t, http.StatusCreated)
		admin.do("POST", "/api/alert-rules", map[string]any{"default": "failed_logins"}).wantError(t, http.StatusConflict, "conflict", "default")

		if rules := admin.do("GET", "/api/alert-rules", nil).want(t, http.StatusOK).list("alert_rules"); len(rules) != 2 ||
			rules[1].(map[string]any)["default"] != "failed_logins" || rules[1].(map[string]any)["group_by"] != "actor" {
			t.Errorf("listed %v", rules)
		}
		tn.owner.do("PATCH", "/api/alert-rules/"+id, map[string]any{"threshold": 20, "q": "metadata.channel:web"}).want(t, http.StatusOK)
		tn.owner.do("PATCH", "/api/alert-rules/"+id, map[string]any{"threshold": 20}).want(t, http.StatusOK) // no change
		tn.owner.do("POST", "/api/alert-rules/"+id+"/disable", nil).want(t, http.StatusOK)
		if got := tn.owner.do("GET", "/api/alert-rules/"+id, nil).want(t, http.StatusOK).obj("alert_rule"); got["enabled"] != false ||
			num(got, "threshold") != 20 || got["q"] != "metadata.channel:web" {
			t.Errorf("after the changes: %v", got)
		}
		tn.owner.do("POST", "/api/alert-rules/"+id+"/enable", nil).want(t, http.StatusOK)
		if ds := analyst.do("GET", "/api/alert-rules/defaults", nil); ds.status != http.StatusForbidden {
			t.Errorf("analyst read the defaults: %d", ds.status)
		}
		if ds := tn.owner.do("GET", "/api/alert-rules/defaults", nil).want(t, http.StatusOK).list("defaults"); len(ds) != len(alert.Defaults) {
			t.Errorf("%d defaults, want %d", len(ds), len(alert.Defaults))
		}

		for _, c := range []*client{analyst, creator} {
			c.do("GET", "/api/alert-rules", nil).wantError(t, http.StatusForbidden, "forbidden", "")
			c.do("POST", "/api/alert-rules", map[string]any{"name": "x", "action": "x"}).wantError(t, http.StatusForbidden, "forbidden", "")
			c.do("DELETE", "/api/alert-rules/"+id, nil).wantError(t, http.StatusForbidden, "forbidden", "")
		}
		key := tn.owner.do("POST", "/api/api-keys", map[string]any{"name": "reader", "scopes": []string{"events:read", "events:write"}}).want(t, http.StatusCreated)
		bot := e.client()
		bot.bearer = key.body["key"].(string)
		bot.do("GET", "/api/alert-rules", nil).wantError(t, http.StatusForbidden, "forbidden", "")
		// The other account's owner sees no rule 1 or 2 of acme's.
		other.owner.do("GET", "/api/alert-rules/"+id, nil).wantError(t, http.StatusNotFound, "not_found", "")
		other.owner.do("PATCH", "/api/alert-rules/"+id, map[string]any{"name": "mine"}).wantError(t, http.StatusNotFound, "not_found", "")
		other.owner.do("DELETE", "/api/alert-rules/"+id, nil).wantError(t, http.StatusNotFound, "not_found", "")
		if rules := other.owner.do("GET", "/api/alert-rules", nil).want(t, http.StatusOK).list("alert_rules"); len(rules) != 0 {
			t.Errorf("the other account lists %v", rules)
		}

		for _, bad := range []struct {
			body  any
			field string
		}{
			{map[string]any{"action": "login_failed"}, "name"},
			{map[string]any{"name": "x"}, "action"},
			{map[string]any{"name": "x", "action": "login failed"}, "action"},
			{map[string]any{"name": "x", "action": "*"}, "action"},
			{map[string]any{"name": "x", "action": "a", "q": "acton:x"}, "q"},
			{map[string]any{"name": "x", "action": "a", "q": "created:>-1h"}, "q"},
			{map[string]any{"name": "x", "action": "a", "threshold": 5}, "window_seconds"},
			{map[string]any{"name": "x", "action": "a", "threshold": -1}, "threshold"},
			{map[string]any{"name": "x", "action": "a", "threshold": 5, "window_seconds": 99999999999}, "window_seconds"},
			{map[string]any{"name": "x", "action": "a", "threshold": "5"}, "threshold"},
			{map[string]any{"name": "x", "action": "a", "window_seconds": 60, "group_by": "country"}, "group_by"},
			{map[string]any{"name": "x", "action": "a", "group_by": "actor"}, "group_by"},
			{map[string]any{"default": "nope"}, "default"},
			{map[string]any{"default": "refund_spike", "threshold": 3}, "default"},
		} {
			tn.owner.do("POST", "/api/alert-rules", bad.body).wantError(t, http.StatusBadRequest, "invalid", bad.field)
		}
		tn.owner.do("PATCH", "/api/alert-rules/"+id, map[string]any{"window_seconds": 0}).wantError(t, http.StatusBadRequest, "invalid", "window_seconds")
		tn.owner.do("GET", "/api/alert-rules/01", nil).wantError(t, http.StatusNotFound, "not_found", "")

		tn.owner.do("DELETE", "/api/alert-rules/"+id, nil).want(t, http.StatusOK)
		tn.owner.do("GET", "/api/alert-rules/"+id, nil).wantError(t, http.StatusNotFound, "not_found", "")
		got := actions(tn.events(t, "q=resource_type:alert_rule&per_page=50"))
		slices.Reverse(got)
		want := []string{"alert_rule.created", "alert_rule.created", "alert_rule.updated", "alert_rule.disabled", "alert_rule.enabled", "alert_rule.deleted"}
		if !slices.Equal(got, want) {
			t.Errorf("recorded %v, want %v", got, want)
		}
	})
}

// TestFailedLoginsAlert checks the failed sign-ins default end to end: six
// wrong passwords for one user raise one alert.triggered event in the
// account's log, which the rule's last_triggered_at shows.
func TestFailedLoginsAlert(t *testing.T) {
	e := newTestEnv(t, sqltest.OpenSQLite(t))
	tn := e.newTenant("acme")
	e.addUser(tn, "admin")
	ev := alert.New(e.db, e.app.RaiseAlert, alert.Options{Sweep: time.Hour})
	t.Cleanup(ev.Close)
	tn.owner.do("POST", "/api/alert-rules", map[string]any{"default": "failed_logins"}).want(t, http.StatusCreated)
	c := e.client()
	for i := range 6 {
		c.do("POST", "/api/auth/login", map[string]string{"email": "admin@" + tn.domain, "password": "wrong-password"}).want(t, http.StatusUnauthorized)
		if err := e.app.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := ev.Evaluate(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		list := tn.events(t, "action=alert.triggered").list("audit_logs")
		if want := max(0, i-4); len(list) != want {
			t.Fatalf("after %d failed sign-ins: %d alerts, want %d", i+1, len(list), want)
		}
	}
	a := tn.events(t, "action=alert.triggered").list("audit_logs")[0].(map[string]any)
	var d app.AlertData
	meta, _ := json.Marshal(a["metadata"])
	if err := json.Unmarshal(meta, &d); err != nil || d.Count != 6 || d.RuleName != "Many failed sign-ins" || d.GroupBy != "actor" {
		t.Errorf("alert %v (%v)", a, err)
	}
	if r := tn.owner.do("GET", "/api/alert-rules/1", nil).want(t, http.StatusOK).obj("alert_rule"); r["last_triggered_at"] == nil {
		t.Error("last_triggered_at not set")
	}
}

// TestStreamAlerts checks the live tail's alert message, on every engine:
// an owner's or admin's tail gets {"type":"alert"} for an alert raised in
// the account whatever its filter, after the event that raised it; an API
// key's tail and another account's owner get none.
func TestStreamAlerts(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn, other := e.newTenant("acme"), e.newTenant("other")
		ev := alert.New(e.db, e.app.RaiseAlert, alert.Options{Sweep: time.Hour})
		t.Cleanup(ev.Close)
		tn.owner.do("POST", "/api/alert-rules", map[string]any{"name": "Refunds", "action": "order.refunded"}).want(t, http.StatusCreated)
		key := tn.owner.do("POST", "/api/api-keys", map[string]any{"name": "siem", "scopes": []string{"events:read"}}).want(t, http.StatusCreated)
		bot := e.client()
		bot.bearer = key.body["key"].(string)

		owner, _ := tn.owner.stream(t, "action=order.refunded")
		keyed, _ := bot.stream(t, "q=action:order.refunded,alert.triggered")
		theirs, _ := other.owner.stream(t, "")
		e.appendEvents(&audit.Event{AccountID: tn.accountID, Action: "order.refunded", ResourceType: "order", ResourceID: "1001"})
		if err := ev.Evaluate(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		var got []string
		var al map[string]any
		for len(got) < 2 {
			m := owner.next(t)
			switch m["type"] {
			case "event":
				got = append(got, "event:"+m["event"].(map[string]any)["action"].(string))
			case "alert":
				al = m["alert"].(map[string]any)
				got = append(got, "alert:"+al["rule_name"].(string))
			}
		}
		if !slices.Equal(got, []string{"event:order.refunded", "alert:Refunds"}) {
			t.Fatalf("owner's tail: %v", got)
		}
		if al["trigger_action"] != "order.refunded" || num(al, "count") != 1 || num(al, "seq") <= num(al, "trigger_seq") || al["details"] == "" {
			t.Errorf("alert message %v", al)
		}
		// The key's tail gets the alert.triggered event its filter selects,
		// and no alert message.
		var keyedGot []string
		for len(keyedGot) < 2 {
			m := keyed.next(t)
			switch m["type"] {
			case "event":
				keyedGot = append(keyedGot, m["event"].(map[string]any)["action"].(string))
			case "alert":
				t.Fatalf("an API key's tail got an alert message: %v", m)
			}
		}
		if !slices.Equal(keyedGot, []string{"order.refunded", "alert.triggered"}) {
			t.Errorf("the key's tail: %v", keyedGot)
		}
		// The other account's owner gets nothing of it: the next thing on
		// its tail is its own event.
		e.appendEvents(&audit.Event{AccountID: other.accountID, Action: "mine"})
		if evs := theirs.events(t, 1); evs[0]["action"] != "mine" {
			t.Errorf("the other account's tail got %v", evs)
		}
	})
}
