package sqlstore_test

import (
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestReadySchema: a pending migration (its row missing) makes Ready fail
// with audit.EUNAVAILABLE, on every engine, and the store is ready again once
// it is applied; a migration unknown to this binary (recorded by a newer one)
// leaves it ready, so the previous release stays in rotation during a
// rolling upgrade (docs/upgrades.md).
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
			wantReady   bool
		}{
			{"pending", `DELETE FROM schema_migrations WHERE version = ?`, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'x', '2026-01-01T00:00:00Z')`, []any{last.Version}, false},
			{"unknown", `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_a_newer_binary', '2026-01-01T00:00:00Z')`, `DELETE FROM schema_migrations WHERE version = ?`, []any{last.Version + 1000}, true},
		}
		for _, tt := range tests {
			sqltest.Exec(t, db, tt.break_, tt.args...)
			err := db.Ready(ctx)
			switch {
			case tt.wantReady && err != nil:
				t.Errorf("%s migration: Ready = %v; want ready", tt.name, err)
			case !tt.wantReady && audit.ErrorCode(err) != audit.EUNAVAILABLE:
				t.Errorf("%s migration: Ready = %v; want an %s error", tt.name, err, audit.EUNAVAILABLE)
			}
			sqltest.Exec(t, db, tt.fix, tt.args...)
			if err := db.Ready(ctx); err != nil {
				t.Errorf("%s migration fixed: Ready = %v", tt.name, err)
			}
		}
	})
}
