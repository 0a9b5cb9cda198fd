package sqlstore_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestMigrateConcurrently opens several stores on one empty database at
// once, as processes starting together do: every migration is applied
// exactly once (Open applies them) and every store ends up with the full
// schema.
func TestMigrateConcurrently(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			// Migrations that wait for each other's locks forever fail
			// the test at the deadline.
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			url := e.NewURL(t)
			want, err := sqlstore.Migrations(sqlstore.Engine(e.Name))
			if err != nil {
				t.Fatal(err)
			}
			// Open migrates: n stores opening at once take turns.
			const n = 4
			dbs := make([]*sqlstore.DB, n)
			var mu sync.Mutex
			var applied []string
			var wg sync.WaitGroup
			for i := range dbs {
				wg.Go(func() {
					db, err := sqlstore.Open(ctx, url)
					if err != nil {
						t.Errorf("Open: %v", err)
						return
					}
					t.Cleanup(func() { db.Close() })
					dbs[i] = db
					mu.Lock()
					applied = append(applied, db.Applied()...)
					mu.Unlock()
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			var names []string
			for _, m := range want {
				names = append(names, m.Name)
			}
			slices.Sort(applied)
			if !slices.Equal(applied, names) {
				t.Errorf("applied %v in all; want each of %v once", applied, names)
			}
			for _, db := range dbs {
				if _, err := db.Users(ctx, 1); err != nil {
					t.Errorf("schema missing after Open: %v", err)
				}
			}
		})
	}
}
