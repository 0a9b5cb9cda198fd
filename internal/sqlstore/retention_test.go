package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestPruneBatchYields checks, on every engine, that a prune batch gives
// way to the process's transactions on SQLite, whose one writer they
// need. A writer that begins to wait during an attempt makes it roll back
// and go after it: the batch then removes half as many events (100, then
// 50). While one waits throughout, a batch rolls back maxPruneYields (8)
// attempts, each half the one before down to one chunk (16 events), then
// commits a chunk, saying more are due. With none it removes its whole
// limit. The step reports the committed attempt's limit. PostgreSQL and
// MySQL lock rows, not the database, and remove the whole limit every
// time. All leave the log pruned as a prefix, by seq,
// and the appends in it; SQLite's write connection is back to
// synchronous=FULL with temporary files on disk after every batch.
func TestPruneBatchYields(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		a := &audit.Account{Name: "Prune", Domain: "prune.example.com"}
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
			t.Fatal(err)
		}
		appendEvents := func(n int) error {
			evs := make([]*audit.Event, n)
			for i := range evs {
				evs[i] = &audit.Event{AccountID: a.ID, Action: "order.created", ResourceType: "order", ResourceID: fmt.Sprint(i), ActorEmail: fmt.Sprintf("c%d@example.net", i)}
			}
			return db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, sqltest.Signer(t), evs...); return err })
		}
		if err := appendEvents(300); err != nil {
			t.Fatal(err)
		}
		sqlite := db.Engine() == sqlstore.SQLite
		// pick returns what SQLite does, else what the other engines do.
		pick := func(onSQLite, otherwise int64) int64 {
			if sqlite {
				return onSQLite
			}
			return otherwise
		}
		cutoff := time.Now().Add(time.Hour)
		var appended chan error // the append that arrives mid-batch
		steps := []struct {
			name    string
			waiting int32 // transactions counted as waiting throughout
			arrives bool  // a transaction begins to wait mid-batch
			removed int64
			yielded int64
			limit   int64 // the committed attempt's limit
			size    int64 // the log's size after the batch
		}{
			{"a transaction waits throughout", 1, false, pick(16, 100), pick(8, 0), pick(16, 100), 300},
			{"a writer arrives mid-batch", 0, true, pick(50, 100), pick(1, 0), pick(50, 100), 301},
			{"none waits", 0, false, 100, 0, 100, 301},
		}
		pruned := int64(0)
		for _, s := range steps {
			if s.arrives && !sqlite { // nothing to give way to: before the batch
				appended = make(chan error, 1)
				appended <- appendEvents(1)
			} else if s.arrives {
				appended = make(chan error, 1)
				sqlstore.OnPruneDeletedForTest(db, func() {
					sqlstore.OnPruneDeletedForTest(db, nil) // once
					go func() { appended <- appendEvents(1) }()
					for sqlstore.WritersWaitingForTest(db, 0) == 0 {
						time.Sleep(time.Millisecond)
					}
				})
			}
			sqlstore.WritersWaitingForTest(db, s.waiting)
			step, err := db.PruneBatch(ctx, a.ID, cutoff, 100)
			sqlstore.WritersWaitingForTest(db, -s.waiting)
			sqlstore.OnPruneDeletedForTest(db, nil)
			if s.arrives {
				if err := <-appended; err != nil {
					t.Errorf("%s: the append: %v", s.name, err)
				}
			}
			if err != nil || step.From != pruned+1 || step.Removed() != s.removed || int64(step.Yielded) != s.yielded || int64(step.Limit) != s.limit || step.Done {
				t.Errorf("%s: PruneBatch = %+v, %v; want seq %d to %d removed after %d attempts rolled back, by one of limit %d, more due",
					s.name, step, err, pruned+1, pruned+s.removed, s.yielded, s.limit)
			}
			pruned += s.removed
			lp, err := db.LogPrune(ctx, a.ID)
			if err != nil || lp.Pruned != pruned || lp.Size != s.size {
				t.Errorf("%s: log pruned to %+v, %v; want %d of %d", s.name, lp, err, pruned, s.size)
			}
			if sqlite {
				if sync, temp, err := sqlstore.WriteSettingsForTest(ctx, db); err != nil || sync != 2 || temp != 0 {
					t.Errorf("%s: the write connection has synchronous=%d, temp_store=%d (%v); want 2 (FULL) and 0 (DEFAULT)", s.name, sync, temp, err)
				}
				// cache_spill reads as the pages it spills past: cache_size's
				// (2 MB) by default, 4096 in a prune batch.
				if ckpt, spill, err := sqlstore.WriteLogSettingsForTest(ctx, db); err != nil || ckpt != 1000 || spill >= 4096 {
					t.Errorf("%s: the write connection has wal_autocheckpoint=%d, cache_spill=%d (%v); want 1000 and SQLite's default", s.name, ckpt, spill, err)
				}
			}
		}
		rest, err := db.PruneBatch(ctx, a.ID, cutoff, 500)
		if err != nil || rest.From != pruned+1 || rest.To != 301 || !rest.Done {
			t.Errorf("the rest: %+v, %v; want seq %d to 301, done", rest, err, pruned+1)
		}
	})
}

// TestPruneYieldsInCounts has a writer arrive, on SQLite, while a prune
// batch that spans days is about to delete the actor counts of the days it
// emptied: the batch must give way and try again (its statements fail
// because the writer interrupted them), not fail with the interruption.
func TestPruneYieldsInCounts(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		if db.Engine() != sqlstore.SQLite {
			t.Skip("only SQLite's prune gives way to a waiting writer")
		}
		ctx := t.Context()
		a := &audit.Account{Name: "Prune", Domain: "prune-counts.example.com"}
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
			t.Fatal(err)
		}
		appendEvents := func(n int) error {
			evs := make([]*audit.Event, n)
			for i := range evs {
				evs[i] = &audit.Event{AccountID: a.ID, Action: "order.created", ResourceType: "order", ResourceID: fmt.Sprint(i),
					ActorType: audit.ActorUser, ActorID: fmt.Sprintf("staff-%d", i), ActorEmail: fmt.Sprintf("staff%d@example.net", i)}
			}
			return db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, sqltest.Signer(t), evs...); return err })
		}
		first := time.Now().UTC().Truncate(24 * time.Hour).Add(-20*24*time.Hour + time.Hour)
		defer func() { db.Now = time.Now }()
		for d := range 4 {
			db.Now = func() time.Time { return first.Add(time.Duration(d) * 24 * time.Hour) }
			if err := appendEvents(10); err != nil {
				t.Fatal(err)
			}
		}
		db.Now = time.Now
		cutoff := time.Now()
		// The first batch ends on day 1: the process notes where its
		// counts stopped, so the next batch prunes from there on.
		if _, err := db.PruneBatch(ctx, a.ID, cutoff, 15); err != nil {
			t.Fatal(err)
		}
		appended := make(chan error, 1)
		sqlstore.OnPruneCountingForTest(db, func() {
			sqlstore.OnPruneCountingForTest(db, nil) // once
			go func() { appended <- appendEvents(1) }()
			for sqlstore.WritersWaitingForTest(db, 0) == 0 {
				time.Sleep(time.Millisecond)
			}
		})
		step, err := db.PruneBatch(ctx, a.ID, cutoff, 20)
		sqlstore.OnPruneCountingForTest(db, nil)
		if err := <-appended; err != nil {
			t.Errorf("the append: %v", err)
		}
		// At least one attempt gives way; a second may too, when the append
		// still holds or awaits the writer as the next attempt counts.
		if err != nil || step.Yielded < 1 || step.Removed() != 16 || step.From != 16 {
			t.Fatalf("PruneBatch with a writer arriving before the counts: %+v, %v; want seq 16 to 31 removed after at least one attempt rolled back (half the events, at least a chunk)", step, err)
		}
		rep, err := db.VerifyLog(ctx, a.ID, sqltest.Signer(t).VerifierKey())
		if err != nil || rep.Failure != nil {
			t.Fatalf("the log after the prune: %+v, %v", rep, err)
		}
	})
}

// TestPruneMergesTombstones checks that a SQLite prune batch leaves no
// merge of the full-text index due: the tombstones of the rows it removed
// would otherwise have the next append's transaction rewrite the index's
// levels without them (FTS5's deletemerge).
func TestPruneMergesTombstones(t *testing.T) {
	for _, tc := range []struct {
		name               string
		appends, perAppend int
		limit              int
	}{
		{"most of the log", 40, 5, 150},
		{"all of the log", 40, 5, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
				if db.Engine() != sqlstore.SQLite {
					t.Skip("only SQLite has the FTS5 index")
				}
				ctx := t.Context()
				a := &audit.Account{Name: "Prune", Domain: "prune-merge.example.com"}
				if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
					t.Fatal(err)
				}
				defer func() { db.Now = time.Now }()
				first := time.Now().UTC().Add(-30 * 24 * time.Hour)
				for i := range tc.appends {
					db.Now = func() time.Time { return first.Add(time.Duration(i) * time.Minute) }
					appendGiftWraps(t, db, a.ID, i, tc.perAppend)
				}
				db.Now = time.Now
				step, err := db.PruneBatch(ctx, a.ID, time.Now(), tc.limit)
				if err != nil || step.Removed() != int64(tc.limit) {
					t.Fatalf("PruneBatch: %+v, %v; want %d removed", step, err, tc.limit)
				}
				due, err := sqlstore.FullTextMergeDueForTest(ctx, db)
				if err != nil || due {
					t.Fatalf("after the prune a merge of the full-text index is due: %v, %v", due, err)
				}
			})
		})
	}
}

// TestPruneDefersTombstoneMerges prunes, on SQLite, a log in batches and
// checks what each leaves of the full-text index's merges: no merge due
// (so none is left for an append), the automatic merges back on, and the
// merges that rewrite a level without its removed rows (deletemerge) off
// until the batch that removes the last due event, and on after it, with
// its merges done. A search finds the events kept and none removed
// throughout. A store opened on a file whose merges a prune left off
// turns them back on.
func TestPruneDefersTombstoneMerges(t *testing.T) {
	for _, tc := range []struct {
		name    string
		batches []int // the limit of each batch; the last one ends the prune
	}{
		{"one batch", []int{500}},
		{"in batches", []int{60, 60, 60, 60}},
		{"in chunks", []int{16, 100, 16, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
				if db.Engine() != sqlstore.SQLite {
					t.Skip("only SQLite has the FTS5 index")
				}
				ctx := t.Context()
				a := &audit.Account{Name: "Prune", Domain: "prune-defer.example.com"}
				if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
					t.Fatal(err)
				}
				defer func() { db.Now = time.Now }()
				const old, recent, perAppend = 200, 20, 5
				first := time.Now().UTC().Add(-30 * 24 * time.Hour)
				for i := range (old + recent) / perAppend {
					db.Now = func() time.Time { return first.Add(time.Duration(i) * time.Minute) }
					if i >= old/perAppend {
						db.Now = time.Now
					}
					appendGiftWraps(t, db, a.ID, i, perAppend)
				}
				db.Now = time.Now
				sqlstore.ForceSearchPlanForTest(db, -1, 0, 0) // the full-text index, not a walk
				cutoff := time.Now().Add(-24 * time.Hour)
				for i, limit := range tc.batches {
					step, err := db.PruneBatch(ctx, a.ID, cutoff, limit)
					if err != nil {
						t.Fatalf("batch %d: %v", i+1, err)
					}
					if last := i == len(tc.batches)-1; step.Done != last {
						t.Fatalf("batch %d: %+v; want done %v", i+1, step, last)
					}
					due, err := sqlstore.FullTextMergeDueForTest(ctx, db)
					if err != nil || due {
						t.Errorf("after batch %d a merge of the full-text index is due: %v, %v", i+1, due, err)
					}
					auto, del, err := sqlstore.FullTextMergeSettingsForTest(ctx, db)
					wantDel := int64(0)
					if step.Done {
						wantDel = 10
					}
					if err != nil || auto != 4 || del != wantDel {
						t.Errorf("after batch %d (%+v): automerge %d, deletemerge %d, %v; want 4, %d", i+1, step, auto, del, err, wantDel)
					}
					q, err := query.Parse("wrap", time.Now())
					if err != nil {
						t.Fatal(err)
					}
					page, err := db.SearchEvents(ctx, a.ID, q, audit.PageRequest{Page: 1, PerPage: old + recent})
					if err != nil {
						t.Fatal(err)
					}
					if want := old + recent - int(step.To); len(page.Events) != want || page.Events[len(page.Events)-1].Seq != step.To+1 {
						t.Errorf("after batch %d (seq %d removed) a search found %d events; want %d, from seq %d", i+1, step.To, len(page.Events), want, step.To+1)
					}
				}
				if err := sqlstore.PauseFullTextMergesForTest(ctx, db); err != nil {
					t.Fatal(err)
				}
				reopened := sqltest.Reopen(t, db)
				if auto, del, err := sqlstore.FullTextMergeSettingsForTest(ctx, reopened); err != nil || auto != 4 || del != 10 {
					t.Errorf("opened after a prune left the merges off: automerge %d, deletemerge %d, %v; want 4, 10", auto, del, err)
				}
			})
		})
	}
}

// TestPruneBatchRanges prunes, on every engine, a log of five days in
// batches that end mid-day, and checks after each batch what goes with the
// events: the checkpoints of sizes below the pruned size, and the per-day
// actor and address counts of the days before the last removed event's
// day, while those of that day and later stay, and another account's are
// untouched. The first batch deletes the counts from the oldest day, later
// ones from where the process's previous batch stopped.
func TestPruneBatchRanges(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		const days, perDay = 5, 10
		first := time.Now().UTC().Truncate(24 * time.Hour).Add(-10*24*time.Hour + time.Hour)
		var accounts [2]*audit.Account
		for i := range accounts {
			accounts[i] = &audit.Account{Name: "Prune", Domain: fmt.Sprintf("prune%d.example.com", i)}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, accounts[i]) }); err != nil {
				t.Fatal(err)
			}
		}
		defer func() { db.Now = time.Now }()
		for d := range days {
			db.Now = func() time.Time { return first.Add(time.Duration(d) * 24 * time.Hour) }
			for _, a := range accounts {
				evs := make([]*audit.Event, perDay)
				for i := range evs {
					evs[i] = &audit.Event{AccountID: a.ID, Action: "order.created", ResourceType: "order", ResourceID: fmt.Sprint(i),
						ActorType: audit.ActorUser, ActorID: "staff-1", ActorEmail: "staff@example.net", IPAddress: "192.0.2.1"}
				}
				if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, sqltest.Signer(t), evs...); return err }); err != nil {
					t.Fatal(err)
				}
			}
		}
		db.Now = time.Now
		a, other := accounts[0], accounts[1]
		party := func(accountID int64, cmp string, day int64) int64 {
			return sqltest.Count(t, db, `SELECT COUNT(*) FROM event_party_counts WHERE account_id = ? AND dimension IN ('actor', 'ip') AND bucket `+cmp+` ?`, accountID, day)
		}
		perDayRows := party(a.ID, ">=", 0) / days
		if perDayRows == 0 {
			t.Fatal("the appends left no actor or address counts")
		}
		otherRows := party(other.ID, ">=", 0)
		cutoff := time.Now()
		for pruned := int64(0); pruned < days*perDay; {
			step, err := db.PruneBatch(ctx, a.ID, cutoff, 7)
			if err != nil || step.From != pruned+1 || step.Removed() == 0 {
				t.Fatalf("PruneBatch after seq %d: %+v, %v", pruned, step, err)
			}
			pruned = step.To
			lastDay := (pruned - 1) / perDay // the day of the last removed event
			day := first.Add(time.Duration(lastDay) * 24 * time.Hour).Truncate(24 * time.Hour).Unix()
			if n := party(a.ID, "<", day); n != 0 {
				t.Errorf("seq 1 to %d pruned: %d actor and address counts of the days before day %d left", pruned, n, lastDay)
			}
			if n, want := party(a.ID, ">=", day), perDayRows*(days-lastDay); n != want {
				t.Errorf("seq 1 to %d pruned: %d actor and address counts of day %d and later; want %d", pruned, n, lastDay, want)
			}
			if n := sqltest.Count(t, db, `SELECT COUNT(*) FROM checkpoints WHERE account_id = ? AND tree_size < ?`, a.ID, pruned); n != 0 {
				t.Errorf("seq 1 to %d pruned: %d checkpoints of smaller sizes left", pruned, n)
			}
			if n := party(other.ID, ">=", 0); n != otherRows {
				t.Errorf("the other account's actor and address counts: %d; want %d", n, otherRows)
			}
		}
	})
}

// appendGiftWraps appends n events to account in one transaction, each
// with details holding the words "gift wrap" and numbers from i.
func appendGiftWraps(t *testing.T, db *sqlstore.DB, account int64, i, n int) {
	t.Helper()
	ctx := t.Context()
	evs := make([]*audit.Event, n)
	for j := range evs {
		evs[j] = &audit.Event{AccountID: account, Action: "order.created", ResourceType: "order", ResourceID: fmt.Sprintf("order-%d-%d", i, j),
			Details: fmt.Sprintf(`{"note": "gift wrap %d colour %d"}`, i, j)}
	}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, sqltest.Signer(t), evs...); return err }); err != nil {
		t.Fatal(err)
	}
}
