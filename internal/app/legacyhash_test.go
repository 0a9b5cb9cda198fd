package app_test

import (
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/password/werkzeugtest"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestLegacyHashUpgrade checks that a user whose stored hash is a Werkzeug
// hash (an account imported from the seed's system) signs in with the old
// password, that the hash is then argon2id, and that a wrong password
// fails and changes nothing.
func TestLegacyHashUpgrade(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("legacy")
		for _, tc := range []struct{ name, hash string }{
			{"pbkdf2", werkzeugtest.PBKDF2("old-password-1", "a1B2c3D4e5F6g7H8", 1000)},
			{"scrypt", werkzeugtest.Scrypt("old-password-1", "Z9y8X7w6V5u4T3s2", 1024, 8, 1)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u, _ := f.addUser(tn, audit.RoleAdmin, "legacy-"+tc.name)
				sqltest.Exec(t, db, `UPDATE users SET password_hash = ? WHERE id = ?`, tc.hash, u.ID)
				if _, err := f.app.Login(f.ctx, origin, app.Credentials{Email: u.Email, Password: "old-password-2"}); err == nil {
					t.Fatal("Login with a wrong password succeeded")
				}
				if got := f.storedHash(tn, u.ID); got != tc.hash {
					t.Fatalf("after a failed sign-in the hash is %q; want it unchanged", got)
				}
				p := f.signIn(u.Email, "old-password-1")
				if p.User.ID != u.ID {
					t.Fatalf("signed in as %d; want %d", p.User.ID, u.ID)
				}
				upgraded := f.storedHash(tn, u.ID)
				if !strings.HasPrefix(upgraded, "$argon2id$") {
					t.Fatalf("after sign-in the hash is %q; want argon2id", upgraded)
				}
				f.signIn(u.Email, "old-password-1") // the new hash verifies
				if got := f.storedHash(tn, u.ID); got != upgraded {
					t.Errorf("a second sign-in changed the hash again")
				}
				if _, err := f.app.Login(f.ctx, origin, app.Credentials{Email: u.Email, Password: "old-password-2"}); err == nil {
					t.Fatal("Login with a wrong password succeeded after the upgrade")
				}
			})
		}
	})
}

func (f *fixture) storedHash(tn *tenant, id int64) string {
	f.t.Helper()
	u, err := f.db.User(f.ctx, tn.account.ID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return u.PasswordHash
}
