package server

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func TestUpdateUserRules(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		admin, adminID := e.addUser(tn, audit.RoleAdmin)
		analyst, analystID := e.addUser(tn, audit.RoleAnalyst)
		_, creatorID := e.addUser(tn, audit.RoleContentCreator)
		other := e.newTenant("other")
		path := func(id int64) string { return "/api/users/" + strconv.FormatInt(id, 10) }

		tests := []struct {
			name   string
			c      *client
			id     int64
			body   any
			status int
			code   string
			field  string
		}{
			{"analyst may not manage users", analyst, creatorID, map[string]any{"role": "admin"}, 403, "forbidden", ""},
			{"admin may not grant owner", admin, analystID, map[string]any{"role": "owner"}, 403, "forbidden", "role"},
			{"admin may not demote an owner", admin, tn.ownerID, map[string]any{"role": "analyst"}, 403, "forbidden", ""},
			{"admin may not deactivate an owner", admin, tn.ownerID, map[string]any{"is_active": false}, 403, "forbidden", ""},
			{"last owner may not demote themselves", tn.owner, tn.ownerID, map[string]any{"role": "admin"}, 409, "conflict", "role"},
			{"last owner may not deactivate themselves", tn.owner, tn.ownerID, map[string]any{"is_active": false}, 409, "conflict", "is_active"},
			{"another account's user is not found", tn.owner, other.ownerID, map[string]any{"role": "analyst"}, 404, "not_found", ""},
			{"unknown user", tn.owner, 999999, map[string]any{"role": "analyst"}, 404, "not_found", ""},
			{"unknown role", tn.owner, analystID, map[string]any{"role": "superuser"}, 400, "invalid", "role"},
			{"nothing to change", tn.owner, analystID, map[string]any{}, 400, "invalid", ""},
			{"is_active not a boolean", tn.owner, analystID, map[string]any{"is_active": "no"}, 400, "invalid", "is_active"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.c.do("PATCH", path(tt.id), tt.body).wantError(t, tt.status, tt.code, tt.field)
			})
		}
		tn.owner.do("PATCH", "/api/users/abc", map[string]any{"role": "admin"}).wantError(t, 404, "not_found", "")
		if n := len(tn.eventsWith(t, audit.ActionUserRoleChanged)) + len(tn.eventsWith(t, audit.ActionUserDeactivated)); n != 0 {
			t.Errorf("refused changes recorded %d events", n)
		}
		if role, active := tn.userState(t, tn.ownerID); role != audit.RoleOwner || !active {
			t.Errorf("owner is now %s, active %v", role, active)
		}
		// The other tenant is untouched.
		if role, _ := other.userState(t, other.ownerID); role != audit.RoleOwner {
			t.Errorf("other account's owner is now %s", role)
		}

		// An admin may change non-owners, including to admin.
		r := admin.do("PATCH", path(analystID), map[string]any{"role": "admin"}).want(t, http.StatusOK)
		if u := r.obj("user"); u["role"] != "admin" || num(u, "id") != analystID {
			t.Errorf("response user %v; want the analyst, now admin", u)
		}
		evs := tn.eventsWith(t, audit.ActionUserRoleChanged)
		if len(evs) != 1 || !strings.Contains(evs[0]["details"].(string), "role: analyst → admin") ||
			num(evs[0], "user_id") != adminID || evs[0]["resource_id"] != strconv.FormatInt(analystID, 10) {
			t.Errorf("user_role_changed events %v; want one by the admin about the analyst, analyst → admin", evs)
		}
		// Sending the current values changes and records nothing.
		admin.do("PATCH", path(analystID), map[string]any{"role": "admin", "is_active": true}).want(t, http.StatusOK)
		if n := len(tn.eventsWith(t, audit.ActionUserRoleChanged)); n != 1 {
			t.Errorf("a no-op change recorded an event (%d in all)", n)
		}

		// With a second owner, the first may step down.
		tn.owner.do("PATCH", path(adminID), map[string]any{"role": "owner"}).want(t, http.StatusOK)
		tn.owner.do("PATCH", path(tn.ownerID), map[string]any{"role": "admin"}).want(t, http.StatusOK)
		if role, _ := tn.userState(t, tn.ownerID); role != audit.RoleAdmin {
			t.Errorf("first owner is %s after stepping down; want admin", role)
		}
		// Now an admin, the first owner cannot make themselves owner again.
		tn.owner.do("PATCH", path(tn.ownerID), map[string]any{"role": "owner"}).wantError(t, 403, "forbidden", "role")
	})
}

func TestDeactivateUser(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		analyst, analystID := e.addUser(tn, audit.RoleAnalyst)
		second := e.client()
		second.login("analyst@acme.example.com", "user-password")
		path := "/api/users/" + strconv.FormatInt(analystID, 10)

		r := tn.owner.do("PATCH", path, map[string]any{"is_active": false}).want(t, http.StatusOK)
		if r.obj("user")["is_active"] != false {
			t.Errorf("response %s; want is_active false", r.raw)
		}
		// Every session of the user ends at once.
		for _, c := range []*client{analyst, second} {
			c.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
		}
		// The deactivated user cannot sign in again (the same 401 as a wrong password).
		e.client().do("POST", "/api/auth/login", map[string]string{"email": "analyst@acme.example.com", "password": "user-password"}).wantError(t, 401, "unauthorized", "")
		evs := tn.eventsWith(t, audit.ActionUserDeactivated)
		if len(evs) != 1 || !strings.Contains(evs[0]["details"].(string), "is_active: true → false") || num(evs[0], "user_id") != tn.ownerID {
			t.Fatalf("user_deactivated events %v; want one by the owner, true → false", evs)
		}

		tn.owner.do("PATCH", path, map[string]any{"is_active": true}).want(t, http.StatusOK)
		e.client().login("analyst@acme.example.com", "user-password")

		// The API keys a deactivated user made are revoked with the sessions.
		admin, adminID := e.addUser(tn, audit.RoleAdmin)
		r = admin.do("POST", "/api/api-keys", map[string]any{"name": "made-by-admin", "scopes": []string{"events:read"}}).want(t, http.StatusCreated)
		service := e.client()
		service.bearer, _ = r.body["key"].(string)
		ownerKey, _ := e.newKey(tn, "made-by-owner", "events:read")
		service.do("GET", "/api/audit-logs", nil).want(t, http.StatusOK)
		tn.owner.do("PATCH", "/api/users/"+strconv.FormatInt(adminID, 10), map[string]any{"is_active": false}).want(t, http.StatusOK)
		service.do("GET", "/api/audit-logs", nil).wantError(t, 401, "unauthorized", "")
		admin.do("GET", "/api/auth/me", nil).wantError(t, 401, "unauthorized", "")
		ownerKey.do("GET", "/api/audit-logs", nil).want(t, http.StatusOK)
		if evs := tn.eventsWith(t, audit.ActionUserDeactivated); !strings.Contains(evs[0]["details"].(string), "1 session(s) ended, 1 API key(s) revoked") {
			t.Errorf("latest user_deactivated details %q", evs[0]["details"])
		}
		evs = tn.eventsWith(t, audit.ActionUserReactivated)
		if len(evs) != 1 || !strings.Contains(evs[0]["details"].(string), "is_active: false → true") {
			t.Errorf("user_reactivated events %v", evs)
		}
	})
}

// TestLastOwnerRace has two owners demote each other and themselves at the
// same time: whatever the interleaving, the account keeps an active owner.
func TestLastOwnerRace(t *testing.T) {
	t.Parallel()
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		r := tn.owner.do("POST", "/api/users", map[string]string{
			"email": "second-owner@acme.example.com", "password": "user-password", "role": "owner",
		}).want(t, http.StatusCreated)
		secondID := num(r.obj("user"), "id")
		second := e.client()
		second.login("second-owner@acme.example.com", "user-password")
		statuses := make(chan int, 2)
		for _, c := range []struct {
			c  *client
			id int64
		}{{tn.owner, secondID}, {second, tn.ownerID}} {
			go func() {
				statuses <- c.c.do("PATCH", "/api/users/"+strconv.FormatInt(c.id, 10), map[string]any{"is_active": false}).status
			}()
		}
		a, b := <-statuses, <-statuses
		if a == 200 && b == 200 {
			t.Fatal("both owners were deactivated")
		}
		owners := 0
		ids := []int64{tn.ownerID, secondID}
		for _, id := range ids {
			u, err := db.User(t.Context(), tn.accountID, id)
			if err != nil {
				t.Fatal(err)
			}
			if u.Role == audit.RoleOwner && u.IsActive {
				owners++
			}
		}
		if owners < 1 {
			t.Fatalf("no active owner left (statuses %d, %d)", a, b)
		}
	})
}
