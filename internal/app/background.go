package app

import (
	"context"
	"fmt"
	"sync"
)

// backgroundQueue bounds the events waiting to be recorded in the
// background. Each waits a few milliseconds at most while the database
// keeps up; the bound only matters under a flood of failed sign-ins, which
// the login buckets already slow.
const backgroundQueue = 1024

// background records events off the response path, in order, with one
// worker. An event is never dropped: when the queue is full, or once the
// App is closed, the caller records it itself.
type background struct {
	mu     sync.RWMutex // held for reading to queue, for writing to close
	closed bool
	queue  chan job
	done   chan struct{} // closed when the worker has drained the queue
}

// job is one recording, or a marker (flushed set) that Flush waits on.
type job struct {
	ctx     context.Context
	by      *Principal
	c       Client
	entries []entry
	flushed chan struct{}
}

// startBackground starts the worker that records what recordLater queues.
func (a *App) startBackground() {
	a.bg = &background{queue: make(chan job, backgroundQueue), done: make(chan struct{})}
	go func() {
		defer close(a.bg.done)
		for j := range a.bg.queue {
			if j.flushed != nil {
				close(j.flushed)
				continue
			}
			if err := a.recordNow(j.ctx, j.by, j.c, j.entries...); err != nil {
				a.log.ErrorContext(j.ctx, "could not record an event in the background", "action", j.entries[0].action, "err", err)
			}
		}
	}()
}

// recordLater records entries as recordNow does, but off the caller's
// path, so that the caller's answer takes no longer for it: a failed
// sign-in for a known email must take as long as one for an unknown email,
// which records nothing. The event commits a few milliseconds later,
// stamped with the time it is written. When the queue is full or the App
// is closed, the entries are recorded before recordLater returns, so none
// is ever lost; it then returns recordNow's error.
func (a *App) recordLater(ctx context.Context, by *Principal, c Client, entries ...entry) error {
	j := job{ctx: context.WithoutCancel(ctx), by: by, c: c, entries: entries}
	a.bg.mu.RLock()
	if !a.bg.closed {
		select {
		case a.bg.queue <- j:
			a.bg.mu.RUnlock()
			return nil
		default:
		}
	}
	a.bg.mu.RUnlock()
	return a.recordNow(ctx, by, c, entries...)
}

// Flush waits until every event queued for the background before the call
// has been written (or has failed, which is logged), or until ctx ends.
func (a *App) Flush(ctx context.Context) error {
	marker := job{flushed: make(chan struct{})}
	a.bg.mu.RLock()
	if a.bg.closed {
		a.bg.mu.RUnlock()
		return a.waitDrained(ctx)
	}
	select {
	case a.bg.queue <- marker:
		a.bg.mu.RUnlock()
	case <-ctx.Done():
		a.bg.mu.RUnlock()
		return fmt.Errorf("app: flush: %w", ctx.Err())
	}
	select {
	case <-marker.flushed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("app: flush: %w", ctx.Err())
	}
}

// Close stops the background work: it stops asking witnesses for
// cosignatures (waiting for the requests in flight) and waits, until ctx ends, for every
// queued event to be written. Call it after the last surface has stopped
// taking requests (serve calls it once the HTTP server has shut down) and
// before closing the store. Operations still work after Close; what they
// would have queued they record themselves. Close may be called more than
// once.
func (a *App) Close(ctx context.Context) error {
	if a.cos != nil {
		a.cos.stop()
	}
	a.bg.mu.Lock()
	if !a.bg.closed {
		a.bg.closed = true
		close(a.bg.queue)
	}
	a.bg.mu.Unlock()
	return a.waitDrained(ctx)
}

// waitDrained waits for the closed queue's worker to finish.
func (a *App) waitDrained(ctx context.Context) error {
	select {
	case <-a.bg.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("app: %d event(s) still waiting to be recorded: %w", len(a.bg.queue), ctx.Err())
	}
}
