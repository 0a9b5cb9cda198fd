package server

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestAccountRetention checks PATCH /api/accounts/{id}: the owner sets the
// retention period, shown to owners and admins in GET /api/accounts/{id};
// other roles and accounts are refused; bad values are 400s naming
// retention_days; the checkpoint and the verify answer say where the log
// starts.
func TestAccountRetention(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db, func(d *testDeps) { d.Config.RetentionDays, d.Config.RetentionMaxDays = 365, 400 })
		tn := e.newTenant("acme")
		other := e.newTenant("other")
		admin, _ := e.addUser(tn, audit.RoleAdmin)
		analyst, _ := e.addUser(tn, audit.RoleAnalyst)
		path := fmt.Sprintf("/api/accounts/%d", tn.accountID)

		r := admin.do("GET", path, nil).want(t, http.StatusOK)
		if num(r.body, "retention_days") != 365 || r.body["retention_default"] != true {
			t.Errorf("admin's GET: %s; want the default of 365 days", r.raw)
		}
		if r := analyst.do("GET", path, nil).want(t, http.StatusOK); r.body["retention_days"] != nil || r.body["retention_default"] != nil || r.body["name"] == nil {
			t.Errorf("analyst's GET shows retention: %s", r.raw)
		}
		r = tn.owner.do("PATCH", path, map[string]any{"retention_days": 90}).want(t, http.StatusOK)
		if a := r.obj("account"); num(a, "retention_days") != 90 || a["retention_default"] != false {
			t.Errorf("PATCH answer %s", r.raw)
		}
		if r := tn.owner.do("GET", path, nil).want(t, http.StatusOK); num(r.body, "retention_days") != 90 {
			t.Errorf("owner's GET after PATCH: %s", r.raw)
		}
		if got := actions(tn.owner.do("GET", "/api/audit-logs?action=account.retention_changed", nil).want(t, 200)); len(got) != 1 {
			t.Errorf("retention changes recorded: %v; want 1", got)
		}
		tests := []struct {
			name   string
			c      *client
			path   string
			body   any
			status int
			code   string
			field  string
		}{
			{"admin", admin, path, map[string]any{"retention_days": 30}, http.StatusForbidden, audit.EFORBIDDEN, ""},
			{"analyst", analyst, path, map[string]any{"retention_days": 30}, http.StatusForbidden, audit.EFORBIDDEN, ""},
			{"another account", other.owner, path, map[string]any{"retention_days": 30}, http.StatusNotFound, audit.ENOTFOUND, ""},
			{"negative", tn.owner, path, map[string]any{"retention_days": -1}, http.StatusBadRequest, audit.EINVALID, "retention_days"},
			{"above the maximum", tn.owner, path, map[string]any{"retention_days": 401}, http.StatusBadRequest, audit.EINVALID, "retention_days"},
			{"forever under a maximum", tn.owner, path, map[string]any{"retention_days": nil}, http.StatusBadRequest, audit.EINVALID, "retention_days"},
			{"fraction", tn.owner, path, `{"retention_days": 1.5}`, http.StatusBadRequest, audit.EINVALID, "retention_days"},
			{"text", tn.owner, path, `{"retention_days": "30"}`, http.StatusBadRequest, audit.EINVALID, "retention_days"},
			{"huge", tn.owner, path, `{"retention_days": 99999999999999999999}`, http.StatusBadRequest, audit.EINVALID, "retention_days"},
			{"missing", tn.owner, path, `{}`, http.StatusBadRequest, audit.EINVALID, "retention_days"},
			{"the default and a period", tn.owner, path, `{"retention_days": 30, "retention_default": true}`, http.StatusBadRequest, audit.EINVALID, "retention_default"},
			{"the default and forever", tn.owner, path, `{"retention_days": null, "retention_default": true}`, http.StatusBadRequest, audit.EINVALID, "retention_default"},
			{"not the default, no period", tn.owner, path, `{"retention_default": false}`, http.StatusBadRequest, audit.EINVALID, "retention_days"},
			{"the default as text", tn.owner, path, `{"retention_default": "yes"}`, http.StatusBadRequest, audit.EINVALID, "retention_default"},
			{"an admin back to the default", admin, path, map[string]any{"retention_default": true}, http.StatusForbidden, audit.EFORBIDDEN, ""},
			{"not JSON", tn.owner, path, `{"retention_days":`, http.StatusBadRequest, audit.EINVALID, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.c.do("PATCH", tt.path, tt.body).wantError(t, tt.status, tt.code, tt.field)
			})
		}
		if r := other.owner.do("GET", fmt.Sprintf("/api/accounts/%d", other.accountID), nil).want(t, 200); num(r.body, "retention_days") != 365 {
			t.Errorf("the other account's retention changed: %s", r.raw)
		}
		// Back to the operator's default, recorded once; a period sent
		// with retention_default: false is the account's own.
		for range 2 {
			r = tn.owner.do("PATCH", path, map[string]any{"retention_default": true}).want(t, http.StatusOK)
			if a := r.obj("account"); num(a, "retention_days") != 365 || a["retention_default"] != true {
				t.Errorf("PATCH retention_default: %s", r.raw)
			}
		}
		changes := tn.owner.do("GET", "/api/audit-logs?action=account.retention_changed", nil).want(t, 200).list("audit_logs")
		if len(changes) != 2 || changes[0].(map[string]any)["details"] != "Retention: retention_days: 90 days → the service's default (365 days)" {
			t.Errorf("retention changes recorded: %v; want 2, the last back to the default", changes)
		}
		r = tn.owner.do("PATCH", path, map[string]any{"retention_days": 365, "retention_default": false}).want(t, http.StatusOK)
		if a := r.obj("account"); num(a, "retention_days") != 365 || a["retention_default"] != false {
			t.Errorf("PATCH 365 days of its own: %s", r.raw)
		}

		cp := tn.owner.do("GET", "/api/audit-logs/checkpoint", nil).want(t, http.StatusOK)
		if num(cp.body, "first_seq") != 1 || cp.body["pruned_at"] != nil {
			t.Errorf("checkpoint of an unpruned log: %s", cp.raw)
		}
		v := tn.owner.do("GET", "/api/audit-logs/verify", nil).want(t, http.StatusOK)
		if v.body["ok"] != true || num(v.body, "first_seq") != 1 {
			t.Errorf("verify of an unpruned log: %s", v.raw)
		}
	})
}
