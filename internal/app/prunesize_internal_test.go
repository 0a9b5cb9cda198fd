package app

import (
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/sqlstore"
)

// TestPruneNextSize checks how a prune sizes its next batch: a SQLite
// batch that rolled back attempts for the process's appends is followed
// by one as small as the attempt it committed (not the size it was given
// again, which the same appends would interrupt), never below
// minPruneBatch; one no append interrupted halves when slow and doubles
// when fast, within minPruneBatch and PRUNE_BATCH.
func TestPruneNextSize(t *testing.T) {
	fast, slow, fair := pruneBatchTarget/4, 3*pruneBatchTarget, pruneBatchTarget
	tests := []struct {
		name        string
		size, batch int
		step        sqlstore.PruneStep
		want        int
	}{
		{"yielded once: the committed attempt's size", 500, 500, sqlstore.PruneStep{Yielded: 1, Limit: 250, Took: fast}, 250},
		{"yielded twice, slow", 500, 500, sqlstore.PruneStep{Yielded: 2, Limit: 125, Took: slow}, 125},
		{"yielded down to a chunk: the least size", 128, 500, sqlstore.PruneStep{Yielded: 8, Limit: 16, Took: fast}, minPruneBatch},
		{"yielded with PRUNE_BATCH under the least", 32, 32, sqlstore.PruneStep{Yielded: 1, Limit: 16, Took: fast}, 32},
		{"no yield, fast: doubles", 128, 500, sqlstore.PruneStep{Limit: 128, Took: fast}, 256},
		{"no yield, fast: at most PRUNE_BATCH", 400, 500, sqlstore.PruneStep{Limit: 400, Took: fast}, 500},
		{"no yield, slow: halves", 500, 500, sqlstore.PruneStep{Limit: 500, Took: slow}, 250},
		{"no yield, slow: at least minPruneBatch", 100, 500, sqlstore.PruneStep{Limit: 100, Took: slow}, minPruneBatch},
		{"no yield, on target: stays", 300, 500, sqlstore.PruneStep{Limit: 300, Took: fair}, 300},
		{"nothing removed", 500, 500, sqlstore.PruneStep{Limit: 500, Took: time.Millisecond}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextPruneSize(tt.size, tt.batch, tt.step); got != tt.want {
				t.Errorf("nextPruneSize(%d, %d, %+v) = %d; want %d", tt.size, tt.batch, tt.step, got, tt.want)
			}
		})
	}
}
