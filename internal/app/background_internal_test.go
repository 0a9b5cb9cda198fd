package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestBackgroundNeverLoses checks that a failed sign-in's login_failed is
// written whatever the state of the background queue: drained by Close,
// written inline once closed, and written inline when the queue is full.
func TestBackgroundNeverLoses(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		cfg := config.Default()
		roomy := ratelimit.Rule{Limit: 100000, Period: time.Minute}
		cfg.RateLimitLoginIP, cfg.RateLimitLoginAccount = roomy, roomy
		newApp := func() *App {
			return New(Deps{Store: db, Signer: sqltest.Signer(t), Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}), Config: cfg, SecretKey: []byte("k")})
		}
		a := newApp()
		c := NewClient("192.0.2.9", "test")
		acct, owner, err := a.CreateAccount(ctx, c, NewAccount{Name: "Shop", Domain: "shop.example.com", OwnerEmail: "o@shop.example.com", OwnerPassword: "owner-password-1"})
		if err != nil {
			t.Fatal(err)
		}
		failures := func() int {
			t.Helper()
			page, err := db.Events(ctx, acct.ID, audit.EventFilter{Action: audit.ActionLoginFailed}, audit.PageRequest{Page: 1, PerPage: 100})
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Events)
		}
		fail := func(a *App) {
			t.Helper()
			if _, err := a.Login(ctx, c, Credentials{Email: owner.Email, Password: "wrong-password-1"}); !errors.Is(err, errBadCredentials) {
				t.Fatalf("Login = %v; want the bad-credentials answer", err)
			}
		}

		for range 20 {
			fail(a)
		}
		if err := a.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := failures(); n != 20 {
			t.Errorf("after Close, %d login_failed recorded; want 20", n)
		}
		fail(a) // closed: recorded before Login returns
		if n := failures(); n != 21 {
			t.Errorf("after a failure on a closed app, %d login_failed recorded; want 21", n)
		}
		if err := a.Close(ctx); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := a.Flush(ctx); err != nil {
			t.Errorf("Flush after Close: %v", err)
		}

		// A full queue, with no worker to empty it: the failure is
		// recorded inline, and Flush gives up at its deadline.
		b := newApp()
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		b.bg = &background{queue: make(chan job, 1), done: make(chan struct{})}
		b.bg.queue <- job{flushed: make(chan struct{})}
		fail(b)
		if n := failures(); n != 22 {
			t.Errorf("with the queue full, %d login_failed recorded; want 22", n)
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := b.Flush(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Flush of a stuck queue = %v; want the deadline", err)
		}
		b.bg.closed = true
		if err := b.Close(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close of a stuck queue = %v; want the deadline", err)
		}
	})
}
