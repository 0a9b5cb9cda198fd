package live

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Defaults of Options.
const (
	DefaultBuffer     = 4096
	DefaultPoll       = 25 * time.Millisecond
	DefaultCheckpoint = time.Second
	// notifiedPoll is how often a hub on PostgreSQL, which learns of
	// other processes' commits by notification, reads the heads anyway:
	// a notification lost with a connection costs at most this.
	notifiedPoll = 5 * time.Second
	// page is how many events one read of the database returns.
	page = 1000
	// retryAfter is how long the hub waits before it reads again after a
	// failed read.
	retryAfter = time.Second
)

// Options tune a Hub; the zero value takes the defaults.
type Options struct {
	// Buffer bounds each Sub's queue, in events; DefaultBuffer when 0.
	Buffer int
	// Poll is how often the hub reads the heads of the logs it watches,
	// on the engines without notifications (SQLite, MySQL), to learn of
	// other processes' commits; DefaultPoll when 0.
	Poll time.Duration
	// Checkpoint is how often, at most, each account's watchers get the
	// latest signed checkpoint while events flow; DefaultCheckpoint when 0.
	Checkpoint time.Duration
	Logger     *slog.Logger
}

// Hub delivers committed events to the process's watchers. Create one
// with New, set the store's OnCommit to its Committed, and Close it before
// the store.
type Hub struct {
	db   *sqlstore.DB
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	accounts map[int64]*account
	// heads are the log sizes notified and not yet delivered, by account;
	// check lists accounts whose head the dispatcher must read.
	heads  map[int64]int64
	check  map[int64]bool
	closed bool
	// notify are this process's commits, by account, for the notifier to
	// tell other processes (PostgreSQL).
	notify map[int64]int64

	wake       chan struct{}
	notifyWake chan struct{}
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	// streams counts the subscribers not yet closed, for Drain.
	streams sync.WaitGroup
}

// account is what the hub holds for one watched account.
type account struct {
	// published is the log size up to which batches were queued.
	published int64
	groups    map[string]*group
	// checkpointDue is set when events were queued since the last
	// checkpoint; lastCheckpoint is when the last was queued.
	checkpointDue  bool
	lastCheckpoint time.Time
}

// group is the subs of one account that select the same events.
type group struct {
	q    *query.Query
	subs map[*Sub]struct{}
}

// New returns a hub over db and starts its goroutines.
func New(db *sqlstore.DB, opts Options) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Checkpoint <= 0 {
		opts.Checkpoint = DefaultCheckpoint
	}
	h := &Hub{
		db: db, opts: opts, log: opts.Logger,
		accounts: map[int64]*account{}, heads: map[int64]int64{}, check: map[int64]bool{}, notify: map[int64]int64{},
		wake: make(chan struct{}, 1), notifyWake: make(chan struct{}, 1),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.wg.Add(2)
	go h.dispatch()
	go h.poll()
	if db.Engine() == sqlstore.Postgres {
		h.wg.Add(2)
		go h.listen()
		go h.notifier()
	}
	return h
}

// Close disconnects every Sub (their Next returns ErrClosed) and stops
// the hub's goroutines. Call it before closing the store.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	var subs []*Sub
	for _, a := range h.accounts {
		for _, g := range a.groups {
			for s := range g.subs {
				subs = append(subs, s)
			}
		}
	}
	h.accounts = map[int64]*account{}
	h.mu.Unlock()
	for _, s := range subs {
		s.fail(ErrClosed)
	}
	h.cancel()
	h.wg.Wait()
}

// Committed tells the hub that events were committed by this process. It
// is the store's OnCommit hook: it does not block and reads nothing.
func (h *Hub) Committed(events []*audit.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	notify := false
	pg := h.db.Engine() == sqlstore.Postgres
	for _, e := range events {
		if pg && e.Seq > h.notify[e.AccountID] {
			h.notify[e.AccountID] = e.Seq
			notify = true
		}
		h.grownLocked(e.AccountID, e.Seq)
	}
	if notify {
		Signal(h.notifyWake)
	}
}

// grown records that the account's log has grown to size, from any
// process.
func (h *Hub) grown(accountID, size int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.grownLocked(accountID, size)
}

func (h *Hub) grownLocked(accountID, size int64) {
	a := h.accounts[accountID]
	if a == nil || size <= a.published || size <= h.heads[accountID] {
		return
	}
	h.heads[accountID] = size
	Signal(h.wake)
}

// Signal wakes the goroutine waiting on c, a channel with a buffer of one,
// without blocking: a signal already pending stands for this one too.
func Signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Subscribe returns a new watcher of the account's events that q selects
// (nil or zero: every event); key names what q selects, so that the hub
// reads the events once for every watcher with the same key. Start it with
// Sub.Start.
func (h *Hub) Subscribe(ctx context.Context, accountID int64, key string, q *query.Query) (*Sub, error) {
	size, err := h.db.LogSize(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if q.IsZero() {
		q, key = nil, ""
	}
	s := &Sub{hub: h, account: accountID, key: key, q: q, c: make(chan struct{}, 1), head: size}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	a := h.accounts[accountID]
	if a == nil {
		a = &account{published: size, groups: map[string]*group{}}
		h.accounts[accountID] = a
		// A commit between the read of size and now was not seen: the
		// dispatcher reads the head again.
		h.check[accountID] = true
		Signal(h.wake)
	}
	g := a.groups[key]
	if g == nil {
		g = &group{q: q, subs: map[*Sub]struct{}{}}
		a.groups[key] = g
	}
	g.subs[s] = struct{}{}
	h.streams.Add(1)
	return s, nil
}

// Drain waits until every subscriber has been closed by its stream (which,
// after Close, has sent its client the close frame), or until ctx ends:
// call it after Close and before the process exits, so that no client sees
// its connection drop without being told where to resume.
func (h *Hub) Drain(ctx context.Context) {
	done := make(chan struct{})
	go func() { h.streams.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// unsubscribe removes s.
func (h *Hub) unsubscribe(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.accounts[s.account]
	if a == nil {
		return
	}
	g := a.groups[s.key]
	if g == nil {
		return
	}
	delete(g.subs, s)
	if len(g.subs) == 0 {
		delete(a.groups, s.key)
	}
	if len(a.groups) == 0 {
		delete(h.accounts, s.account)
		delete(h.heads, s.account)
	}
}

// Watchers returns how many Subs the hub serves.
func (h *Hub) Watchers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, a := range h.accounts {
		for _, g := range a.groups {
			n += len(g.subs)
		}
	}
	return n
}

// dispatch reads and queues what the notifications announce, and the
// checkpoints, until the hub closes.
func (h *Hub) dispatch() {
	defer h.wg.Done()
	tick := time.NewTicker(h.opts.Checkpoint)
	defer tick.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.wake:
		case <-tick.C:
			h.checkpoints(false)
		}
		h.deliver()
		h.checkpoints(true)
	}
}

// deliver reads the heads to check, then reads and queues the events of
// every account whose log grew.
func (h *Hub) deliver() {
	h.mu.Lock()
	heads, check := h.heads, h.check
	h.heads, h.check = map[int64]int64{}, map[int64]bool{}
	h.mu.Unlock()
	if len(check) > 0 {
		ids := make([]int64, 0, len(check))
		for a := range check {
			ids = append(ids, a)
		}
		read, err := h.db.LogHeads(h.ctx, ids)
		if err != nil {
			h.retry(err, "read log heads", nil, check)
		}
		for a, size := range read {
			heads[a] = max(heads[a], size)
		}
	}
	for a, size := range heads {
		if err := h.deliverAccount(a, size); err != nil {
			h.retry(err, "read new events", map[int64]int64{a: size}, nil)
		}
	}
}

// retry logs a failed read and schedules what it was for again.
func (h *Hub) retry(err error, what string, heads map[int64]int64, check map[int64]bool) {
	if h.ctx.Err() != nil {
		return
	}
	h.log.Warn("live: could not "+what+"; retrying", "err", err)
	time.AfterFunc(retryAfter, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for a, size := range heads {
			h.heads[a] = max(h.heads[a], size)
		}
		for a := range check {
			h.check[a] = true
		}
		Signal(h.wake)
	})
}

// deliverAccount reads the account's events up to size, once for each
// group of its subs, and queues them, a page at a time.
func (h *Hub) deliverAccount(accountID, size int64) error {
	for {
		h.mu.Lock()
		a := h.accounts[accountID]
		if a == nil || size <= a.published {
			h.mu.Unlock()
			return nil
		}
		from := a.published
		to := min(size, from+page)
		qs := make(map[string]*query.Query, len(a.groups))
		alerts := false
		for k, g := range a.groups {
			qs[k] = g.q
			for s := range g.subs {
				alerts = alerts || s.alerts
			}
		}
		h.mu.Unlock()

		batches := make(map[string]*batch, len(qs))
		for k, q := range qs {
			events, err := h.db.EventsAfter(h.ctx, accountID, q, from, to, page)
			if err != nil {
				return err
			}
			b := &batch{from: from, to: to, items: make([]*Item, len(events))}
			for i, e := range events {
				b.items[i] = &Item{Event: e}
			}
			batches[k] = b
		}
		var raised []*Item
		if alerts {
			var err error
			if raised, err = h.alertsIn(accountID, from, to, batches[""]); err != nil {
				return err
			}
		}

		h.mu.Lock()
		if h.accounts[accountID] != a || a.published != from {
			h.mu.Unlock()
			continue // unsubscribed and subscribed again meanwhile
		}
		a.published, a.checkpointDue = to, true
		for k, g := range a.groups {
			b := batches[k]
			if b == nil {
				// The group is new: its subs read what they missed
				// themselves when the next batch comes.
				continue
			}
			for s := range g.subs {
				s.push(b)
			}
		}
		if len(raised) > 0 {
			b := &batch{from: -1, items: raised}
			for _, g := range a.groups {
				for s := range g.subs {
					if s.alerts {
						s.push(b)
					}
				}
			}
		}
		h.mu.Unlock()
		if to == size {
			return nil
		}
	}
}

// alertsQuery selects the alerts in an account's log.
var alertsQuery = &query.Query{Clauses: []query.Clause{{Field: query.FieldAction, Pos: -1,
	Values: []query.Value{{Op: query.OpEq, Text: audit.ActionAlertTriggered}}}}}

// alertsIn returns the account's alerts with seq above from and at most
// to, as Items: taken from all, the batch of every event over the same
// range when the account has an unfiltered watcher, else read.
func (h *Hub) alertsIn(accountID, from, to int64, all *batch) ([]*Item, error) {
	var events []*audit.Event
	if all != nil {
		for _, it := range all.items {
			if it.Event.Action == audit.ActionAlertTriggered {
				events = append(events, it.Event)
			}
		}
	} else {
		var err error
		if events, err = h.db.EventsAfter(h.ctx, accountID, alertsQuery, from, to, page); err != nil {
			return nil, err
		}
	}
	items := make([]*Item, len(events))
	for i, e := range events {
		items[i] = &Item{Alert: e}
	}
	return items, nil
}

// checkpoints queues the latest signed checkpoint to the watchers of
// every account that had events since the last one. With onlyOverdue (after
// a delivery) it does so only for the accounts that got none for
// Options.Checkpoint; the ticker's call sends the checkpoint of the last
// events of a burst.
func (h *Hub) checkpoints(onlyOverdue bool) {
	now := time.Now()
	type due struct{ account, size int64 }
	var dues []due
	h.mu.Lock()
	for id, a := range h.accounts {
		if a.checkpointDue && (!onlyOverdue || now.Sub(a.lastCheckpoint) >= h.opts.Checkpoint) {
			dues = append(dues, due{id, a.published})
		}
	}
	h.mu.Unlock()
	for _, d := range dues {
		c, err := h.db.Checkpoint(h.ctx, d.account, d.size)
		if errors.Is(err, audit.ErrNotFound) {
			c, err = h.db.Checkpoint(h.ctx, d.account, 0)
		}
		if err != nil {
			if h.ctx.Err() == nil {
				h.log.Warn("live: could not read the checkpoint", "account", d.account, "err", err)
			}
			continue
		}
		h.mu.Lock()
		if a := h.accounts[d.account]; a != nil {
			a.checkpointDue, a.lastCheckpoint = false, now
			b := &batch{from: -1, items: []*Item{{Checkpoint: c}}}
			for _, g := range a.groups {
				for s := range g.subs {
					s.push(b)
				}
			}
		}
		h.mu.Unlock()
	}
}

// poll has the dispatcher read the heads of every watched account, every
// Options.Poll (every notifiedPoll on PostgreSQL), until the hub closes.
func (h *Hub) poll() {
	defer h.wg.Done()
	every := h.opts.Poll
	if h.db.Engine() == sqlstore.Postgres {
		every = notifiedPoll
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		h.checkAll()
	}
}

// checkAll has the dispatcher read the head of every watched account.
func (h *Hub) checkAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.accounts) == 0 {
		return
	}
	for a := range h.accounts {
		h.check[a] = true
	}
	Signal(h.wake)
}

// listen learns of other processes' commits on PostgreSQL, reconnecting
// after failures, until the hub closes.
func (h *Hub) listen() {
	defer h.wg.Done()
	for {
		err := h.db.ListenHeads(h.ctx, h.checkAll, h.grown)
		if h.ctx.Err() != nil {
			return
		}
		h.log.Warn("live: lost the notifications of other processes' commits; reconnecting", "err", err)
		select {
		case <-h.ctx.Done():
			return
		case <-time.After(retryAfter):
		}
	}
}

// notifier tells other processes of this one's commits on PostgreSQL.
func (h *Hub) notifier() {
	defer h.wg.Done()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.notifyWake:
		}
		h.mu.Lock()
		heads := h.notify
		h.notify = map[int64]int64{}
		h.mu.Unlock()
		if len(heads) == 0 {
			continue
		}
		if err := h.db.NotifyHeads(h.ctx, heads); err != nil && h.ctx.Err() == nil {
			// Other processes' polls find these commits within
			// notifiedPoll.
			h.log.Warn("live: could not notify other processes", "err", err)
		}
	}
}
