package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestPruneBatchYields checks, on every engine, that a prune batch gives
// way to the process's waiting transactions on SQLite, whose one writer
// they need: with one waiting it removes one chunk (16 events) and
// commits, saying more are due; with none it removes its whole limit.
// PostgreSQL and MySQL lock rows, not the database, and remove the whole
// limit either way. Both leave the log pruned as a prefix, by seq.
func TestPruneBatchYields(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		a := &audit.Account{Name: "Prune", Domain: "prune.example.com"}
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
			t.Fatal(err)
		}
		evs := make([]*audit.Event, 200)
		for i := range evs {
			evs[i] = &audit.Event{AccountID: a.ID, Action: "order.created", ResourceType: "order", ResourceID: fmt.Sprint(i), ActorEmail: fmt.Sprintf("c%d@example.net", i)}
		}
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, sqltest.Signer(t), evs...); return err }); err != nil {
			t.Fatal(err)
		}
		cutoff := time.Now().Add(time.Hour)
		yielded := int64(100)
		if db.Engine() == sqlstore.SQLite {
			yielded = 16
		}
		steps := []struct {
			name             string
			waiting          int32
			wantFrom, wantTo int64
		}{
			{"a transaction waits", 1, 1, yielded},
			{"none waits", 0, yielded + 1, yielded + 100},
		}
		for _, s := range steps {
			sqlstore.WritersWaitingForTest(db, s.waiting)
			step, err := db.PruneBatch(ctx, a.ID, cutoff, 100)
			sqlstore.WritersWaitingForTest(db, -s.waiting)
			if err != nil || step.From != s.wantFrom || step.To != s.wantTo || step.Done {
				t.Errorf("%s: PruneBatch = %+v, %v; want seq %d to %d removed, more due", s.name, step, err, s.wantFrom, s.wantTo)
			}
			lp, err := db.LogPrune(ctx, a.ID)
			if err != nil || lp.Pruned != s.wantTo {
				t.Errorf("%s: log pruned to %+v, %v; want %d", s.name, lp, err, s.wantTo)
			}
		}
		rest, err := db.PruneBatch(ctx, a.ID, cutoff, 500)
		if err != nil || rest.To != 200 || !rest.Done {
			t.Errorf("the rest: %+v, %v; want seq %d to 200, done", rest, err, yielded+101)
		}
	})
}
