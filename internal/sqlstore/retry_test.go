package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestAppendRetried fails the first attempt of a transaction that appends
// events, after the append, and checks that what AppendEvents returned to
// the caller, and what OnCommit saw, come from the attempt that committed:
// its time, seqs, IDs and leaf hashes, none of the failed attempt's.
func TestAppendRetried(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			db := e.Open(t)
			signer := sqltest.Signer(t)
			a := &audit.Account{Name: "Retry", Domain: "retry.example.com"}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
				t.Fatal(err)
			}
			var committed []*audit.Event
			db.OnCommit = func(es []*audit.Event) { committed = es }
			sqlstore.FailFirstAttemptForTest(db)
			clock := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
			db.Now = func() time.Time { clock = clock.Add(time.Second); return clock }

			in := []*audit.Event{
				{AccountID: a.ID, Action: "order.created", EventID: "retry-1"},
				{AccountID: a.ID, Action: "order.paid"},
				{AccountID: a.ID, Action: "order.created", EventID: "retry-1"}, // in-batch duplicate
			}
			attempts := 0
			var res []audit.Appended
			var txNow time.Time
			err := db.Update(ctx, func(tx *sqlstore.Tx) error {
				attempts++
				txNow = tx.Now()
				var err error
				res, err = tx.AppendEvents(ctx, signer, in...)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if attempts != 2 {
				t.Fatalf("fn ran %d times; want 2 (the first attempt fails)", attempts)
			}
			for i, e := range in {
				if e.ID != 0 || e.Seq != 0 || !e.CreatedAt.IsZero() || e.Salt != nil || e.LeafHash != ([32]byte{}) {
					t.Errorf("input %d was changed: %+v", i, e)
				}
			}
			if len(res) != 3 || res[0].Replayed || res[1].Replayed || !res[2].Replayed || res[2].Event != res[0].Event {
				t.Fatalf("results %+v; want two written events and a replay of the first", res)
			}
			for i, r := range res[:2] {
				stored, err := db.Event(ctx, a.ID, r.Event.ID)
				if err != nil {
					t.Fatalf("result %d names event %d, which is not stored: %v", i, r.Event.ID, err)
				}
				if r.Event.Seq != int64(i+1) || stored.Seq != r.Event.Seq || !stored.CreatedAt.Equal(r.Event.CreatedAt) ||
					stored.LeafHash != r.Event.LeafHash || stored.Commitment != r.Event.Commitment || string(stored.Salt) != string(r.Event.Salt) {
					t.Errorf("result %d = seq %d, %v; stored seq %d, %v: they differ", i, r.Event.Seq, r.Event.CreatedAt, stored.Seq, stored.CreatedAt)
				}
				if !r.Event.CreatedAt.Equal(txNow) {
					t.Errorf("result %d was created at %v; want the committed attempt's time %v", i, r.Event.CreatedAt, txNow)
				}
			}
			if len(committed) != 2 || committed[0] != res[0].Event || committed[1] != res[1].Event {
				t.Errorf("OnCommit saw %v; want the committed attempt's two events", committed)
			}
			if n, err := db.LogSize(ctx, a.ID); err != nil || n != 2 {
				t.Errorf("log size %d, %v; want 2", n, err)
			}
			rep, err := db.VerifyLog(ctx, a.ID, signer.VerifierKey())
			if err != nil || rep.Failure != nil || rep.CheckedEvents != 2 || rep.CheckedCheckpoints != 1 {
				t.Errorf("VerifyLog after a retry = %+v, %v", rep, err)
			}
		})
	}
}
