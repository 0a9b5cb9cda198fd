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

// TestMigrateConcurrently starts several stores on one empty database at
// once, as processes starting together do: every migration is applied
// exactly once and every store ends up with the full schema.
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
			const n = 4
			dbs := make([]*sqlstore.DB, n)
			for i := range dbs {
				db, err := sqlstore.Open(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				dbs[i] = db
			}
			var mu sync.Mutex
			var applied []string
			var wg sync.WaitGroup
			for _, db := range dbs {
				wg.Go(func() {
					names, err := db.Migrate(ctx)
					if err != nil {
						t.Errorf("Migrate: %v", err)
					}
					mu.Lock()
					applied = append(applied, names...)
					mu.Unlock()
				})
			}
			wg.Wait()
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
					t.Errorf("schema missing after Migrate: %v", err)
				}
			}
		})
	}
}
