package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// event returns an event of the account with the given action.
func event(accountID int64, action string) *audit.Event {
	return &audit.Event{AccountID: accountID, Action: action, ResourceType: "product", ResourceID: "42", Details: "details of " + action}
}

func testAppendEvents(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a := newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	ua := newUser(t, db, a.ID, "owner@a.example.com", audit.RoleOwner)
	ub := newUser(t, db, b.ID, "owner@b.example.com", audit.RoleOwner)

	// One batch may span accounts; each account's seq starts at 1.
	batch1 := []*audit.Event{event(a.ID, "a1"), event(a.ID, "a2"), event(b.ID, "b1")}
	stored1 := appendEvents(t, db, batch1...)
	batch2 := []*audit.Event{event(b.ID, "b2"), event(a.ID, "a3")}
	stored2 := appendEvents(t, db, batch2...)
	for _, e := range append(batch1, batch2...) {
		if e.Seq != 0 || e.ID != 0 || e.CreatedAt != (time.Time{}) || e.Salt != nil {
			t.Errorf("AppendEvents changed its input %s: %+v", e.Action, e)
		}
	}
	ids := map[int64]bool{}
	for _, e := range append(stored1, stored2...) {
		want := int64(e.Action[1] - '0')
		if e.Seq != want {
			t.Errorf("event %s: seq %d; want %d", e.Action, e.Seq, want)
		}
		if e.ID == 0 || ids[e.ID] {
			t.Errorf("event %s: id %d is zero or repeated", e.Action, e.ID)
		}
		ids[e.ID] = true
	}
	for _, c := range []struct {
		account *audit.Account
		want    int64
	}{{a, 3}, {b, 2}} {
		if n, err := db.LogSize(ctx, c.account.ID); err != nil || n != c.want {
			t.Errorf("LogSize(%s) = %d, %v; want %d", c.account.Domain, n, err, c.want)
		}
	}

	// Every field round-trips, text byte for byte; the acting user is joined
	// in only from the event's own account.
	long := strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) ", 2000) // 64 KB: more than MySQL's TEXT holds
	full := &audit.Event{
		AccountID: a.ID, UserID: ua.ID, Action: "product_updated", ResourceType: "product", ResourceID: "sku-ÄÖÜ-1",
		Details: "Price 9.99 → 12.50 €, emoji 🛒, quote ' and backslash \\", IPAddress: "2001:db8::1", UserAgent: long,
	}
	anonymous := &audit.Event{AccountID: a.ID, Action: "api_call"}
	foreign := &audit.Event{AccountID: a.ID, UserID: ub.ID, Action: "foreign_user"}
	stored := appendEvents(t, db, full, anonymous, foreign)
	page := events(t, db, a.ID, audit.EventFilter{}, 1, 10)
	byAction := map[string]*audit.Event{}
	for _, e := range page.Events {
		byAction[e.Action] = e
	}
	got := byAction["product_updated"]
	if got == nil {
		t.Fatalf("Events did not return the full event: %v", page.Events)
	}
	if got.ID != stored[0].ID || got.AccountID != a.ID || got.Seq != 4 || got.UserID != ua.ID || got.ResourceType != full.ResourceType ||
		got.ResourceID != full.ResourceID || got.Details != full.Details || got.IPAddress != full.IPAddress || got.UserAgent != full.UserAgent ||
		!sameTime(got.CreatedAt, stored[0].CreatedAt) {
		t.Errorf("stored event differs:\n got %+v\nwant %+v", summary(got), summary(full))
	}
	if got.User == nil || got.User.ID != ua.ID || got.User.Email != ua.Email || got.User.FirstName != ua.FirstName || got.User.Role != ua.Role {
		t.Errorf("event user = %+v; want user %+v", got.User, ua)
	}
	if e := byAction["api_call"]; e == nil || e.UserID != 0 || e.User != nil {
		t.Errorf("event without a user = %+v; want UserID 0 and no User", e)
	}
	if e := byAction["foreign_user"]; e == nil || e.UserID != ub.ID || e.User != nil {
		t.Errorf("event naming another account's user = %+v; want its UserID and no User", e)
	}

	err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := appendTx(ctx, tx, event(b.ID+1000, "nowhere")); return err })
	wantNotFound(t, "AppendEvents(unknown account)", err)
}

// summary shortens an event's long fields for failure messages.
func summary(e *audit.Event) audit.Event {
	s := *e
	if len(s.UserAgent) > 40 {
		s.UserAgent = fmt.Sprintf("%s… (%d bytes)", s.UserAgent[:40], len(s.UserAgent))
	}
	return s
}

func testEventTimes(t *testing.T, db *sqlstore.DB) {
	a := newAccount(t, db, "a.example.com")
	// CreatedAt defaults to the transaction's time: UTC, in microseconds.
	now := fixedClock(db, time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.FixedZone("PST", -8*3600)))
	def := event(a.ID, "default_time")
	var txNow time.Time
	var res []audit.Appended
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
		txNow = tx.Now()
		var err error
		res, err = appendTx(ctx, tx, def)
		return err
	})
	if !sameTime(txNow, now) || !sameTime(res[0].Event.CreatedAt, now) {
		t.Errorf("tx.Now() = %v, CreatedAt = %v; want %v", txNow, res[0].Event.CreatedAt, now)
	}
	// Explicit times keep their microseconds, come back in UTC, and lose
	// anything finer than a microsecond.
	explicit := []time.Time{
		time.Date(2023, 12, 31, 23, 59, 59, 123456000, time.FixedZone("X", 5*3600+30*60)),
		time.Date(2024, 7, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(2024, 7, 1, 0, 0, 0, 999, time.UTC), // below a microsecond
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2099, 12, 31, 23, 59, 59, 999999000, time.UTC),
	}
	for i, at := range explicit {
		e := event(a.ID, fmt.Sprintf("explicit_%d", i))
		e.CreatedAt = at
		appendEvents(t, db, e)
	}
	page := events(t, db, a.ID, audit.EventFilter{}, 1, 100)
	got := map[string]time.Time{}
	for _, e := range page.Events {
		got[e.Action] = e.CreatedAt
	}
	if !sameTime(got["default_time"], now) {
		t.Errorf("stored default CreatedAt = %v; want %v", got["default_time"], now)
	}
	for i, at := range explicit {
		want := at.UTC().Truncate(time.Microsecond)
		if g := got[fmt.Sprintf("explicit_%d", i)]; !sameTime(g, want) {
			t.Errorf("stored CreatedAt for %v = %v; want %v", at, g, want)
		}
	}
}

func testEventFilters(t *testing.T, db *sqlstore.DB) {
	a := newAccount(t, db, "a.example.com")
	u1 := newUser(t, db, a.ID, "one@a.example.com", audit.RoleAdmin)
	u2 := newUser(t, db, a.ID, "two@a.example.com", audit.RoleAnalyst)
	t0 := time.Date(2024, 4, 1, 10, 0, 0, 500, time.UTC).Truncate(time.Microsecond)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	specs := []struct {
		user          *audit.User
		action, rtype string
		minutesFromT0 int
	}{
		{u1, "user_login", "user", 0},          // seq 1
		{u1, "product_created", "product", 10}, // seq 2
		{u2, "product_updated", "product", 20}, // seq 3
		{u2, "user_login", "user", 30},         // seq 4
		{nil, "order_created", "order", 40},    // seq 5
		{u1, "product_updated", "product", 50}, // seq 6
		{u2, "product_updated", "Product", 60}, // seq 7: another resource type
	}
	for _, s := range specs {
		e := &audit.Event{AccountID: a.ID, Action: s.action, ResourceType: s.rtype, CreatedAt: at(s.minutesFromT0)}
		if s.user != nil {
			e.UserID = s.user.ID
		}
		appendEvents(t, db, e)
	}
	tests := []struct {
		name   string
		filter audit.EventFilter
		want   []int64
	}{
		{"none", audit.EventFilter{}, []int64{7, 6, 5, 4, 3, 2, 1}},
		{"user", audit.EventFilter{UserID: u1.ID}, []int64{6, 2, 1}},
		{"unknown user", audit.EventFilter{UserID: u2.ID + 1000}, []int64{}},
		{"action", audit.EventFilter{Action: "user_login"}, []int64{4, 1}},
		{"action is exact", audit.EventFilter{Action: "USER_LOGIN"}, []int64{}},
		{"resource type", audit.EventFilter{ResourceType: "product"}, []int64{6, 3, 2}},
		{"resource type is case-sensitive", audit.EventFilter{ResourceType: "Product"}, []int64{7}},
		{"start is inclusive", audit.EventFilter{Start: at(40)}, []int64{7, 6, 5}},
		{"start after an event", audit.EventFilter{Start: at(40).Add(time.Microsecond)}, []int64{7, 6}},
		{"end is inclusive", audit.EventFilter{End: at(10)}, []int64{2, 1}},
		{"end before an event", audit.EventFilter{End: at(10).Add(-time.Microsecond)}, []int64{1}},
		{"window", audit.EventFilter{Start: at(10), End: at(30)}, []int64{4, 3, 2}},
		{"start in another zone", audit.EventFilter{Start: at(50).In(time.FixedZone("JST", 9*3600))}, []int64{7, 6}},
		{"all together", audit.EventFilter{UserID: u2.ID, Action: "product_updated", ResourceType: "product", Start: at(0), End: at(60)}, []int64{3}},
		{"nothing matches", audit.EventFilter{Action: "refund_issued"}, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := events(t, db, a.ID, tt.filter, 1, 100)
			if got := seqs(page.Events); !slices.Equal(got, tt.want) {
				t.Errorf("seqs = %v; want %v", got, tt.want)
			}
			if page.Events == nil {
				t.Errorf("Events is nil; want an empty list")
			}
			if page.Pagination.Total != int64(len(tt.want)) {
				t.Errorf("total = %d; want %d", page.Pagination.Total, len(tt.want))
			}
		})
	}
}

func testEventOrder(t *testing.T, db *sqlstore.DB) {
	a := newAccount(t, db, "a.example.com")
	t0 := time.Date(2024, 8, 1, 0, 0, 10, 0, time.UTC)
	for _, at := range []time.Time{
		t0,                        // seq 1
		t0.Add(-5 * time.Second),  // seq 2: older
		t0,                        // seq 3: same time as 1
		t0.Add(-time.Microsecond), // seq 4: one microsecond older than 1
		t0.Add(time.Microsecond),  // seq 5: the newest
	} {
		e := event(a.ID, "ordered")
		e.CreatedAt = at
		appendEvents(t, db, e)
	}
	// Newest first; equal times newest seq first.
	want := []int64{5, 3, 1, 4, 2}
	if got := seqs(events(t, db, a.ID, audit.EventFilter{}, 1, 10).Events); !slices.Equal(got, want) {
		t.Errorf("order = %v; want %v", got, want)
	}
	if got := seqs(events(t, db, a.ID, audit.EventFilter{Action: "ordered"}, 1, 10).Events); !slices.Equal(got, want) {
		t.Errorf("order with a filter = %v; want %v", got, want)
	}
}

func testEventPages(t *testing.T, db *sqlstore.DB) {
	a := newAccount(t, db, "a.example.com")
	for i := range 7 {
		e := event(a.ID, "even")
		if i%2 == 1 {
			e.Action = "odd"
		}
		appendEvents(t, db, e)
	}
	tests := []struct {
		filter        audit.EventFilter
		page, perPage int
		want          []int64
		total, pages  int64
		next, prev    bool
	}{
		{audit.EventFilter{}, 1, 3, []int64{7, 6, 5}, 7, 3, true, false},
		{audit.EventFilter{}, 2, 3, []int64{4, 3, 2}, 7, 3, true, true},
		{audit.EventFilter{}, 3, 3, []int64{1}, 7, 3, false, true},
		{audit.EventFilter{}, 4, 3, []int64{}, 7, 3, false, true},
		{audit.EventFilter{}, 1, 7, []int64{7, 6, 5, 4, 3, 2, 1}, 7, 1, false, false},
		{audit.EventFilter{Action: "odd"}, 1, 2, []int64{6, 4}, 3, 2, true, false},
		{audit.EventFilter{Action: "odd"}, 2, 2, []int64{2}, 3, 2, false, true},
		{audit.EventFilter{Action: "none"}, 1, 2, []int64{}, 0, 0, false, false},
	}
	for _, tt := range tests {
		page := events(t, db, a.ID, tt.filter, tt.page, tt.perPage)
		p := page.Pagination
		if got := seqs(page.Events); !slices.Equal(got, tt.want) || p.Total != tt.total || p.Pages != tt.pages || p.HasNext != tt.next || p.HasPrev != tt.prev ||
			p.Page != tt.page || p.PerPage != tt.perPage {
			t.Errorf("Events(%+v, page %d of %d) = %v %+v; want %v total %d pages %d next %v prev %v",
				tt.filter, tt.page, tt.perPage, got, p, tt.want, tt.total, tt.pages, tt.next, tt.prev)
		}
	}
}

func testTenantIsolation(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a := newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	ua := newUser(t, db, a.ID, "owner@a.example.com", audit.RoleOwner)
	ub := newUser(t, db, b.ID, "owner@b.example.com", audit.RoleOwner)
	for i := range 3 {
		appendEvents(t, db, &audit.Event{AccountID: a.ID, UserID: ua.ID, Action: "shared_action", ResourceType: "product"},
			&audit.Event{AccountID: b.ID, UserID: ub.ID, Action: "shared_action", ResourceType: "product"})
		if i == 0 {
			appendEvents(t, db, event(b.ID, "only_b"))
		}
	}
	for _, c := range []struct {
		account   *audit.Account
		user      *audit.User
		wantTotal int64
		otherUser *audit.User
		foreign   []audit.EventFilter // filters that match only the other account's events
	}{
		{a, ua, 3, ub, []audit.EventFilter{{UserID: ub.ID}, {Action: "only_b"}}},
		{b, ub, 4, ua, []audit.EventFilter{{UserID: ua.ID}}},
	} {
		page := events(t, db, c.account.ID, audit.EventFilter{}, 1, 100)
		if page.Pagination.Total != c.wantTotal || len(page.Events) != int(c.wantTotal) {
			t.Errorf("account %s: %d events, total %d; want %d", c.account.Domain, len(page.Events), page.Pagination.Total, c.wantTotal)
		}
		for _, e := range page.Events {
			if e.AccountID != c.account.ID || (e.UserID != 0 && e.UserID != c.user.ID) {
				t.Errorf("account %s sees event %+v", c.account.Domain, e)
			}
		}
		if got := seqs(page.Events); !slices.Equal(got, descending(c.wantTotal)) {
			t.Errorf("account %s seqs %v; want %v", c.account.Domain, got, descending(c.wantTotal))
		}
		for _, f := range c.foreign {
			if n := events(t, db, c.account.ID, f, 1, 100).Pagination.Total; n != 0 {
				t.Errorf("account %s, filter %+v: total %d; want 0", c.account.Domain, f, n)
			}
		}
		users, err := db.Users(ctx, c.account.ID)
		if err != nil || len(users) != 1 || users[0].ID != c.user.ID {
			t.Errorf("Users(%s) = %v, %v; want only user %d", c.account.Domain, users, err, c.user.ID)
		}
		_, err = db.User(ctx, c.account.ID, c.otherUser.ID)
		wantNotFound(t, "User of another account", err)
	}
}

// descending returns n, n-1, …, 1.
func descending(n int64) []int64 {
	out := []int64{}
	for i := n; i >= 1; i-- {
		out = append(out, i)
	}
	return out
}

var errBoom = errors.New("boom")

func testRollback(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a := newAccount(t, db, "a.example.com")
	u := newUser(t, db, a.ID, "owner@a.example.com", audit.RoleOwner)
	appendEvents(t, db, event(a.ID, "before"), event(a.ID, "before"))

	// fn fails after writing to every table: nothing of it stays.
	err := db.Update(ctx, func(tx *sqlstore.Tx) error {
		c := &audit.Account{Name: "Doomed", Domain: "doomed.example.com"}
		if err := tx.CreateAccount(ctx, c); err != nil {
			return err
		}
		cu := &audit.User{AccountID: c.ID, Email: "owner@doomed.example.com", PasswordHash: "h", Role: audit.RoleOwner, IsActive: true}
		if err := tx.CreateUser(ctx, cu); err != nil {
			return err
		}
		if err := tx.CreateSession(ctx, &audit.Session{TokenHash: "doomed", UserID: cu.ID, AccountID: c.ID, ExpiresAt: tx.Now().Add(time.Hour)}); err != nil {
			return err
		}
		if _, err := appendTx(ctx, tx, event(a.ID, "doomed"), event(c.ID, "doomed")); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v; want fn's error", err)
	}
	// A database error part-way rolls back what came before it too.
	err = db.Update(ctx, func(tx *sqlstore.Tx) error {
		if _, err := appendTx(ctx, tx, event(a.ID, "doomed")); err != nil {
			return err
		}
		dup := &audit.User{AccountID: a.ID, Email: u.Email, PasswordHash: "h", Role: audit.RoleAnalyst}
		return tx.CreateUser(ctx, dup)
	})
	wantIs(t, "CreateUser(duplicate) after AppendEvents", err, audit.ErrEmailTaken)

	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
		_, err := tx.AccountByDomain(ctx, "doomed.example.com")
		wantNotFound(t, "rolled-back account", err)
		return nil
	})
	_, err = db.UserByEmail(ctx, "owner@doomed.example.com")
	wantNotFound(t, "rolled-back user", err)
	_, _, _, _, err = db.SessionPrincipal(ctx, "doomed")
	wantNotFound(t, "rolled-back session", err)
	if n, err := db.LogSize(ctx, a.ID); err != nil || n != 2 {
		t.Errorf("LogSize after rollbacks = %d, %v; want 2", n, err)
	}
	if n := events(t, db, a.ID, audit.EventFilter{Action: "doomed"}, 1, 10).Pagination.Total; n != 0 {
		t.Errorf("%d rolled-back events are visible", n)
	}
	// No seq was used up: the next event follows on.
	next := appendEvents(t, db, event(a.ID, "after"))[0]
	if next.Seq != 3 {
		t.Errorf("seq after rollbacks = %d; want 3", next.Seq)
	}
}

func testOnCommit(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a := newAccount(t, db, "a.example.com")
	var calls [][]int64
	db.OnCommit = func(es []*audit.Event) { calls = append(calls, seqs(es)) }

	appendEvents(t, db, event(a.ID, "x"), event(a.ID, "y"))
	appendEvents(t, db, event(a.ID, "z"))
	db.Update(ctx, func(tx *sqlstore.Tx) error {
		appendTx(ctx, tx, event(a.ID, "rolled_back"))
		return errBoom
	})
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error { return nil })
	if got, want := fmt.Sprint(calls), "[[1 2] [3]]"; got != want {
		t.Errorf("OnCommit saw %s; want %s (committed appends only, in order)", got, want)
	}
}

func testConcurrentAppends(t *testing.T, db *sqlstore.DB) {
	const workers, batches = 12, 6
	a := newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*batches)
	for w := range workers {
		wg.Go(func() {
			for i := range batches {
				// Batches of one or two events, some to both accounts
				// at once (which must lock them in a fixed order).
				es := []*audit.Event{event(a.ID, fmt.Sprintf("w%d_%d", w, i))}
				if i%2 == 0 {
					es = append(es, event(b.ID, fmt.Sprintf("w%d_%d", w, i)))
				}
				if i%3 == 0 {
					es = append([]*audit.Event{event(b.ID, "first")}, es...)
				}
				if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := appendTx(ctx, tx, es...); return err }); err != nil {
					errs <- fmt.Errorf("worker %d batch %d: %w", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantA := int64(workers * batches)
	wantB := int64(workers * (batches/2 + (batches+2)/3))
	for _, c := range []struct {
		account *audit.Account
		want    int64
	}{{a, wantA}, {b, wantB}} {
		page := events(t, db, c.account.ID, audit.EventFilter{}, 1, 1000)
		got := seqs(page.Events)
		slices.Sort(got)
		want := descending(c.want)
		slices.Reverse(want)
		if !slices.Equal(got, want) {
			t.Errorf("account %s: sorted seqs = %v; want 1..%d, each once", c.account.Domain, got, c.want)
		}
		if n, err := db.LogSize(ctx, c.account.ID); err != nil || n != c.want {
			t.Errorf("LogSize(%s) = %d, %v; want %d", c.account.Domain, n, err, c.want)
		}
		// The concurrent appends extended one tree, never a fork of it.
		if rep := verify(t, db, c.account.ID); rep.Failure != nil || rep.CheckedEvents != c.want {
			t.Errorf("account %s: VerifyLog after concurrent appends: %+v, failure %+v", c.account.Domain, rep, rep.Failure)
		}
	}
}
