package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// testAccountSecurity covers the MFA policy, user access changes and the
// session-ending that deactivation and password changes rely on.
func testAccountSecurity(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a, b := newAccount(t, db, "a.example.com"), newAccount(t, db, "b.example.com")
	owner := newUser(t, db, a.ID, "owner@a.example.com", audit.RoleOwner)
	admin := newUser(t, db, a.ID, "admin@a.example.com", audit.RoleAdmin)
	newUser(t, db, b.ID, "owner@b.example.com", audit.RoleOwner)
	expires := time.Now().Add(time.Hour)
	newSession(t, db, owner, "owner-1", expires)
	newSession(t, db, owner, "owner-2", expires)
	newSession(t, db, admin, "admin-1", expires)

	if req, err := db.RequireMFA(ctx, a.ID); err != nil || req {
		t.Fatalf("RequireMFA of a new account = %v, %v; want false", req, err)
	}
	for _, step := range []struct{ set, before bool }{{true, false}, {true, true}, {false, true}} {
		var before bool
		update(t, db, func(ctx context.Context, tx *sqlstore.Tx) (err error) {
			before, err = tx.SetRequireMFA(ctx, a.ID, step.set)
			return err
		})
		if req, err := db.RequireMFA(ctx, a.ID); err != nil || req != step.set || before != step.before {
			t.Fatalf("SetRequireMFA(%v): before %v, now %v, %v; want before %v", step.set, before, req, err, step.before)
		}
	}
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
		_, err := tx.SetRequireMFA(ctx, a.ID, true)
		return err
	})
	if req, _ := db.RequireMFA(ctx, b.ID); req {
		t.Error("account b requires MFA after account a's change")
	}

	s, u, mfa, req, err := db.SessionPrincipal(ctx, "admin-1")
	if err != nil || s.UserID != admin.ID || u.ID != admin.ID || mfa || !req {
		t.Fatalf("SessionPrincipal(admin-1) = %+v, %+v, mfa %v, required %v, %v", s, u, mfa, req, err)
	}
	if _, _, _, _, err := db.SessionPrincipal(ctx, "nope"); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("SessionPrincipal(unknown) = %v; want not found", err)
	}

	var owners []int64
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) (err error) {
		owners, err = tx.ActiveOwners(ctx, a.ID)
		if err != nil {
			return err
		}
		got, err := tx.UserForUpdate(ctx, a.ID, admin.ID)
		if err != nil || got.ID != admin.ID {
			t.Errorf("UserForUpdate = %+v, %v", got, err)
		}
		if _, err := tx.UserForUpdate(ctx, b.ID, admin.ID); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("UserForUpdate in another account = %v; want not found", err)
		}
		return tx.UpdateUserAccess(ctx, a.ID, admin.ID, audit.RoleOwner, false)
	})
	if len(owners) != 1 || owners[0] != owner.ID {
		t.Errorf("ActiveOwners = %v; want [%d]", owners, owner.ID)
	}
	if got, _ := db.User(ctx, a.ID, admin.ID); got.Role != audit.RoleOwner || got.IsActive {
		t.Errorf("after UpdateUserAccess: %+v; want an inactive owner", got)
	}
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) (err error) {
		owners, err = tx.ActiveOwners(ctx, a.ID)
		return err
	})
	if len(owners) != 1 {
		t.Errorf("ActiveOwners counts an inactive owner: %v", owners)
	}

	var ended int64
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) (err error) {
		if err := tx.SetPasswordHash(ctx, a.ID, owner.ID, "new-hash"); err != nil {
			return err
		}
		ended, err = tx.DeleteUserSessions(ctx, a.ID, owner.ID)
		return err
	})
	if ended != 2 {
		t.Errorf("DeleteUserSessions ended %d; want 2", ended)
	}
	if _, _, _, _, err := db.SessionPrincipal(ctx, "owner-1"); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("owner's session survived: %v", err)
	}
	if _, _, _, _, err := db.SessionPrincipal(ctx, "admin-1"); err != nil {
		t.Errorf("another user's session ended: %v", err)
	}
	if got, _ := db.UserByEmail(ctx, owner.Email); got.PasswordHash != "new-hash" {
		t.Errorf("password hash %q", got.PasswordHash)
	}
}

// testMFA covers enrolment, replay-proof code steps, recovery codes and
// pending logins.
func testMFA(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a := newAccount(t, db, "a.example.com")
	u := newUser(t, db, a.ID, "u@a.example.com", audit.RoleAdmin)
	other := newUser(t, db, a.ID, "o@a.example.com", audit.RoleAdmin)
	if _, err := db.UserMFA(ctx, a.ID, u.ID); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("UserMFA before enrolment = %v; want not found", err)
	}
	put := func(secret string) error {
		return db.Update(ctx, func(tx *sqlstore.Tx) error {
			return tx.PutPendingMFA(ctx, &audit.MFA{AccountID: a.ID, UserID: u.ID, Secret: secret})
		})
	}
	if err := put("sealed-1"); err != nil {
		t.Fatal(err)
	}
	if err := put("sealed-2"); err != nil { // restarting replaces the pending secret
		t.Fatal(err)
	}
	enable := func(secret string, step int64, hashes ...string) (ok bool) {
		err := db.Update(ctx, func(tx *sqlstore.Tx) error {
			return tx.EnableMFA(ctx, a.ID, u.ID, secret, step, hashes)
		})
		if err != nil && !errors.Is(err, audit.ErrMFAChanged) {
			t.Fatalf("EnableMFA: %v; want nil or audit.ErrMFAChanged", err)
		}
		return err == nil
	}
	if enable("sealed-1", 100, "h") {
		t.Error("EnableMFA with a replaced secret succeeded")
	}
	if !enable("sealed-2", 100, "h1", "h2") {
		t.Fatal("EnableMFA failed")
	}
	if enable("sealed-2", 101, "h3") {
		t.Error("EnableMFA twice succeeded")
	}
	m, err := db.UserMFA(ctx, a.ID, u.ID)
	if err != nil || !m.Enabled || m.LastStep != 100 || m.Secret != "sealed-2" || m.EnabledAt.IsZero() {
		t.Fatalf("UserMFA = %+v, %v", m, err)
	}
	if err := put("sealed-3"); !errors.Is(err, audit.ErrMFAEnabled) {
		t.Errorf("PutPendingMFA when enabled = %v; want audit.ErrMFAEnabled", err)
	}
	if _, _, mfa, _, err := db.SessionPrincipal(ctx, newSession(t, db, u, "u-1", time.Now().Add(time.Hour)).TokenHash); err != nil || !mfa {
		t.Errorf("SessionPrincipal: mfa %v, %v; want enabled", mfa, err)
	}

	useStep := func(step int64) (ok bool) {
		update(t, db, func(ctx context.Context, tx *sqlstore.Tx) (err error) {
			ok, err = tx.UseTOTPStep(ctx, a.ID, u.ID, step)
			return err
		})
		return ok
	}
	for _, c := range []struct {
		step int64
		ok   bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
		if got := useStep(c.step); got != c.ok {
			t.Errorf("UseTOTPStep(%d) = %v; want %v", c.step, got, c.ok)
		}
	}

	useCode := func(userID int64, hash string) (ok bool, left int) {
		update(t, db, func(ctx context.Context, tx *sqlstore.Tx) (err error) {
			ok, left, err = tx.UseRecoveryCode(ctx, a.ID, userID, hash)
			return err
		})
		return ok, left
	}
	if ok, _ := useCode(other.ID, "h1"); ok {
		t.Error("another user's recovery code worked")
	}
	if ok, left := useCode(u.ID, "h1"); !ok || left != 1 {
		t.Errorf("UseRecoveryCode(h1) = %v, %d left; want true, 1", ok, left)
	}
	if ok, _ := useCode(u.ID, "h1"); ok {
		t.Error("a recovery code worked twice")
	}
	if n, err := db.RecoveryCodesLeft(ctx, a.ID, u.ID); err != nil || n != 1 {
		t.Errorf("RecoveryCodesLeft = %d, %v; want 1", n, err)
	}

	now := time.Now()
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
		for _, c := range []*audit.MFAChallenge{
			{TokenHash: "ch-1", AccountID: a.ID, UserID: u.ID, ExpiresAt: now.Add(5 * time.Minute)},
			{TokenHash: "ch-old", AccountID: a.ID, UserID: u.ID, ExpiresAt: now.Add(-time.Minute)},
			{TokenHash: "ch-other", AccountID: a.ID, UserID: other.ID, ExpiresAt: now.Add(5 * time.Minute)},
		} {
			if err := tx.CreateMFAChallenge(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range 3 {
		update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
			c, err := tx.MFAChallengeForUpdate(ctx, "ch-1")
			if err != nil {
				return err
			}
			if c.Attempts != i || c.UserID != u.ID {
				t.Errorf("challenge %+v; want %d attempts", c, i)
			}
			return tx.FailMFAChallenge(ctx, "ch-1", c.Attempts, 3)
		})
	}
	if _, err := db.MFAChallenge(ctx, "ch-1"); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("challenge after 3 of 3 failures: %v; want deleted", err)
	}
	if n, err := db.DeleteExpiredMFAChallenges(ctx, now); err != nil || n != 1 {
		t.Errorf("DeleteExpiredMFAChallenges = %d, %v; want 1", n, err)
	}
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
		_, err := tx.DeleteUserSessions(ctx, a.ID, other.ID)
		return err
	})
	if _, err := db.MFAChallenge(ctx, "ch-other"); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("DeleteUserSessions left the user's pending login: %v", err)
	}

	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.DeleteMFA(ctx, a.ID, u.ID) })
	if _, err := db.UserMFA(ctx, a.ID, u.ID); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("UserMFA after DeleteMFA = %v", err)
	}
	if n, _ := db.RecoveryCodesLeft(ctx, a.ID, u.ID); n != 0 {
		t.Errorf("%d recovery codes left after DeleteMFA", n)
	}
}
