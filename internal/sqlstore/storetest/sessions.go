package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// newSession stores a session for u that expires at expires.
func newSession(t testing.TB, db *sqlstore.DB, u *audit.User, hash string, expires time.Time) *audit.Session {
	t.Helper()
	s := &audit.Session{TokenHash: hash, UserID: u.ID, AccountID: u.AccountID, ExpiresAt: expires, IPAddress: "203.0.113.7", UserAgent: "Mozilla/5.0 (storetest) ünïcode ✓"}
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateSession(ctx, s) })
	return s
}

func testSessions(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	now := fixedClock(db, time.Date(2024, 3, 4, 5, 6, 7, 890123456, time.UTC))
	a := newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	u := newUser(t, db, a.ID, "owner@a.example.com", audit.RoleOwner)
	hash := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	s := newSession(t, db, u, hash, now.Add(24*time.Hour))
	if !sameTime(s.CreatedAt, now) || !sameTime(s.LastSeenAt, now) {
		t.Errorf("CreateSession set CreatedAt %v, LastSeenAt %v; want %v", s.CreatedAt, s.LastSeenAt, now)
	}

	gotS, gotU, _, _, err := db.SessionPrincipal(ctx, hash)
	if err != nil {
		t.Fatalf("SessionPrincipal: %v", err)
	}
	if gotS.TokenHash != hash || gotS.UserID != u.ID || gotS.AccountID != a.ID || gotS.IPAddress != s.IPAddress || gotS.UserAgent != s.UserAgent ||
		!sameTime(gotS.CreatedAt, now) || !sameTime(gotS.LastSeenAt, now) || !sameTime(gotS.ExpiresAt, s.ExpiresAt) {
		t.Errorf("SessionPrincipal session = %+v; want %+v", gotS, s)
	}
	if !sameUser(gotU, u) {
		t.Errorf("SessionPrincipal user = %+v; want %+v", gotU, u)
	}

	seen := now.Add(90 * time.Minute)
	if err := db.TouchSession(ctx, hash, seen); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	if gotS, _, _, _, err := db.SessionPrincipal(ctx, hash); err != nil || !sameTime(gotS.LastSeenAt, seen) || !sameTime(gotS.CreatedAt, now) {
		t.Errorf("after TouchSession: session %+v, %v; want LastSeenAt %v", gotS, err, seen)
	}

	_, _, _, _, err = db.SessionPrincipal(ctx, "unknown")
	wantNotFound(t, "SessionPrincipal(unknown)", err)

	// A session row that pairs a user with another account names no one.
	cross := &audit.Session{TokenHash: "cross", UserID: u.ID, AccountID: b.ID, ExpiresAt: now.Add(time.Hour)}
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateSession(ctx, cross) })
	_, _, _, _, err = db.SessionPrincipal(ctx, "cross")
	wantNotFound(t, "SessionPrincipal(user of another account)", err)

	orphan := &audit.Session{TokenHash: "orphan", UserID: u.ID + 1000, AccountID: a.ID, ExpiresAt: now.Add(time.Hour)}
	err = db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateSession(ctx, orphan) })
	wantNotFound(t, "CreateSession(unknown user)", err)

	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.DeleteSession(ctx, hash) })
	_, _, _, _, err = db.SessionPrincipal(ctx, hash)
	wantNotFound(t, "SessionPrincipal after DeleteSession", err)
	// Deleting a session that is gone is not an error.
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.DeleteSession(ctx, hash) })
}

func testDeleteExpiredSessions(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	t0 := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	a := newAccount(t, db, "a.example.com")
	u := newUser(t, db, a.ID, "owner@a.example.com", audit.RoleOwner)

	fixedClock(db, t0)
	newSession(t, db, u, "expired", t0.Add(time.Hour)) // past its absolute expiry
	newSession(t, db, u, "idle", t0.Add(10*time.Hour)) // unused since t0
	newSession(t, db, u, "used", t0.Add(10*time.Hour)) // used recently
	fixedClock(db, t0.Add(2*time.Hour))
	newSession(t, db, u, "fresh", t0.Add(12*time.Hour)) // signed in recently
	if err := db.TouchSession(ctx, "used", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}

	// Both bounds are inclusive: "expired" expires exactly at now.
	now, idleCutoff := t0.Add(time.Hour), t0.Add(90*time.Minute)
	n, err := db.DeleteExpiredSessions(ctx, now, idleCutoff)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 2", n, err)
	}
	for hash, want := range map[string]bool{"expired": false, "idle": false, "used": true, "fresh": true} {
		_, _, _, _, err := db.SessionPrincipal(ctx, hash)
		if got := err == nil; got != want {
			t.Errorf("session %q present = %v (err %v); want %v", hash, got, err, want)
		}
	}
	if n, err := db.DeleteExpiredSessions(ctx, now, idleCutoff); err != nil || n != 0 {
		t.Errorf("second DeleteExpiredSessions = %d, %v; want 0", n, err)
	}
}

func testDeleteExpiredViewerTokens(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	t0 := fixedClock(db, time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))
	a := newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	token := func(acct int64, name string, expires time.Time) []byte {
		h := []byte("token-" + name)
		update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
			return tx.CreateViewerToken(ctx, &sqlstore.ViewerToken{AccountID: acct, TokenHash: h, Features: []string{"search"},
				Origins: []string{"https://admin.example.com"}, ExpiresAt: expires})
		})
		return h
	}
	exchange := func(acct int64, h []byte, session string) error {
		return db.Update(ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.ExchangeViewerToken(ctx, acct, h, []byte(session), t0)
			return err
		})
	}
	unused := token(a.ID, "unused", t0.Add(time.Hour))
	opened := token(a.ID, "opened", t0.Add(time.Hour))
	if err := exchange(a.ID, opened, "session-opened"); err != nil {
		t.Fatal(err)
	}
	other := token(b.ID, "other", t0.Add(30*time.Minute))
	live := token(a.ID, "live", t0.Add(2*time.Hour))
	liveOpened := token(b.ID, "live-opened", t0.Add(2*time.Hour))
	if err := exchange(b.ID, liveOpened, "session-live"); err != nil {
		t.Fatal(err)
	}

	// The bound is inclusive: a token expiring exactly at now goes.
	now := t0.Add(time.Hour)
	n, err := db.DeleteExpiredViewerTokens(ctx, now)
	if err != nil || n != 3 {
		t.Fatalf("DeleteExpiredViewerTokens = %d, %v; want 3", n, err)
	}
	_, err = db.ViewerSession(ctx, a.ID, []byte("session-opened"))
	wantNotFound(t, "ViewerSession of a swept token", err)
	for name, h := range map[string][]byte{"unused": unused, "other": other} {
		acct := a.ID
		if name == "other" {
			acct = b.ID
		}
		wantNotFound(t, "exchanging the swept token "+name, exchange(acct, h, "session-"+name))
	}
	if v, err := db.ViewerSession(ctx, b.ID, []byte("session-live")); err != nil || !sameTime(v.ExpiresAt, t0.Add(2*time.Hour)) {
		t.Errorf("ViewerSession of a live token after the sweep: %+v, %v", v, err)
	}
	if err := exchange(a.ID, live, "session-live-a"); err != nil {
		t.Errorf("exchanging a live token after the sweep: %v", err)
	}
	if n, err := db.DeleteExpiredViewerTokens(ctx, now); err != nil || n != 0 {
		t.Errorf("second DeleteExpiredViewerTokens = %d, %v; want 0", n, err)
	}
}
