package sample_test

import (
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sample"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func TestLoad(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		hasher := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
		now := time.Now().UTC()
		created, err := sample.Load(ctx, db, sqltest.Signer(t), hasher, now)
		if err != nil || !created {
			t.Fatalf("first Load = %v, %v; want true, nil", created, err)
		}
		created, err = sample.Load(ctx, db, sqltest.Signer(t), hasher, now)
		if err != nil || created {
			t.Fatalf("second Load = %v, %v; want false, nil (idempotent)", created, err)
		}

		acct, err := db.Account(ctx, 1)
		if err != nil || acct.Name != "Sample Ecommerce Store" || acct.Domain != "sample-store.com" {
			t.Fatalf("account = %+v, %v", acct, err)
		}
		if _, err := db.Account(ctx, 2); err != audit.ErrNotFound {
			t.Errorf("second load made another account (err %v)", err)
		}
		users, err := db.Users(ctx, acct.ID)
		if err != nil || len(users) != 4 {
			t.Fatalf("users = %d, %v; want 4", len(users), err)
		}
		for i, want := range sample.Users {
			u := users[i]
			if u.Email != want.Email || u.Role != want.Role || !u.IsActive {
				t.Errorf("user %d = %s %s; want %s %s", i, u.Email, u.Role, want.Email, want.Role)
			}
			ok, err := hasher.Verify(ctx, want.Password, u.PasswordHash)
			if err != nil || !ok {
				t.Errorf("documented password of %s does not verify (%v)", want.Email, err)
			}
		}

		page, err := db.Events(ctx, acct.ID, audit.EventFilter{}, audit.PageRequest{Page: 1, PerPage: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if page.Pagination.Total != 100 || len(page.Events) != 100 {
			t.Fatalf("%d events (total %d); want 100", len(page.Events), page.Pagination.Total)
		}
		actions := map[string]int{}
		oldest := now.Add(-30 * 24 * time.Hour)
		for i, e := range page.Events {
			if e.CreatedAt.Before(oldest) || e.CreatedAt.After(now) {
				t.Errorf("event %d at %s is outside the last 30 days", e.Seq, e.CreatedAt)
			}
			if want := int64(100 - i); e.Seq != want {
				t.Errorf("event %d in newest-first order has seq %d; want %d (log order follows time)", i, e.Seq, want)
			}
			if e.User == nil || e.IPAddress == "" || e.UserAgent == "" || e.Details == "" {
				t.Errorf("event %d lacks actor, IP, user agent or details: %+v", e.Seq, e)
			}
			actions[e.Action]++
		}
		if len(actions) < 10 {
			t.Errorf("only %d distinct actions; want a realistic mix: %v", len(actions), actions)
		}
		spread := page.Events[0].CreatedAt.Sub(page.Events[99].CreatedAt)
		if spread < 20*24*time.Hour {
			t.Errorf("events span only %s; want them spread over the 30 days", spread)
		}
	})
}
