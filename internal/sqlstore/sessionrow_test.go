package sqlstore_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestSessionPrincipalPacked checks that the session lookup on SQLite,
// which reads its row packed into one value, returns exactly what reading
// it column by column returns: a user with and without MFA, an account
// with and without settings, an inactive user, text that looks like the
// packing, an unknown token; and that a row holding the packing's
// separator is read again column by column.
func TestSessionPrincipalPacked(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	ctx := t.Context()
	var accounts [2]*audit.Account
	var sessions []*audit.Session
	for i := range accounts {
		a := &audit.Account{Name: "Packed", Domain: []string{"a", "b"}[i] + ".example.com"}
		err := db.Update(ctx, func(tx *sqlstore.Tx) error {
			if err := tx.CreateAccount(ctx, a); err != nil {
				return err
			}
			if i == 0 {
				if _, err := tx.SetRequireMFA(ctx, a.ID, true); err != nil {
					return err
				}
			}
			for j, name := range []string{"Zoë 山田", "3:abc -1:", "", "tab\there", "sep \x1f inside"} {
				u := &audit.User{AccountID: a.ID, Email: string(rune('a'+j)) + "@" + a.Domain, PasswordHash: "$argon2id$x", FirstName: name, LastName: "L",
					Role: []audit.Role{audit.RoleOwner, audit.RoleAdmin, audit.RoleAnalyst}[j%3], IsActive: j != 2}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				if j == 1 {
					m := &audit.MFA{AccountID: a.ID, UserID: u.ID, Secret: "sealed"}
					if err := tx.PutPendingMFA(ctx, m); err != nil {
						return err
					}
					if err := tx.EnableMFA(ctx, a.ID, u.ID, "sealed", 1, nil); err != nil {
						return err
					}
				}
				s := &audit.Session{TokenHash: a.Domain + string(rune('0'+j)), AccountID: a.ID, UserID: u.ID, ExpiresAt: tx.Now().AddDate(0, 0, 1),
					IPAddress: "203.0.113.9", UserAgent: name}
				if err := tx.CreateSession(ctx, s); err != nil {
					return err
				}
				sessions = append(sessions, s)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		accounts[i] = a
	}
	type principal struct {
		s        *audit.Session
		u        *audit.User
		mfa, req bool
		notFound bool
	}
	read := func(unpacked bool, token string) principal {
		t.Helper()
		sqlstore.UnpackedReadsForTest(db, unpacked)
		defer sqlstore.UnpackedReadsForTest(db, false)
		s, u, mfa, req, err := db.SessionPrincipal(ctx, token)
		if errors.Is(err, audit.ErrNotFound) {
			return principal{notFound: true}
		}
		if err != nil {
			t.Fatal(err)
		}
		return principal{s, u, mfa, req, false}
	}
	var mfas, reqs int
	for _, s := range append(sessions, &audit.Session{TokenHash: "unknown"}) {
		want := read(true, s.TokenHash)
		before := sqlstore.PackedFallbacksForTest(db)
		got := read(false, s.TokenHash)
		fallbacks := sqlstore.PackedFallbacksForTest(db) - before
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: packed %+v %+v, column by column %+v %+v", s.TokenHash, got.s, got.u, want.s, want.u)
		}
		if wantFallback := s.UserAgent == "sep \x1f inside"; (fallbacks == 1) != wantFallback || fallbacks > 1 {
			t.Errorf("%q: %d reads again column by column", s.TokenHash, fallbacks)
		}
		if s.TokenHash != "unknown" && (got.notFound || got.s.UserAgent != s.UserAgent || got.u.ID != s.UserID) {
			t.Errorf("%q: read %+v %+v", s.TokenHash, got.s, got.u)
		}
		if got.mfa {
			mfas++
		}
		if got.req {
			reqs++
		}
	}
	if mfas != 2 || reqs != 5 {
		t.Errorf("%d sessions of users with MFA, %d of an account that requires it; want 2 and 5", mfas, reqs)
	}
}
