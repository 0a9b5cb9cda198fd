package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func TestCreateUser(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		// The seed's domain, so that its example address belongs here.
		tn := e.newTenantAt("my-store.com")
		other := e.newTenant("other")
		admin, adminID := e.addUserNamed(tn, audit.RoleAdmin, "olivia.admin")
		// An address at this account's domain held by another account, as
		// accounts made before the domain rule may hold.
		e.insertUser(other.accountID, "squatted@my-store.com")

		// The seed's example body.
		r := admin.do("POST", "/api/users", `{
			"email": "admin@my-store.com",
			"password": "store-password-1",
			"first_name": "Jane",
			"last_name": "Admin",
			"role": "admin"
		}`).want(t, http.StatusCreated)
		u := r.obj("user")
		if u["email"] != "admin@my-store.com" || u["role"] != "admin" || num(u, "account_id") != tn.accountID || u["is_active"] != true {
			t.Errorf("created user %s", r.raw)
		}
		ev := tn.events(t, "action=user_created&per_page=1").list("audit_logs")[0].(map[string]any)
		if num(ev, "user_id") != adminID || ev["resource_id"] != fmt.Sprint(num(u, "id")) || ev["resource_type"] != "user" {
			t.Errorf("user_created event %v; want actor %d and resource %v", ev, adminID, u["id"])
		}

		tests := []struct {
			name   string
			as     *client
			body   map[string]any
			status int
			code   string
			field  string
		}{
			{"admin cannot create owner", admin, map[string]any{"email": "o2@my-store.com", "password": "password-1", "role": "owner"}, 403, "forbidden", "role"},
			{"owner can create owner", tn.owner, map[string]any{"email": "o2@my-store.com", "password": "password-1", "role": "owner"}, 201, "", ""},
			{"account_id of another account", tn.owner, map[string]any{"email": "x1@my-store.com", "password": "password-1", "role": "analyst", "account_id": other.accountID}, 403, "forbidden", "account_id"},
			{"account_id of own account", tn.owner, map[string]any{"email": "x2@my-store.com", "password": "password-1", "role": "analyst", "account_id": tn.accountID}, 201, "", ""},
			{"account_id not a number", tn.owner, map[string]any{"email": "x3@my-store.com", "password": "password-1", "role": "analyst", "account_id": "1"}, 400, "invalid", "account_id"},
			{"duplicate email", tn.owner, map[string]any{"email": "ADMIN@my-store.com", "password": "password-1", "role": "analyst"}, 409, "conflict", "email"},
			// An address at another account's domain is refused for the
			// domain alone, whether that account has such a user or not.
			{"address of another account", tn.owner, map[string]any{"email": "owner@other.example.com", "password": "password-1", "role": "analyst"}, 400, "invalid", "email"},
			{"address at another domain", tn.owner, map[string]any{"email": "nobody@other.example.com", "password": "password-1", "role": "analyst"}, 400, "invalid", "email"},
			{"address at a subdomain", tn.owner, map[string]any{"email": "x8@eu.my-store.com", "password": "password-1", "role": "analyst"}, 400, "invalid", "email"},
			{"address at a parent domain", tn.owner, map[string]any{"email": "x8@store.com", "password": "password-1", "role": "analyst"}, 400, "invalid", "email"},
			{"address at the domain, upper case", tn.owner, map[string]any{"email": "X9@MY-STORE.COM", "password": "password-1", "role": "analyst"}, 201, "", ""},
			{"address taken before the domain rule", tn.owner, map[string]any{"email": "squatted@my-store.com", "password": "password-1", "role": "analyst"}, 409, "conflict", "email"},
			{"missing role", tn.owner, map[string]any{"email": "x4@my-store.com", "password": "password-1"}, 400, "invalid", "role"},
			{"unknown role", tn.owner, map[string]any{"email": "x4@my-store.com", "password": "password-1", "role": "superuser"}, 400, "invalid", "role"},
			{"missing email", tn.owner, map[string]any{"password": "password-1", "role": "analyst"}, 400, "invalid", "email"},
			{"bad email", tn.owner, map[string]any{"email": "x@", "password": "password-1", "role": "analyst"}, 400, "invalid", "email"},
			{"short password", tn.owner, map[string]any{"email": "x5@my-store.com", "password": "1234567", "role": "analyst"}, 400, "invalid", "password"},
			{"role wrong type", tn.owner, map[string]any{"email": "x6@my-store.com", "password": "password-1", "role": 1}, 400, "invalid", "role"},
			{"100 KB name", tn.owner, map[string]any{"email": "x7@my-store.com", "password": "password-1", "role": "analyst", "first_name": strings.Repeat("n", 100<<10)}, 413, "too_large", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := tt.as.do("POST", "/api/users", tt.body)
				if tt.code == "" {
					r.want(t, tt.status)
					if got := num(r.obj("user"), "account_id"); got != tn.accountID {
						t.Errorf("user joined account %d; want %d", got, tn.accountID)
					}
					return
				}
				r.wantError(t, tt.status, tt.code, tt.field)
			})
		}
		// The other account gained nobody.
		users := other.owner.do("GET", "/api/users", nil).want(t, 200).list("users")
		if len(users) != 2 {
			t.Errorf("other account has %d users; want 2", len(users))
		}
	})
}

func TestListUsers(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		e.newTenant("other")
		e.addUser(tn, audit.RoleAnalyst)
		users := tn.owner.do("GET", "/api/users", nil).want(t, 200).list("users")
		if len(users) != 2 {
			t.Fatalf("%d users; want 2", len(users))
		}
		for i, want := range []string{"owner@acme.example.com", "analyst@acme.example.com"} {
			u := users[i].(map[string]any)
			if u["email"] != want || num(u, "account_id") != tn.accountID {
				t.Errorf("users[%d] = %v; want %s in account %d", i, u, want, tn.accountID)
			}
			if _, leaked := u["password_hash"]; leaked {
				t.Error("user carries password_hash")
			}
		}
	})
}
