package sqlstore

import (
	"context"
	"time"
)

// ExecForTest runs a statement in the transaction, with ? placeholders. It
// exists for tests that must break the schema or tamper with stored rows on
// purpose (to check that errors stay internal and that tampering is
// detected); production code never calls it.
func (tx *Tx) ExecForTest(ctx context.Context, query string, args ...any) error {
	_, err := tx.exec(ctx, query, args...)
	return err
}

// QueryRowForTest runs a query in the transaction, with ? placeholders, for
// tests and benchmarks.
func (tx *Tx) QueryRowForTest(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	return tx.queryRow(ctx, query, args...)
}

// TimeArgForTest converts a time to the engine's query argument, for tests
// and benchmarks that write rows directly.
func (tx *Tx) TimeArgForTest(t time.Time) any { return tx.db.t(t) }
