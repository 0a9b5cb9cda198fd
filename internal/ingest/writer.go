package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// ErrBusy means the writer's queue is full: the client should retry after a
// moment (the server answers 503 with Retry-After).
var ErrBusy = errors.New("ingest: writer is saturated")

// ErrClosed means the writer has stopped.
var ErrClosed = errors.New("ingest: writer is closed")

// Options tune a Writer. Zero values take the defaults.
type Options struct {
	// Workers is how many transactions run at once. One suits SQLite, which
	// has one writer; the server engines gain from two or more.
	Workers int
	// MaxBatchEvents bounds the events of one transaction (default 5,000).
	MaxBatchEvents int
	// MaxQueuedEvents bounds the events waiting for a transaction (default
	// 50,000); past it, Write fails at once with ErrBusy.
	MaxQueuedEvents int64
	Logger          *slog.Logger
	// Observer, when set, is told of every batch and every refusal (for
	// metrics); nil: nobody is.
	Observer Observer
}

// Observer is told what a Writer does. Its methods are called from the
// writer's goroutines and must not block.
type Observer interface {
	// Batch reports one group-commit transaction once its requests have
	// been answered.
	Batch(BatchStats)
	// Rejected reports a Write of events refused before queueing, with
	// ErrBusy or ErrClosed.
	Rejected(events int, err error)
}

// BatchStats describes one group-commit transaction.
type BatchStats struct {
	// Events is how many events the batch held; Committed how many of them
	// were committed (or found already committed) and acknowledged.
	Events, Committed int
	// Waits holds, per request of the batch, how long it waited in the
	// queue before the transaction began.
	Waits []time.Duration
	// Commit is how long the batch took to write, from the start of its
	// transaction to its last answer (the requests written one by one
	// after a failed group commit included).
	Commit time.Duration
}

// Writer group-commits events. Each Write enqueues one request's events and
// waits; a worker takes the oldest request and, without waiting, every other
// request already queued (up to MaxBatchEvents), writes them all in one
// transaction and then acknowledges each. A lone request therefore waits for
// nothing but its own commit, and under load many requests share one commit
// (one fsync, one checkpoint per account).
type Writer struct {
	store  *sqlstore.DB
	signer *tlog.Signer
	opts   Options
	queue  chan *job
	queued atomic.Int64
	wg     sync.WaitGroup
	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
}

type job struct {
	events []*audit.Event
	done   chan result
	queued time.Time // when Write queued it
}

// result is what a job's writer reports: the job's share of the results.
type result struct {
	appended []audit.Appended
	err      error
}

// NewWriter starts a Writer's workers, which append to store and sign each
// changed log's checkpoint with signer. Call Close to stop them.
func NewWriter(store *sqlstore.DB, signer *tlog.Signer, opts Options) *Writer {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.MaxBatchEvents <= 0 {
		opts.MaxBatchEvents = 5000
	}
	if opts.MaxQueuedEvents <= 0 {
		opts.MaxQueuedEvents = 50_000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{store: store, signer: signer, opts: opts, queue: make(chan *job, opts.MaxQueuedEvents)}
	for range opts.Workers {
		w.wg.Go(w.work)
	}
	return w
}

// Write writes the events durably and returns once they are committed (or
// found to be replays of events already committed), with what the write
// path reports of each: per event and in order, the stored event and whether
// it was a replay (see audit.Appended). The events given are not changed.
// All the events of one Write commit together or not at all. It returns
// ErrBusy at once when the queue is full. If ctx ends first, Write returns
// its error, but the events may still be committed: clients make retries
// safe with event IDs.
func (w *Writer) Write(ctx context.Context, events []*audit.Event) ([]audit.Appended, error) {
	n := int64(len(events))
	if n == 0 {
		return []audit.Appended{}, nil
	}
	if w.queued.Add(n) > w.opts.MaxQueuedEvents {
		w.queued.Add(-n)
		w.rejected(len(events), ErrBusy)
		return nil, ErrBusy
	}
	j := &job{events: events, done: make(chan result, 1), queued: time.Now()}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		w.queued.Add(-n)
		w.rejected(len(events), ErrClosed)
		return nil, ErrClosed
	}
	w.queue <- j // never blocks: the queue holds MaxQueuedEvents jobs and each has an event
	w.mu.RUnlock()
	select {
	case r := <-j.done:
		return r.appended, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// rejected tells the observer, if any, of a refused Write.
func (w *Writer) rejected(events int, err error) {
	if w.opts.Observer != nil {
		w.opts.Observer.Rejected(events, err)
	}
}

// Queued returns how many events wait for a transaction.
func (w *Writer) Queued() int64 { return w.queued.Load() }

// Close stops accepting events, lets the workers commit what is queued, and
// waits for them.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	w.wg.Wait()
}

func (w *Writer) work() {
	for j := range w.queue {
		batch, count := []*job{j}, len(j.events)
	drain:
		for count < w.opts.MaxBatchEvents {
			select {
			case next, ok := <-w.queue:
				if !ok {
					break drain
				}
				batch = append(batch, next)
				count += len(next.events)
			default:
				break drain
			}
		}
		start := time.Now()
		committed := w.commit(batch)
		w.queued.Add(-int64(count))
		if o := w.opts.Observer; o != nil {
			waits := make([]time.Duration, len(batch))
			for i, j := range batch {
				waits[i] = start.Sub(j.queued)
			}
			o.Batch(BatchStats{Events: count, Committed: committed, Waits: waits, Commit: time.Since(start)})
		}
	}
}

// commit writes the batch in one transaction. If that fails for a reason
// other than the database being unavailable or full, one request's events may be at
// fault (for example an actor deleted since validation): each request is then
// written alone, so the others still succeed. It returns how many events
// were committed.
func (w *Writer) commit(batch []*job) (committed int) {
	appended, err := w.write(batch)
	if code := audit.ErrorCode(err); err != nil && len(batch) > 1 && code != audit.EUNAVAILABLE && code != audit.EFULL {
		w.opts.Logger.Warn("group commit failed; writing its requests one by one", "requests", len(batch), "err", err)
		for _, j := range batch {
			appended, err := w.write([]*job{j})
			if err == nil {
				committed += len(j.events)
			}
			j.done <- result{appended, err}
		}
		return committed
	}
	for _, j := range batch {
		if err != nil {
			j.done <- result{err: err}
			continue
		}
		n := len(j.events)
		committed += n
		j.done <- result{appended: appended[:n:n]}
		appended = appended[n:]
	}
	return committed
}

// write appends the batch's events in one transaction and returns the
// results of the attempt that committed.
func (w *Writer) write(batch []*job) ([]audit.Appended, error) {
	var events []*audit.Event
	for _, j := range batch {
		events = append(events, j.events...)
	}
	ctx := context.Background() // a client that leaves must not abort others' commit
	var appended []audit.Appended
	err := w.store.Update(ctx, func(tx *sqlstore.Tx) error {
		var err error
		appended, err = tx.AppendEvents(ctx, w.signer, events...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return appended, nil
}
