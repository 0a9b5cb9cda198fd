package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// openTestSQLite opens a migrated SQLite store in t's temporary directory.
// (Package sqltest cannot be used here: it imports this package.)
func openTestSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), "sqlite:///"+filepath.Join(t.TempDir(), "run.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestStatementsPreparedOnce checks that a fixed statement run on a pool is
// prepared once and reused, and that one first met inside a transaction
// runs unprepared there and is prepared in the background for later.
func TestStatementsPreparedOnce(t *testing.T) {
	db := openTestSQLite(t)
	ctx := t.Context()
	const q = `SELECT id, name, domain, created_at, retention_days, external_id FROM accounts WHERE id = ?`
	for range 3 {
		if _, err := db.Account(ctx, 1); err != audit.ErrNotFound {
			t.Fatalf("Account(1) = %v; want ErrNotFound", err)
		}
	}
	st := db.rd.stmts.lookup(q)
	if st == nil {
		t.Fatalf("%q is not cached after three runs", q)
	}
	if _, err := db.Account(ctx, 1); err != audit.ErrNotFound {
		t.Fatal(err)
	}
	if db.rd.stmts.lookup(q) != st {
		t.Error("a cached statement was prepared again")
	}

	const inTx = `SELECT ` + accountColumns + ` FROM accounts WHERE domain = ?`
	err := db.Update(ctx, func(tx *Tx) error {
		_, err := tx.AccountByDomain(ctx, "example.com")
		if err != audit.ErrNotFound {
			return fmt.Errorf("AccountByDomain = %v; want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for db.wr.stmts.lookup(inTx) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("%q met in a transaction was not prepared in the background", inTx)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStatementCacheNoDeadlock runs more concurrent read transactions than
// the read pool has connections, each meeting statements the cache has not
// seen: a transaction must never wait for a second connection to prepare.
func TestStatementCacheNoDeadlock(t *testing.T) {
	db := openTestSQLite(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range cap(errs) {
		wg.Go(func() {
			// Distinct filters give distinct statement texts.
			f := audit.EventFilter{Action: "a"}
			switch i % 4 {
			case 1:
				f.ResourceType = "r"
			case 2:
				f.UserID = 7
			case 3:
				f.Start = time.Unix(0, 0)
			}
			_, err := db.Events(ctx, 1, f, audit.PageRequest{Page: 1, PerPage: 10})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Events: %v (a deadlock ends in the context's deadline)", err)
		}
	}
}
