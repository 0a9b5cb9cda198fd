// Package storetest is the conformance suite of sqlstore: one set of tests
// that every engine must pass, so that SQLite, PostgreSQL and MySQL/MariaDB
// behave the same. Run it with a function that opens a fresh, migrated
// database for each test, such as an Engine.Open of package sqltest:
//
//	for _, e := range sqltest.Engines(t) {
//		t.Run(e.Name, func(t *testing.T) { e.Require(t); storetest.Run(t, e.Open) })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// OpenFunc returns a fresh, migrated database that is closed and dropped
// when the test ends.
type OpenFunc func(t testing.TB) *sqlstore.DB

// Run runs every conformance test against databases from open. Each test
// gets its own database and runs in parallel with the others.
func Run(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		fn   func(t *testing.T, db *sqlstore.DB)
	}{
		{"Migrate", testMigrate},
		{"CreateAccount", testCreateAccount},
		{"CreateUser", testCreateUser},
		{"Users", testUsers},
		{"UserLookups", testUserLookups},
		{"EmailDomainInUse", testEmailDomainInUse},
		{"Sessions", testSessions},
		{"DeleteExpiredSessions", testDeleteExpiredSessions},
		{"DeleteExpiredViewerTokens", testDeleteExpiredViewerTokens},
		{"AppendEvents", testAppendEvents},
		{"EventTimes", testEventTimes},
		{"EventFilters", testEventFilters},
		{"EventOrder", testEventOrder},
		{"EventPages", testEventPages},
		{"TenantIsolation", testTenantIsolation},
		{"Rollback", testRollback},
		{"OnCommit", testOnCommit},
		{"ConcurrentAppends", testConcurrentAppends},
		{"VerifiableLog", testVerifiableLog},
		{"AccountSecurity", testAccountSecurity},
		{"MFA", testMFA},
		{"EventFields", testEventFields},
		{"IdempotentAppends", testIdempotentAppends},
		{"BulkAppend", testBulkAppend},
		{"ExportReads", testExportReads},
		{"Search", testSearch},
		{"SearchTotals", testSearchTotals},
		{"Analytics", testAnalytics},
		{"AnalyticsBackfill", testAnalyticsBackfill},
		{"Chat", testChat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
	t.Run("TamperDetection", func(t *testing.T) { testTamperDetection(t, open) })
	t.Run("RefusesToSignForgery", func(t *testing.T) { testRefusesToSignForgery(t, open) })
}

// update runs fn in a write transaction and fails the test on error.
func update(t testing.TB, db *sqlstore.DB, fn func(ctx context.Context, tx *sqlstore.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// newAccount creates an account on domain.
func newAccount(t testing.TB, db *sqlstore.DB, domain string) *audit.Account {
	t.Helper()
	a := &audit.Account{Name: "Store " + domain, Domain: domain}
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) })
	return a
}

// newUser creates a user with the given email and role in the account.
func newUser(t testing.TB, db *sqlstore.DB, accountID int64, email string, role audit.Role) *audit.User {
	t.Helper()
	u := &audit.User{
		AccountID: accountID, Email: email, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		FirstName: "First " + email, LastName: "Last", Role: role, IsActive: true,
	}
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateUser(ctx, u) })
	return u
}

// appendEvents appends the events in one transaction, signed with the test
// signer, and returns the stored events in order (for a replay, the event
// stored earlier).
func appendEvents(t testing.TB, db *sqlstore.DB, events ...*audit.Event) []*audit.Event {
	t.Helper()
	res := appendResults(t, db, events...)
	stored := make([]*audit.Event, len(res))
	for i, r := range res {
		stored[i] = r.Event
	}
	return stored
}

// appendResults appends the events in one transaction and returns the
// write path's results.
func appendResults(t testing.TB, db *sqlstore.DB, events ...*audit.Event) []audit.Appended {
	t.Helper()
	var res []audit.Appended
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
		var err error
		res, err = appendTx(ctx, tx, events...)
		return err
	})
	return res
}

// appendTx appends the events in tx, signed with the test signer.
func appendTx(ctx context.Context, tx *sqlstore.Tx, events ...*audit.Event) ([]audit.Appended, error) {
	return tx.AppendEvents(ctx, signer, events...)
}

// signer is the key every append of the suite signs with, named
// "test.auditlog".
var signer = func() *tlog.Signer {
	s, err := newTestSigner()
	if err != nil {
		panic(err)
	}
	return s
}()

// events returns the page of the account's events for the filter and page.
func events(t testing.TB, db *sqlstore.DB, accountID int64, f audit.EventFilter, page, perPage int) *audit.EventPage {
	t.Helper()
	p, err := db.Events(t.Context(), accountID, f, audit.PageRequest{Page: page, PerPage: perPage})
	if err != nil {
		t.Fatalf("Events(%d, %+v, %d, %d): %v", accountID, f, page, perPage, err)
	}
	return p
}

// seqs returns the seq of each event, in order.
func seqs(es []*audit.Event) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

// wantCode checks that err is an *audit.Error with the code and field.
func wantCode(t testing.TB, what string, err error, code, field string) {
	t.Helper()
	var ae *audit.Error
	if !errors.As(err, &ae) {
		t.Fatalf("%s: error = %v; want an *audit.Error with code %s", what, err, code)
	}
	if ae.Code != code || ae.Field != field {
		t.Fatalf("%s: error code %q field %q; want code %q field %q (error %v)", what, ae.Code, ae.Field, code, field, err)
	}
}

// wantIs checks that err is the sentinel want or wraps it.
func wantIs(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v; want %v", what, err, want)
	}
}

// wantNotFound checks that err is audit.ErrNotFound or wraps it.
func wantNotFound(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("%s: error = %v; want audit.ErrNotFound", what, err)
	}
}

// sameTime reports whether a and b are the same instant, both in UTC.
func sameTime(a, b time.Time) bool {
	return a.Equal(b) && a.Location() == time.UTC && b.Location() == time.UTC
}

// sameUser reports whether a and b have the same fields.
func sameUser(a, b *audit.User) bool {
	x, y := *a, *b
	x.CreatedAt, y.CreatedAt = time.Time{}, time.Time{}
	return x == y && sameTime(a.CreatedAt, b.CreatedAt)
}

// fixedClock makes db's clock return t, and returns the time the store
// will use: t in UTC, truncated to microseconds.
func fixedClock(db *sqlstore.DB, t time.Time) time.Time {
	db.Now = func() time.Time { return t }
	return t.UTC().Truncate(time.Microsecond)
}

func testMigrate(t *testing.T, db *sqlstore.DB) {
	applied, err := db.Migrate(t.Context())
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if len(applied) != 0 {
		t.Errorf("second Migrate applied %v; want nothing", applied)
	}
	ms, err := sqlstore.Migrations(db.Engine())
	if err != nil || len(ms) == 0 {
		t.Fatalf("Migrations(%s) = %d migrations, %v; want some", db.Engine(), len(ms), err)
	}
}

func testCreateAccount(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	now := fixedClock(db, time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*3600)))
	a := newAccount(t, db, "shop.example.com")
	if a.ID == 0 || !sameTime(a.CreatedAt, now) {
		t.Fatalf("CreateAccount set ID %d, CreatedAt %v; want an ID and %v", a.ID, a.CreatedAt, now)
	}
	got, err := db.Account(ctx, a.ID)
	if err != nil {
		t.Fatalf("Account(%d): %v", a.ID, err)
	}
	if got.ID != a.ID || got.Name != a.Name || got.Domain != a.Domain || !sameTime(got.CreatedAt, now) {
		t.Errorf("Account(%d) = %+v; want %+v", a.ID, got, a)
	}
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
		got, err := tx.AccountByDomain(ctx, "shop.example.com")
		if err != nil || got.ID != a.ID {
			t.Errorf("AccountByDomain = %+v, %v; want account %d", got, err, a.ID)
		}
		_, err = tx.AccountByDomain(ctx, "other.example.com")
		wantNotFound(t, "AccountByDomain(unknown)", err)
		return nil
	})
	if n, err := db.LogSize(ctx, a.ID); err != nil || n != 0 {
		t.Errorf("LogSize of a new account = %d, %v; want 0", n, err)
	}

	dup := &audit.Account{Name: "Impostor", Domain: "shop.example.com"}
	err = db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, dup) })
	wantIs(t, "CreateAccount(duplicate domain)", err, audit.ErrDomainTaken)

	_, err = db.Account(ctx, a.ID+1000)
	wantNotFound(t, "Account(unknown)", err)
	_, err = db.LogSize(ctx, a.ID+1000)
	wantNotFound(t, "LogSize(unknown)", err)
}

func testCreateUser(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	now := fixedClock(db, time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC))
	a := newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	u := newUser(t, db, a.ID, "owner@a.example.com", audit.RoleOwner)
	if u.ID == 0 || !sameTime(u.CreatedAt, now) {
		t.Fatalf("CreateUser set ID %d, CreatedAt %v; want an ID and %v", u.ID, u.CreatedAt, now)
	}
	got, err := db.User(ctx, a.ID, u.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	if !sameUser(got, u) {
		t.Errorf("User = %+v; want %+v", got, u)
	}

	inactive := &audit.User{AccountID: a.ID, Email: "gone@a.example.com", PasswordHash: "h", Role: audit.RoleContentCreator}
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error { return tx.CreateUser(ctx, inactive) })
	if got, err := db.User(ctx, a.ID, inactive.ID); err != nil || got.IsActive || got.FirstName != "" || got.Role != audit.RoleContentCreator {
		t.Errorf("User(inactive) = %+v, %v; want inactive content_creator with empty names", got, err)
	}

	// Emails are unique across the whole service, not per account.
	for _, accountID := range []int64{a.ID, b.ID} {
		dup := &audit.User{AccountID: accountID, Email: "owner@a.example.com", PasswordHash: "h", Role: audit.RoleAnalyst, IsActive: true}
		err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateUser(ctx, dup) })
		wantIs(t, fmt.Sprintf("CreateUser(duplicate email, account %d)", accountID), err, audit.ErrEmailTaken)
	}

	orphan := &audit.User{AccountID: b.ID + 1000, Email: "orphan@x.example.com", PasswordHash: "h", Role: audit.RoleAnalyst}
	err = db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateUser(ctx, orphan) })
	wantNotFound(t, "CreateUser(unknown account)", err)
}

func testUsers(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a := newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	var want []int64
	for i, role := range audit.Roles {
		want = append(want, newUser(t, db, a.ID, fmt.Sprintf("u%d@a.example.com", i), role).ID)
		newUser(t, db, b.ID, fmt.Sprintf("u%d@b.example.com", i), role)
	}
	users, err := db.Users(ctx, a.ID)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	var got []int64
	for _, u := range users {
		if u.AccountID != a.ID {
			t.Errorf("Users(%d) returned user %d of account %d", a.ID, u.ID, u.AccountID)
		}
		got = append(got, u.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Users ids = %v; want %v (id order)", got, want)
	}
	empty := newAccount(t, db, "empty.example.com")
	if users, err := db.Users(ctx, empty.ID); err != nil || users == nil || len(users) != 0 {
		t.Errorf("Users(empty account) = %v, %v; want an empty, non-nil list", users, err)
	}
}

func testUserLookups(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a := newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	u := newUser(t, db, a.ID, "admin@a.example.com", audit.RoleAdmin)

	got, err := db.UserByEmail(ctx, "admin@a.example.com")
	if err != nil || got.ID != u.ID || got.AccountID != a.ID || got.PasswordHash != u.PasswordHash {
		t.Errorf("UserByEmail = %+v, %v; want user %d", got, err, u.ID)
	}
	_, err = db.UserByEmail(ctx, "nobody@a.example.com")
	wantNotFound(t, "UserByEmail(unknown)", err)
	// Comparison is exact: callers normalize emails before storing and looking up.
	_, err = db.UserByEmail(ctx, "ADMIN@a.example.com")
	wantNotFound(t, "UserByEmail(other case)", err)

	_, err = db.User(ctx, b.ID, u.ID)
	wantNotFound(t, "User(other account)", err)
	_, err = db.User(ctx, a.ID, u.ID+1000)
	wantNotFound(t, "User(unknown id)", err)
}
