package sqlstore

import "context"

// ExecForTest runs a statement in the transaction. It exists for tests that
// must break the schema on purpose (to check that errors stay internal);
// production code never calls it.
func (tx *Tx) ExecForTest(ctx context.Context, query string) error {
	_, err := tx.exec(ctx, query)
	return err
}
