package sqlstore

import "context"

// ExecForTest runs a statement in the transaction, with ? placeholders. It
// exists for tests that must break the schema or tamper with stored rows on
// purpose (to check that errors stay internal and that tampering is
// detected); production code never calls it.
func (tx *Tx) ExecForTest(ctx context.Context, query string, args ...any) error {
	_, err := tx.exec(ctx, query, args...)
	return err
}
