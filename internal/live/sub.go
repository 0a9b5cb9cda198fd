package live

import (
	"context"
	"errors"
	"sync"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Errors that end a Sub.
var (
	// ErrOverflow means the watcher fell more than Options.Buffer events
	// behind: it should resume from its position (Sub.Position).
	ErrOverflow = errors.New("live: the watcher fell too far behind")
	// ErrClosed means the hub is closing: the process is shutting down.
	ErrClosed = errors.New("live: the hub is closed")
)

// Item is one thing to send to a watcher: an event, a checkpoint, an
// alert, or the mark that the replay is over.
type Item struct {
	// Event is a committed event that the watcher's selection matches,
	// with its acting user (Event.User) as a listing shows it.
	Event *audit.Event
	// Alert is a committed alert.triggered event, sent to the watchers
	// that asked for alerts (Sub.WatchAlerts) whatever their selection.
	Alert *audit.Event
	// Checkpoint is the account's latest signed checkpoint.
	Checkpoint *sqlstore.Checkpoint
	// Ready marks the end of the replay: every matching event with seq up
	// to Position was sent, and live events follow.
	Ready    bool
	Position int64

	once  sync.Once
	frame []byte
}

// Frame returns the item encoded by encode, encoding it once for every
// watcher that receives the same item.
func (it *Item) Frame(encode func(*Item) []byte) []byte {
	it.once.Do(func() { it.frame = encode(it) })
	return it.frame
}

// batch is what the hub queues: the matching events with seq above from
// and at most to, or a checkpoint (from -1).
type batch struct {
	from, to int64
	items    []*Item
}

// Sub is one watcher of an account's events. Its methods other than Close
// must be called from one goroutine.
type Sub struct {
	closeOnce sync.Once // Close runs once
	hub       *Hub
	account   int64
	key       string
	q         *query.Query
	c         chan struct{}

	// pos is the log position up to which every matching event was
	// returned by Next; head is the log size when the Sub started.
	pos, head int64
	started   bool
	replayed  bool
	// alerts is set by WatchAlerts; the hub's lock guards it.
	alerts bool

	mu     sync.Mutex
	queue  []*batch
	queued int // events in queue
	err    error
}

// Start sets where the Sub begins: with resume, after the event with seq
// after (Next first returns the matching events from there: a replay);
// else at the log's end when it subscribed. Either way Next then returns
// an Item with Ready set before the live events. It must be called once, before
// Next.
func (s *Sub) Start(resume bool, after int64) {
	s.started = true
	if resume {
		s.pos = after
		return
	}
	s.pos = s.head
}

// WatchAlerts asks for the account's alerts as they are raised (Items
// with Alert set), whatever the Sub's selection. Alerts are live only: a
// replay does not repeat them (the alert.triggered events are in the log).
func (s *Sub) WatchAlerts() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.alerts = true
}

// C is signalled when Next has something to return.
func (s *Sub) C() <-chan struct{} { return s.c }

// Notify has s signal c instead of its own channel when Next has something
// to return (C then returns c), and signals it once now. c must have a
// buffer of one; the caller may signal it for its own reasons too (a
// timer, a message from its client), so that its goroutine waits on one
// channel instead of selecting among several. Call it before Next, from
// the goroutine that calls Next.
func (s *Sub) Notify(c chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c = c
	Signal(c)
}

// Position returns the log position up to which every matching event was
// returned: a watcher that reconnects resumes after it.
func (s *Sub) Position() int64 { return s.pos }

// Close unsubscribes s.
func (s *Sub) Close() {
	s.closeOnce.Do(func() {
		s.hub.unsubscribe(s)
		s.hub.streams.Done()
	})
}

// push queues b, or fails s when its queue is full. The hub's lock is held.
func (s *Sub) push(b *batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if s.queued+len(b.items) > s.hub.opts.Buffer {
		s.err, s.queue, s.queued = ErrOverflow, nil, 0
	} else {
		s.queue = append(s.queue, b)
		s.queued += len(b.items)
	}
	Signal(s.c)
}

// fail ends s with err.
func (s *Sub) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	Signal(s.c)
}

// Next returns the next items to send, in order, or none when there is
// nothing to send now (wait for C). Replayed events come a page at a time,
// then an Item with Ready set, then the live events and checkpoints. It
// fails with ErrOverflow or ErrClosed when s ends, or with the store's
// error when a read fails.
func (s *Sub) Next(ctx context.Context) ([]*Item, error) {
	if !s.started {
		s.Start(false, 0)
	}
	s.mu.Lock()
	if s.err != nil {
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	if !s.replayed {
		s.mu.Unlock()
		return s.replay(ctx)
	}
	if len(s.queue) == 0 {
		s.mu.Unlock()
		return nil, nil
	}
	b := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	s.queued -= len(b.items)
	if len(s.queue) > 0 {
		Signal(s.c)
	}
	s.mu.Unlock()

	if b.from < 0 {
		return b.items, nil
	}
	var out []*Item
	if b.from > s.pos {
		// Events between the position and the batch were queued before
		// s subscribed, or read before its group existed: read them.
		missed, err := s.read(ctx, s.pos, b.from)
		if err != nil {
			return nil, err
		}
		out = missed
		s.pos = b.from
	}
	for _, it := range b.items {
		if it.Event.Seq > s.pos {
			out = append(out, it)
		}
	}
	s.pos = max(s.pos, b.to)
	return out, nil
}

// replay returns the next page of the events after the position, up to
// the log's end when s subscribed, then the Ready item.
func (s *Sub) replay(ctx context.Context) ([]*Item, error) {
	if s.pos < s.head {
		events, err := s.hub.db.EventsAfter(ctx, s.account, s.q, s.pos, s.head, page)
		if err != nil {
			return nil, err
		}
		items := make([]*Item, len(events))
		for i, e := range events {
			items[i] = &Item{Event: e}
		}
		if len(events) < page {
			s.pos = s.head
		} else {
			s.pos = events[len(events)-1].Seq
		}
		Signal(s.c)
		if len(items) > 0 {
			return items, nil
		}
	}
	s.replayed = true
	s.pos = max(s.pos, s.head)
	Signal(s.c)
	return []*Item{{Ready: true, Position: s.pos}}, nil
}

// read returns the matching events with seq above from and at most to.
func (s *Sub) read(ctx context.Context, from, to int64) ([]*Item, error) {
	var items []*Item
	for from < to {
		events, err := s.hub.db.EventsAfter(ctx, s.account, s.q, from, to, page)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			items = append(items, &Item{Event: e})
		}
		if len(events) < page {
			break
		}
		from = events[len(events)-1].Seq
	}
	return items, nil
}
