package sqlstore_test

import (
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestReadySchema: a store is ready only while the database's recorded
// migrations are exactly this binary's: one pending (its row missing) or
// one unknown (recorded by a newer binary) makes Ready fail with
// audit.EUNAVAILABLE, on every engine; and ready again once fixed.
func TestReadySchema(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		if err := db.Ready(ctx); err != nil {
			t.Fatalf("Ready of a migrated store: %v", err)
		}
		ms, err := sqlstore.Migrations(db.Engine())
		if err != nil {
			t.Fatal(err)
		}
		last := ms[len(ms)-1]
		tests := []struct {
			name        string
			break_, fix string
			args        []any
		}{
			{"pending", `DELETE FROM schema_migrations WHERE version = ?`, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'x', '2026-01-01T00:00:00Z')`, []any{last.Version}},
			{"unknown", `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_a_newer_binary', '2026-01-01T00:00:00Z')`, `DELETE FROM schema_migrations WHERE version = ?`, []any{last.Version + 1000}},
		}
		for _, tt := range tests {
			sqltest.Exec(t, db, tt.break_, tt.args...)
			if err := db.Ready(ctx); audit.ErrorCode(err) != audit.EUNAVAILABLE {
				t.Errorf("%s migration: Ready = %v; want an %s error", tt.name, err, audit.EUNAVAILABLE)
			}
			sqltest.Exec(t, db, tt.fix, tt.args...)
			if err := db.Ready(ctx); err != nil {
				t.Errorf("%s migration fixed: Ready = %v", tt.name, err)
			}
		}
	})
}
