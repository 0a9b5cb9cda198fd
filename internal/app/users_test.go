package app_test

import (
	"fmt"
	"testing"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func role(r audit.Role) *audit.Role { return &r }
func active(b bool) *bool           { return &b }

// TestUpdateUserRules checks the role rules and the last-owner rule.
func TestUpdateUserRules(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		i := 0
		for _, tc := range []struct {
			name        string
			secondOwner bool
			by          audit.Role // who acts: the owner, or a user with this role
			target      string     // "owner", "self", or a role of a fresh user
			change      app.UserChange
			code        string // "" for success
			field       string
			action      string // recorded on success
			details     string
		}{
			{name: "demote last owner", by: audit.RoleOwner, target: "owner", change: app.UserChange{Role: role(audit.RoleAdmin)}, code: audit.ECONFLICT, field: "role"},
			{name: "deactivate last owner", by: audit.RoleOwner, target: "owner", change: app.UserChange{IsActive: active(false)}, code: audit.ECONFLICT, field: "is_active"},
			{name: "demote an owner of two", secondOwner: true, by: audit.RoleOwner, target: "owner", change: app.UserChange{Role: role(audit.RoleAdmin)},
				action: audit.ActionUserRoleChanged, details: "Changed role of owner@%s: role: owner → admin"},
			{name: "deactivate an owner of two", secondOwner: true, by: audit.RoleOwner, target: "owner", change: app.UserChange{IsActive: active(false)},
				action: audit.ActionUserDeactivated, details: "Deactivated user owner@%s: is_active: true → false; 1 session(s) ended, 0 API key(s) revoked"},
			{name: "admin changes owner", secondOwner: true, by: audit.RoleAdmin, target: "owner", change: app.UserChange{IsActive: active(false)}, code: audit.EFORBIDDEN},
			{name: "admin grants owner", by: audit.RoleAdmin, target: string(audit.RoleAnalyst), change: app.UserChange{Role: role(audit.RoleOwner)}, code: audit.EFORBIDDEN, field: "role"},
			{name: "admin grants owner to self", by: audit.RoleAdmin, target: "self", change: app.UserChange{Role: role(audit.RoleOwner)}, code: audit.EFORBIDDEN, field: "role"},
			{name: "admin changes analyst", by: audit.RoleAdmin, target: string(audit.RoleAnalyst), change: app.UserChange{Role: role(audit.RoleContentCreator)},
				action: audit.ActionUserRoleChanged, details: "Changed role of analyst@%s: role: analyst → content_creator"},
			{name: "analyst may not manage", by: audit.RoleAnalyst, target: string(audit.RoleContentCreator), change: app.UserChange{IsActive: active(false)}, code: audit.EFORBIDDEN},
			{name: "nothing to change", by: audit.RoleOwner, target: string(audit.RoleAnalyst), change: app.UserChange{}, code: audit.EINVALID},
			{name: "unknown role", by: audit.RoleOwner, target: string(audit.RoleAnalyst), change: app.UserChange{Role: role("root")}, code: audit.EINVALID, field: "role"},
		} {
			i++
			t.Run(tc.name, func(t *testing.T) {
				f := newFixture(t, db)
				tn := f.newTenant(fmt.Sprintf("t%d", i))
				if tc.secondOwner {
					f.addUser(tn, audit.RoleOwner, "owner2")
				}
				actor, p := tn.owner, tn.p
				if tc.by != audit.RoleOwner {
					actor, p = f.addUser(tn, tc.by, "actor")
				}
				var target *audit.User
				switch tc.target {
				case "owner":
					target = tn.owner
				case "self":
					target = actor
				default:
					target, _ = f.addUser(tn, audit.Role(tc.target), tc.target)
				}
				before := len(f.events(tn.account.ID, ""))
				u, err := f.app.UpdateUser(f.ctx, p, origin, target.ID, tc.change)
				if tc.code != "" {
					wantCode(t, "UpdateUser", err, tc.code, tc.field)
					if after := len(f.events(tn.account.ID, "")); after != before {
						t.Errorf("a refused change recorded %d events", after-before)
					}
					return
				}
				if err != nil {
					t.Fatalf("UpdateUser: %v", err)
				}
				if tc.change.Role != nil && u.Role != *tc.change.Role || tc.change.IsActive != nil && u.IsActive != *tc.change.IsActive {
					t.Errorf("UpdateUser = %+v; want the change %+v applied", u, tc.change)
				}
				f.wantEvent(tn.account.ID, tc.action, fmt.Sprintf(tc.details, tn.account.Domain), actor)
			})
		}
	})
}

// TestUpdateUserOtherAccount checks that a user of another account is not
// found, whatever the caller's role.
func TestUpdateUserOtherAccount(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		a, b := f.newTenant("a"), f.newTenant("b")
		_, err := f.app.UpdateUser(f.ctx, a.p, origin, b.owner.ID, app.UserChange{IsActive: active(false)})
		wantIs(t, "UpdateUser(other account)", err, app.ErrUserNotFound)
		if u, err := db.User(f.ctx, b.account.ID, b.owner.ID); err != nil || !u.IsActive {
			t.Errorf("other account's owner = %+v, %v; want untouched", u, err)
		}
	})
}

// TestDeactivationEndsAccess checks that deactivating a user ends their
// sessions and pending MFA sign-ins and revokes their API keys, in one
// recorded event with the counts.
func TestDeactivationEndsAccess(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		admin, _ := f.addUser(tn, audit.RoleAdmin, "admin") // one session
		tokens := []string{f.login(admin.Email, userPassword), f.login(admin.Email, userPassword)}
		p := f.session(tokens[0])
		key, _, err := f.app.CreateAPIKey(f.ctx, p, origin, app.NewAPIKey{Name: "svc", Scopes: []string{audit.ScopeEventsWrite}})
		if err != nil {
			t.Fatal(err)
		}
		// A second admin with MFA, half-way through signing in.
		mfaAdmin, mp := f.addUser(tn, audit.RoleAdmin, "mfa-admin")
		secret, _ := f.enrolMFA(mp, userPassword)
		pending, err := f.app.Login(f.ctx, origin, app.Credentials{Email: mfaAdmin.Email, Password: userPassword})
		if err != nil || pending.MFAToken == "" {
			t.Fatalf("Login(MFA user) = %+v, %v; want a pending sign-in", pending, err)
		}

		if _, err := f.app.UpdateUser(f.ctx, tn.p, origin, admin.ID, app.UserChange{IsActive: active(false)}); err != nil {
			t.Fatal(err)
		}
		f.wantEvent(tn.account.ID, audit.ActionUserDeactivated,
			"Deactivated user admin@acme.example.com: is_active: true → false; 3 session(s) ended, 1 API key(s) revoked", tn.owner)
		if n := len(f.events(tn.account.ID, audit.ActionUserDeactivated)); n != 1 {
			t.Errorf("%d user_deactivated events; want 1", n)
		}
		for _, token := range tokens {
			_, err := f.app.AuthenticateSession(f.ctx, token)
			wantIs(t, "AuthenticateSession after deactivation", err, app.ErrUnauthorized)
		}
		_, err = f.app.AuthenticateKey(f.ctx, key)
		wantCode(t, "AuthenticateKey after deactivation", err, audit.EUNAUTHORIZED, "")

		if _, err := f.app.UpdateUser(f.ctx, tn.p, origin, mfaAdmin.ID, app.UserChange{IsActive: active(false)}); err != nil {
			t.Fatal(err)
		}
		_, err = f.app.VerifyMFA(f.ctx, origin, app.MFAVerification{Token: pending.MFAToken, Code: f.totpCode(secret, 1)})
		wantCode(t, "VerifyMFA after deactivation", err, audit.EUNAUTHORIZED, "")
	})
}

// TestCreateUserRoles checks who may create whom, and where.
func TestCreateUserRoles(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		other := f.newTenant("other")
		_, admin := f.addUser(tn, audit.RoleAdmin, "admin")
		_, analyst := f.addUser(tn, audit.RoleAnalyst, "analyst")
		n := 0
		for _, tc := range []struct {
			name      string
			by        *app.Principal
			role      audit.Role
			accountID int64
			email     string
			code      string
			field     string
		}{
			{name: "owner creates owner", by: tn.p, role: audit.RoleOwner},
			{name: "owner creates analyst", by: tn.p, role: audit.RoleAnalyst},
			{name: "admin creates admin", by: admin, role: audit.RoleAdmin},
			{name: "admin creates owner", by: admin, role: audit.RoleOwner, code: audit.EFORBIDDEN, field: "role"},
			{name: "analyst creates analyst", by: analyst, role: audit.RoleAnalyst, code: audit.EFORBIDDEN},
			{name: "no role", by: tn.p, role: "", code: audit.EINVALID, field: "role"},
			{name: "bad role", by: tn.p, role: "root", code: audit.EINVALID, field: "role"},
			{name: "own account named", by: tn.p, role: audit.RoleAnalyst, accountID: tn.account.ID},
			{name: "other account named", by: tn.p, role: audit.RoleAnalyst, accountID: other.account.ID, code: audit.EFORBIDDEN, field: "account_id"},
			{name: "taken email", by: tn.p, role: audit.RoleAnalyst, email: "owner@acme.example.com", code: audit.ECONFLICT},
			{name: "address of another account", by: tn.p, role: audit.RoleAnalyst, email: "owner@other.example.com", code: audit.EINVALID, field: "email"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n++
				email := tc.email
				if email == "" {
					email = fmt.Sprintf("new%d@acme.example.com", n)
				}
				u, err := f.app.CreateUser(f.ctx, tc.by, origin, app.NewUser{AccountID: tc.accountID, Email: email, Password: userPassword, Role: tc.role})
				if tc.code != "" {
					wantCode(t, "CreateUser", err, tc.code, tc.field)
					if tc.code == audit.ECONFLICT {
						wantIs(t, "CreateUser(taken email)", err, audit.ErrEmailTaken)
					}
					return
				}
				if err != nil {
					t.Fatalf("CreateUser: %v", err)
				}
				if u.AccountID != tn.account.ID || u.Role != tc.role || !u.IsActive {
					t.Errorf("CreateUser = %+v; want an active %s in account %d", u, tc.role, tn.account.ID)
				}
				e := f.wantEvent(tn.account.ID, audit.ActionUserCreated, fmt.Sprintf("Created user %s with role %s", email, tc.role), tc.by.User)
				if e.ResourceType != audit.ResourceUser || e.ResourceID != fmt.Sprint(u.ID) {
					t.Errorf("user_created resource %s %s; want user %d", e.ResourceType, e.ResourceID, u.ID)
				}
			})
		}
	})
}

// TestCreateAccount checks the account and owner, their events and the
// typed conflicts.
func TestCreateAccount(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		e := f.wantEvent(tn.account.ID, audit.ActionAccountCreated, `Account "acme Store" created for domain acme.example.com`, tn.owner)
		if e.ResourceType != audit.ResourceAccount || e.ResourceID != fmt.Sprint(tn.account.ID) {
			t.Errorf("account_created resource %s %s", e.ResourceType, e.ResourceID)
		}
		f.wantEvent(tn.account.ID, audit.ActionUserCreated, "Created user owner@acme.example.com with role owner", tn.owner)

		in := app.NewAccount{Name: "Again", Domain: "acme.example.com", OwnerEmail: "new@acme.example.com", OwnerPassword: ownerPassword}
		_, _, err := f.app.CreateAccount(f.ctx, origin, in)
		wantIs(t, "CreateAccount(taken domain)", err, audit.ErrDomainTaken)
		// A taken owner email is a taken domain too: the answer is the
		// same for every address at the domain.
		in.OwnerEmail = tn.owner.Email
		_, _, err = f.app.CreateAccount(f.ctx, origin, in)
		wantIs(t, "CreateAccount(taken email)", err, audit.ErrDomainTaken)
		in.Domain, in.OwnerEmail, in.OwnerPassword = "fresh.example.com", "new@fresh.example.com", "short"
		_, _, err = f.app.CreateAccount(f.ctx, origin, in)
		wantCode(t, "CreateAccount(short password)", err, audit.EINVALID, "owner_password")
	})
}
