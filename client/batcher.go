package client

import (
	"context"
	"errors"
	"sync"
	"time"
)

// BatcherOptions configure a Batcher. The zero value is usable.
type BatcherOptions struct {
	// MaxBatch is the most events one request carries; a batch is sent as
	// soon as it is this large. Zero means 500; at most MaxBatch.
	MaxBatch int
	// FlushInterval is the longest an event waits in the queue before its
	// batch is sent, however small. Zero means one second.
	FlushInterval time.Duration
	// QueueSize bounds the events waiting to be sent. Zero means 10,000.
	// With the batch in flight, a Batcher holds at most
	// QueueSize + MaxBatch events.
	QueueSize int
	// NoBlock makes Add return ErrQueueFull at once when the queue is
	// full, instead of waiting for room.
	NoBlock bool
	// OnError, when set, is called (from the Batcher's goroutine) with
	// each batch that could not be sent, after the client's retries, and
	// the error. The events are dropped after it returns: to keep them,
	// save them in OnError. Without OnError, the error is also returned
	// by the next Flush or Close.
	OnError func(events []EventInput, err error)
}

// ErrQueueFull is Add's error when the queue is full and
// BatcherOptions.NoBlock is set.
var ErrQueueFull = errors.New("auditlog: the batcher's queue is full")

// ErrClosed is Add's error after Close.
var ErrClosed = errors.New("auditlog: the batcher is closed")

// Batcher sends events in the background, in batches: a batch goes out
// when it reaches MaxBatch events or when its oldest event has waited
// FlushInterval, whichever comes first. Memory is bounded: when QueueSize
// events wait, Add blocks until there is room (or its context ends), or
// with NoBlock returns ErrQueueFull. Each event gets its event_id when it
// is added, so the client's retries of a batch never record an event
// twice. One batch is in flight at a time.
//
// A Batcher is safe for concurrent use. Close it to send what is queued.
type Batcher struct {
	c     *Client
	opts  BatcherOptions
	queue chan EventInput

	mu     sync.RWMutex // held for reading by Add while it enqueues; Close takes it to stop Adds
	closed bool

	flush chan chan error
	stop  chan struct{}
	done  chan struct{}
	ctx   context.Context // cancelled when Close gives up
	abort context.CancelFunc

	errMu sync.Mutex
	errs  []error // batch errors since the last Flush, without OnError
}

// NewBatcher starts a Batcher that sends through c.
func (c *Client) NewBatcher(opts BatcherOptions) *Batcher {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 500
	}
	opts.MaxBatch = min(opts.MaxBatch, MaxBatch)
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 10_000
	}
	ctx, abort := context.WithCancel(context.Background())
	b := &Batcher{
		c: c, opts: opts, queue: make(chan EventInput, opts.QueueSize),
		flush: make(chan chan error), stop: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, abort: abort,
	}
	go b.run()
	return b
}

// Add queues ev to be sent and returns once it is queued (not sent). It
// gives ev an event_id when it has none. When the queue is full it waits
// for room until ctx ends, or with NoBlock returns ErrQueueFull.
func (b *Batcher) Add(ctx context.Context, ev EventInput) error {
	if ev.EventID == "" {
		ev.EventID = newEventID()
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	select {
	case b.queue <- ev:
		return nil
	default:
	}
	if b.opts.NoBlock {
		return ErrQueueFull
	}
	select {
	case b.queue <- ev:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush sends every event queued before it was called and waits until
// they are sent, or ctx ends. It returns the errors of batches that
// failed since the last Flush (when OnError is not set).
func (b *Batcher) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case b.flush <- reply:
	case <-b.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting events, sends every queued event and returns when
// they are sent, with the errors of batches that failed (when OnError is
// not set). If ctx ends first, Close abandons the requests under way,
// drops what is still queued and returns ctx's error.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	already := b.closed
	b.closed = true
	b.mu.Unlock()
	if !already {
		close(b.stop)
	}
	select {
	case <-b.done:
		return b.takeErrors()
	case <-ctx.Done():
		b.abort()
		<-b.done
		return ctx.Err()
	}
}

// run is the Batcher's goroutine: it gathers batches and sends them.
func (b *Batcher) run() {
	defer close(b.done)
	defer b.abort()
	batch := make([]EventInput, 0, b.opts.MaxBatch)
	timer := time.NewTimer(b.opts.FlushInterval)
	timer.Stop()
	timing := false
	send := func() {
		if timing {
			timer.Stop()
			timing = false
		}
		if len(batch) == 0 {
			return
		}
		b.sendBatch(batch)
		batch = batch[:0]
	}
	add := func(ev EventInput) {
		if len(batch) == 0 {
			timer.Reset(b.opts.FlushInterval)
			timing = true
		}
		batch = append(batch, ev)
		if len(batch) >= b.opts.MaxBatch {
			send()
		}
	}
	// drain adds at most n queued events, sending full batches.
	drain := func(n int) {
		for range n {
			select {
			case ev := <-b.queue:
				add(ev)
			default:
				return
			}
		}
	}
	for {
		select {
		case ev := <-b.queue:
			add(ev)
		case <-timer.C:
			timing = false
			send()
		case reply := <-b.flush:
			drain(len(b.queue))
			send()
			reply <- b.takeErrors()
		case <-b.stop:
			// No Add runs any more (Close holds the lock to say so):
			// what is queued is all there will be.
			drain(len(b.queue))
			send()
			return
		}
	}
}

// sendBatch sends one batch, with the client's retries.
func (b *Batcher) sendBatch(batch []EventInput) {
	if b.ctx.Err() != nil {
		b.failed(batch, b.ctx.Err())
		return
	}
	if _, err := b.c.SendBatch(b.ctx, batch); err != nil {
		b.failed(batch, err)
	}
}

func (b *Batcher) failed(batch []EventInput, err error) {
	if b.opts.OnError != nil {
		b.opts.OnError(append([]EventInput(nil), batch...), err)
		return
	}
	b.errMu.Lock()
	b.errs = append(b.errs, err)
	b.errMu.Unlock()
}

func (b *Batcher) takeErrors() error {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	err := errors.Join(b.errs...)
	b.errs = nil
	return err
}
