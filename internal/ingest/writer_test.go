package ingest_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

func newAccount(t *testing.T, db *sqlstore.DB, domain string) int64 {
	t.Helper()
	ctx := t.Context()
	a := &audit.Account{Name: domain, Domain: domain}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// waitDeadline bounds every wait of these tests: a writer that never
// queues, commits or answers fails the test instead of hanging it.
const waitDeadline = 10 * time.Second

// receive returns the next value from ch, or fails the test, saying what it
// waited for, when none comes within waitDeadline.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitDeadline):
		t.Fatalf("%s: nothing within %s", what, waitDeadline)
		panic("unreachable")
	}
}

// waitAll waits for wg, or fails the test when it is not done within
// waitDeadline.
func waitAll(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	receive(t, done, what)
}

// holdWriter blocks the database's writing until the returned func is
// called (or the test ends), by holding a write transaction open. On SQLite
// (one writer) every commit waits behind it.
func holdWriter(t *testing.T, db *sqlstore.DB) (release func()) {
	t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	go db.Update(t.Context(), func(*sqlstore.Tx) error {
		close(held)
		<-done
		return nil
	})
	receive(t, held, "the transaction holding the database")
	release = sync.OnceFunc(func() { close(done) })
	t.Cleanup(release)
	return release
}

// waitQueued waits until the writer holds n queued events, or fails the
// test after waitDeadline.
func waitQueued(t *testing.T, w *ingest.Writer, n int64) {
	t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for w.Queued() != n {
		if time.Now().After(deadline) {
			t.Fatalf("queued %d events after %s; want %d", w.Queued(), waitDeadline, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommit queues requests while a commit is in progress and checks
// that they all share the next transaction: one checkpoint for all of them.
func TestGroupCommit(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	account := newAccount(t, db, "group.example.com")
	w := ingest.NewWriter(db, sqltest.Signer(t), ingest.Options{})
	t.Cleanup(w.Close) // runs after holdWriter's release: cleanups run last first

	release := holdWriter(t, db)
	const requests = 50
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	seqs := make([]int64, requests)
	for i := range requests {
		wg.Go(func() {
			in := &audit.Event{AccountID: account, Action: "order.created", ResourceID: fmt.Sprint(i)}
			res, err := w.Write(t.Context(), []*audit.Event{in})
			switch {
			case err != nil:
			case len(res) != 1 || res[0].Replayed || res[0].Event.ID == 0 || res[0].Event.ResourceID != fmt.Sprint(i):
				err = fmt.Errorf("request %d: results %+v; want its one stored event", i, res)
			case in.Seq != 0 || in.ID != 0:
				err = fmt.Errorf("request %d: Write changed its input: %+v", i, in)
			default:
				seqs[i] = res[0].Event.Seq
			}
			errs <- err
		})
	}
	// The worker holds the first request, blocked on the database; the
	// other 49 wait in the queue.
	waitQueued(t, w, requests)
	release()
	waitAll(t, &wg, "the queued writes")
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	size, _ := db.LogSize(t.Context(), account)
	if size != requests {
		t.Fatalf("log size %d; want %d", size, requests)
	}
	slices.Sort(seqs)
	for i, seq := range seqs {
		if seq != int64(i+1) {
			t.Fatalf("the requests' results hold seqs %v; want 1 to %d once each", seqs, requests)
		}
	}
	// Checkpoints are signed once per transaction and account. The worker
	// took whichever requests had arrived when it woke (usually one) into
	// the commit that waits for the database; all the others queued behind
	// it and must share the next one: at most one checkpoint before the
	// last.
	if c, err := db.Checkpoint(t.Context(), account, requests); err != nil || c.Size != requests {
		t.Fatalf("checkpoint at size %d: %v", requests, err)
	}
	var earlier []int64
	for size := int64(1); size < requests; size++ {
		if _, err := db.Checkpoint(t.Context(), account, size); err == nil {
			earlier = append(earlier, size)
		}
	}
	if len(earlier) > 1 {
		t.Fatalf("checkpoints at sizes %v before %d: the queued requests did not share one commit", earlier, requests)
	}
}

// TestWriterSaturated fills the queue and checks that the next request is
// refused at once, and that the queued ones still commit.
func TestWriterSaturated(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	account := newAccount(t, db, "busy.example.com")
	obs := &recorder{}
	w := ingest.NewWriter(db, sqltest.Signer(t), ingest.Options{MaxQueuedEvents: 10, Observer: obs})
	t.Cleanup(w.Close) // runs after holdWriter's release: cleanups run last first
	release := holdWriter(t, db)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			evs := make([]*audit.Event, 5)
			for i := range evs {
				evs[i] = &audit.Event{AccountID: account, Action: "a.b"}
			}
			if _, err := w.Write(t.Context(), evs); err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(t, w, 10)
	start := time.Now()
	_, err := w.Write(t.Context(), []*audit.Event{{AccountID: account, Action: "a.b"}})
	if !errors.Is(err, ingest.ErrBusy) || time.Since(start) > time.Second {
		t.Fatalf("write to a full queue: %v after %s; want ErrBusy at once", err, time.Since(start))
	}
	release()
	waitAll(t, &wg, "the queued writes")
	if size, _ := db.LogSize(t.Context(), account); size != 10 {
		t.Errorf("log size %d; want the 10 queued events", size)
	}
	w.Close() // every batch reported
	obs.check(t, totals{events: 10, committed: 10, requests: 2, rejected: 1, busy: 1})
}

// recorder is an ingest.Observer that adds up what it is told.
type recorder struct {
	mu  sync.Mutex
	got totals
}

// totals is what a recorder adds up.
type totals struct {
	batches, events, committed, requests int
	rejected, busy, closed               int
	negativeTime                         bool
}

func (r *recorder) Batch(b ingest.BatchStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got.batches++
	r.got.events += b.Events
	r.got.committed += b.Committed
	r.got.requests += len(b.Waits)
	for _, w := range b.Waits {
		r.got.negativeTime = r.got.negativeTime || w < 0
	}
	r.got.negativeTime = r.got.negativeTime || b.Commit <= 0
}

func (r *recorder) Rejected(events int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got.rejected += events
	switch {
	case errors.Is(err, ingest.ErrBusy):
		r.got.busy++
	case errors.Is(err, ingest.ErrClosed):
		r.got.closed++
	}
}

// check compares the totals with want's; the number of batches depends
// on timing, so only at least one is required.
func (r *recorder) check(t *testing.T, want totals) {
	t.Helper()
	r.mu.Lock()
	got := r.got
	r.mu.Unlock()
	if got.batches < 1 {
		t.Errorf("observer told of %d batches; want at least 1", got.batches)
	}
	want.batches = got.batches
	if got != want {
		t.Errorf("observer told %+v; want %+v", got, want)
	}
}

// TestOneBadRequestSparesTheBatch checks that a request failing inside a
// shared transaction does not fail the others.
func TestOneBadRequestSparesTheBatch(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	account := newAccount(t, db, "spare.example.com")
	obs := &recorder{}
	w := ingest.NewWriter(db, sqltest.Signer(t), ingest.Options{Observer: obs})
	t.Cleanup(w.Close) // runs after holdWriter's release: cleanups run last first
	release := holdWriter(t, db)
	results := make(chan error, 3)
	go func() {
		_, err := w.Write(t.Context(), []*audit.Event{{AccountID: account, Action: "first"}})
		results <- err
	}()
	waitQueued(t, w, 1)
	go func() {
		_, err := w.Write(t.Context(), []*audit.Event{{AccountID: 99999, Action: "no.such.account"}})
		results <- err
	}()
	waitQueued(t, w, 2)
	go func() {
		_, err := w.Write(t.Context(), []*audit.Event{{AccountID: account, Action: "third"}})
		results <- err
	}()
	waitQueued(t, w, 3)
	release()
	failed := 0
	for range 3 {
		if err := receive(t, results, "a write's result"); err != nil {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d requests failed; want only the one for a missing account", failed)
	}
	if size, _ := db.LogSize(t.Context(), account); size != 2 {
		t.Errorf("log size %d; want 2", size)
	}
	w.Close()
	_, err := w.Write(t.Context(), []*audit.Event{{AccountID: account, Action: "late"}, {AccountID: account, Action: "later"}})
	if !errors.Is(err, ingest.ErrClosed) {
		t.Errorf("write after Close: %v; want ErrClosed", err)
	}
	obs.check(t, totals{events: 3, committed: 2, requests: 3, rejected: 2, closed: 1})
}
