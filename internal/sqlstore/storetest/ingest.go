package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// testEventFields checks that every field of an ingested event survives the
// round trip, and that the leaf still verifies.
func testEventFields(t *testing.T, db *sqlstore.DB) {
	a := newAccount(t, db, "fields.example.com")
	occurred := time.Date(2024, 2, 29, 23, 59, 59, 999999000, time.UTC)
	in := &audit.Event{
		AccountID: a.ID, ActorType: "customer", ActorID: "cust_42", ActorEmail: "jane@example.net", ActorName: "Jane Roe",
		EventID: "evt-0001", Action: "order.refunded", ResourceType: "order", ResourceID: "1001", Outcome: audit.OutcomeFailure,
		OccurredAt: occurred, Details: "Refund declined", IPAddress: "2001:db8::1", UserAgent: "svc/1.0",
		Metadata: []byte(`{"amount_cents":4200,"currency":"USD"}`), Changes: []byte(`[{"field":"status","old":"paid","new":"refunded"}]`),
	}
	stored := appendEvents(t, db, in)[0]
	got, err := db.Event(t.Context(), a.ID, stored.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]any{
		"ActorType": {got.ActorType, in.ActorType}, "ActorID": {got.ActorID, in.ActorID}, "EventID": {got.EventID, in.EventID},
		"Outcome": {got.Outcome, in.Outcome}, "Metadata": {string(got.Metadata), string(in.Metadata)},
		"Changes": {string(got.Changes), string(in.Changes)}, "ActorEmail": {got.ActorEmail, in.ActorEmail},
		"LeafHash": {got.LeafHash, stored.LeafHash},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s = %v; want %v", name, pair[0], pair[1])
		}
	}
	if !got.OccurredAt.Equal(occurred) {
		t.Errorf("OccurredAt = %v; want %v", got.OccurredAt, occurred)
	}
	if rep := verify(t, db, a.ID); rep.Failure != nil {
		t.Errorf("log with a full event does not verify: %+v", rep.Failure)
	}
}

// testIdempotentAppends checks that an event_id is written once per
// account, whether the retry comes later, in the same batch, or races.
func testIdempotentAppends(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	a := newAccount(t, db, "idem.example.com")
	b := newAccount(t, db, "idem2.example.com")
	ev := func(account int64, id string) *audit.Event {
		return &audit.Event{AccountID: account, EventID: id, Action: "order.created", ResourceID: id}
	}
	first := appendEvents(t, db, ev(a.ID, "e1"))[0]

	// A later retry, a duplicate within one batch, and the same id in
	// another account (which is a different event).
	res := appendResults(t, db, ev(a.ID, "e1"), ev(a.ID, "e2"), ev(a.ID, "e2"), ev(b.ID, "e1"))
	retry, x, xdup, other := res[0], res[1], res[2], res[3]
	if !retry.Replayed || retry.Event.ID != first.ID || retry.Event.Seq != first.Seq {
		t.Errorf("retry = %+v; want a replay of event %d", retry.Event, first.ID)
	}
	if x.Replayed || !xdup.Replayed || xdup.Event.ID != x.Event.ID {
		t.Errorf("in-batch duplicate: x replayed=%v, dup replayed=%v id %d vs %d", x.Replayed, xdup.Replayed, xdup.Event.ID, x.Event.ID)
	}
	if other.Replayed || other.Event.AccountID != b.ID {
		t.Error("the same event_id in another account was taken for a replay")
	}
	// A batch of only replays writes nothing, not even a checkpoint.
	before, _ := db.Checkpoint(ctx, a.ID, 0)
	appendEvents(t, db, ev(a.ID, "e1"), ev(a.ID, "e2"))
	after, _ := db.Checkpoint(ctx, a.ID, 0)
	if before.Size != after.Size || after.Size != 2 {
		t.Errorf("replays moved the log: checkpoint %d → %d; want 2", before.Size, after.Size)
	}

	// Racing retries of one event: exactly one is written.
	var wg sync.WaitGroup
	results := make([]audit.Appended, 16)
	for i := range results {
		wg.Go(func() {
			err := db.Update(ctx, func(tx *sqlstore.Tx) error {
				res, err := appendTx(ctx, tx, ev(a.ID, "race"))
				if err == nil {
					results[i] = res[0]
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	written := 0
	for _, r := range results {
		if !r.Replayed {
			written++
		}
		if r.Event.ID != results[0].Event.ID {
			t.Errorf("racing retries returned events %d and %d", r.Event.ID, results[0].Event.ID)
		}
	}
	if written != 1 {
		t.Errorf("%d of the racing retries wrote the event; want 1", written)
	}
	if n, _ := db.LogSize(ctx, a.ID); n != 3 {
		t.Errorf("log size %d; want 3 (e1, e2, race)", n)
	}
	if rep := verify(t, db, a.ID); rep.Failure != nil {
		t.Errorf("log does not verify: %+v", rep.Failure)
	}
}

// testBulkAppend writes one batch larger than an INSERT chunk, across
// accounts, and checks IDs, seqs and the tree.
func testBulkAppend(t *testing.T, db *sqlstore.DB) {
	a := newAccount(t, db, "bulk.example.com")
	b := newAccount(t, db, "bulk2.example.com")
	var evs []*audit.Event
	for i := range 1203 {
		acct := a.ID
		if i%3 == 0 {
			acct = b.ID
		}
		evs = append(evs, &audit.Event{AccountID: acct, Action: "bulk.event", ResourceID: fmt.Sprint(i)})
	}
	ids := map[int64]bool{}
	for i, e := range appendEvents(t, db, evs...) {
		if e.AccountID != evs[i].AccountID || e.ResourceID != evs[i].ResourceID {
			t.Fatalf("result %d is event %s of account %d; want its input's", i, e.ResourceID, e.AccountID)
		}
		if e.ID == 0 || ids[e.ID] {
			t.Fatalf("event %s got id %d (missing or repeated)", e.ResourceID, e.ID)
		}
		ids[e.ID] = true
		got, err := db.Event(t.Context(), e.AccountID, e.ID)
		if err != nil || got.ResourceID != e.ResourceID || got.Seq != e.Seq {
			t.Fatalf("event %d read back as %+v, %v", e.ID, got, err)
		}
	}
	for _, acct := range []int64{a.ID, b.ID} {
		if rep := verify(t, db, acct); rep.Failure != nil {
			t.Errorf("account %d: %+v", acct, rep.Failure)
		}
	}
}
