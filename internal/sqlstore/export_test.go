package sqlstore

import (
	"context"
	"fmt"
	"strings"
)

// FailFirstAttemptForTest makes the first attempt of every Update of db fail,
// after fn ran and before the commit, with a transient error, so that Update
// rolls it back and runs fn again. Tests use it to check what a retried
// transaction reports.
func FailFirstAttemptForTest(db *DB) {
	db.beforeCommit = func(attempt int) error {
		if attempt == 1 {
			return fmt.Errorf("injected failure of attempt %d: %w", attempt, errTransient)
		}
		return nil
	}
}

// NotifyAnalyzedForTest returns a channel that receives once each time the
// store has refreshed the planner's statistics in the background.
func NotifyAnalyzedForTest(db *DB) <-chan struct{} {
	c := make(chan struct{}, 16)
	db.stats.done = func() {
		select {
		case c <- struct{}{}:
		default:
		}
	}
	return c
}

// ExplainForTest returns the engine's plan for a query written with ?
// placeholders.
func ExplainForTest(ctx context.Context, db *DB, query string, args ...any) (string, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind("EXPLAIN "+query), args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		plan.WriteString(line + "\n")
	}
	return plan.String(), rows.Err()
}
