package app_test

import (
	"fmt"
	"testing"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestAPIKeys creates, lists, uses and revokes a key; revoking twice
// records once.
func TestAPIKeys(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		other := f.newTenant("other")
		_, analyst := f.addUser(tn, audit.RoleAnalyst, "analyst")

		_, _, err := f.app.CreateAPIKey(f.ctx, analyst, origin, app.NewAPIKey{Name: "x", Scopes: []string{audit.ScopeEventsRead}})
		wantCode(t, "CreateAPIKey by an analyst", err, audit.EFORBIDDEN, "")
		_, _, err = f.app.CreateAPIKey(f.ctx, tn.p, origin, app.NewAPIKey{Name: "x", Scopes: []string{"admin"}})
		wantCode(t, "CreateAPIKey(bad scope)", err, audit.EINVALID, "scopes")

		key, k, err := f.app.CreateAPIKey(f.ctx, tn.p, origin, app.NewAPIKey{Name: "checkout", Scopes: []string{audit.ScopeEventsWrite, audit.ScopeEventsRead}})
		if err != nil {
			t.Fatal(err)
		}
		e := f.wantEvent(tn.account.ID, audit.ActionAPIKeyCreated,
			fmt.Sprintf(`Created API key "checkout" (%s) with scopes events:read events:write`, k.Prefix), tn.owner)
		if e.ResourceType != audit.ResourceAPIKey || e.ResourceID != fmt.Sprint(k.ID) {
			t.Errorf("api_key_created resource %s %s", e.ResourceType, e.ResourceID)
		}
		svc, err := f.app.AuthenticateKey(f.ctx, key)
		if err != nil || svc.APIKey.ID != k.ID || svc.AccountID != tn.account.ID || svc.User != nil {
			t.Fatalf("AuthenticateKey = %+v, %v", svc, err)
		}
		wantCode(t, "key may not manage keys", svc.Authorize(audit.PermManageAPIKeys), audit.EFORBIDDEN, "")
		if err := svc.Authorize(audit.PermViewAuditLogs); err != nil {
			t.Errorf("key with events:read: %v", err)
		}
		keys, err := f.app.APIKeys(f.ctx, tn.p)
		if err != nil || len(keys) != 1 || keys[0].ID != k.ID {
			t.Errorf("APIKeys = %v, %v; want the one key", keys, err)
		}

		_, err = f.app.RevokeAPIKey(f.ctx, other.p, origin, k.ID)
		wantIs(t, "RevokeAPIKey(other account)", err, app.ErrKeyNotFound)
		for range 2 {
			got, err := f.app.RevokeAPIKey(f.ctx, tn.p, origin, k.ID)
			if err != nil || !got.Revoked() {
				t.Fatalf("RevokeAPIKey = %+v, %v", got, err)
			}
		}
		if n := len(f.events(tn.account.ID, audit.ActionAPIKeyRevoked)); n != 1 {
			t.Errorf("%d api_key_revoked events; want 1", n)
		}
		f.wantEvent(tn.account.ID, audit.ActionAPIKeyRevoked, fmt.Sprintf(`Revoked API key "checkout" (%s)`, k.Prefix), tn.owner)
		for _, bad := range []string{key, key + "x", "alk_nothing", "Bearer " + key} {
			_, err := f.app.AuthenticateKey(f.ctx, bad)
			wantCode(t, "AuthenticateKey(revoked or malformed)", err, audit.EUNAUTHORIZED, "")
		}
	})
}
