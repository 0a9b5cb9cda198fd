package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Defaults of Options. docs/streams.md documents them.
const (
	DefaultBatch       = 500
	DefaultTimeout     = 10 * time.Second
	DefaultLease       = 30 * time.Second
	DefaultClaim       = time.Second
	DefaultPoll        = 250 * time.Millisecond
	DefaultRetryBase   = time.Second
	DefaultRetryMax    = 10 * time.Minute
	DefaultMaxAttempts = 15
	// maxWorkers bounds the streams one process delivers at once.
	maxWorkers = 256
)

// Encoder encodes what a batch carries as the JSON API shows it (the
// server package implements it).
type Encoder interface {
	Event(e *audit.Event) ([]byte, error)
	Checkpoint(c *sqlstore.Checkpoint) ([]byte, error)
}

// Options configure an Engine; zero fields take the defaults.
type Options struct {
	Policy Policy
	// Open returns the opened destination secret of a stream.
	Open    func(s *audit.Stream) ([]byte, error)
	Encoder Encoder
	// Host names the service in the Splunk and Datadog formats (LOG_NAME).
	Host string
	// Batch is the most events one delivery carries.
	Batch int
	// Timeout bounds one delivery: connection, request and answer.
	Timeout time.Duration
	// Lease is how long a process holds a stream after claiming it or
	// renewing its lease; another process may take over a stream whose
	// lease expired (its process died).
	Lease time.Duration
	// Claim is how often the engine looks for due streams that no process
	// delivers.
	Claim time.Duration
	// Poll is how often an idle stream checks its account's log for new
	// events committed by other processes (this process's commits wake
	// it at once, through Committed).
	Poll time.Duration
	// RetryBase, RetryMax and MaxAttempts are the retry policy: after
	// the nth failure in a row the next attempt waits RetryBase·2ⁿ⁻¹, at
	// most RetryMax, less a random part of up to half of it (jitter);
	// after MaxAttempts failures in a row the stream is dead.
	RetryBase, RetryMax time.Duration
	MaxAttempts         int
	// Observer, when set, is told of every delivery's outcome (the
	// operator's metrics).
	Observer Observer
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Observer is told of each delivery's outcome, by stream type (one of
// audit.StreamTypes). Its methods must not block.
type Observer interface {
	// Delivered: a batch of events was accepted (2xx).
	Delivered(streamType string, events int)
	// Failed: a delivery failed, of one of FailureClasses; dead says the
	// stream was dead-lettered by this failure.
	Failed(streamType, class string, dead bool)
}

// Engine delivers the streams of every account: one per process, over the
// database all processes share. It claims the due streams that no process
// delivers (a lease per stream, so that exactly one process delivers each
// at a time), and delivers each from its cursor, in seq order, at least
// once. Create one with New; Close it before the store.
type Engine struct {
	db     *sqlstore.DB
	opts   Options
	log    *slog.Logger
	client *http.Client
	owner  string

	mu      sync.Mutex
	workers map[sqlstore.StreamKey]*worker
	// byAccount lists the workers of each account, for Committed.
	byAccount map[int64]map[*worker]struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns an engine over db and starts it.
func New(db *sqlstore.DB, opts Options) *Engine {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.Timeout, DefaultTimeout)
	def(&opts.Lease, DefaultLease)
	def(&opts.Claim, DefaultClaim)
	def(&opts.Poll, DefaultPoll)
	def(&opts.RetryBase, DefaultRetryBase)
	def(&opts.RetryMax, DefaultRetryMax)
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	id := make([]byte, 8)
	rand.Read(id)
	e := &Engine{
		db: db, opts: opts, log: opts.Logger, client: opts.Policy.Client(opts.Timeout), owner: hex.EncodeToString(id),
		workers: map[sqlstore.StreamKey]*worker{}, byAccount: map[int64]map[*worker]struct{}{},
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.wg.Add(1)
	go e.claim()
	return e
}

// Owner is the name of this engine in the streams' leases.
func (e *Engine) Owner() string { return e.owner }

// Close stops delivering: deliveries in flight are abandoned (they are
// sent again, by this or another process), and the leases are released so
// that another process takes over at once.
func (e *Engine) Close() {
	e.cancel()
	e.wg.Wait()
	e.client.CloseIdleConnections()
}

// Committed tells the engine that events were committed by this process,
// so that their accounts' streams deliver them at once. It is (part of)
// the store's OnCommit hook: it does not block.
func (e *Engine) Committed(events []*audit.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := int64(0)
	for _, ev := range events {
		if ev.AccountID == seen {
			continue
		}
		seen = ev.AccountID
		for w := range e.byAccount[ev.AccountID] {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// claim looks for due streams every Claim and starts a worker for each
// that this engine wins.
func (e *Engine) claim() {
	defer e.wg.Done()
	t := time.NewTicker(e.opts.Claim)
	defer t.Stop()
	for {
		e.claimDue()
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Engine) claimDue() {
	now := e.opts.Now().UTC()
	keys, err := e.db.DueStreams(e.ctx, now, 100)
	if err != nil {
		if e.ctx.Err() == nil {
			e.log.Warn("streams: cannot read the due streams", "err", err)
		}
		return
	}
	for _, k := range keys {
		e.mu.Lock()
		_, running := e.workers[k]
		full := len(e.workers) >= maxWorkers
		e.mu.Unlock()
		if running || full {
			continue
		}
		s, err := e.db.ClaimStream(e.ctx, k, e.owner, now, now.Add(e.opts.Lease))
		if err != nil {
			if e.ctx.Err() == nil {
				e.log.Warn("streams: cannot claim a stream", "account", k.AccountID, "stream", k.ID, "err", err)
			}
			continue
		}
		if s == nil {
			continue // another process won it
		}
		e.start(k, s.LeaseUntil)
	}
}

// worker delivers one stream while this engine holds its lease.
type worker struct {
	e          *Engine
	key        sqlstore.StreamKey
	wake       chan struct{}
	leaseUntil time.Time
	// size is the account's log size as last read: while the cursor is
	// below it (a backlog), the next batch is read without reading the
	// size again.
	size int64
	// cp is the checkpoint the last batch carried, read at cpAt, encoded
	// as cpJSON: the batches of a backlog reuse it for checkpointReuse
	// while it covers them.
	cp     *sqlstore.Checkpoint
	cpAt   time.Time
	cpJSON json.RawMessage
}

// checkpointReuse is how long the batches of a backlog may carry the
// checkpoint read for an earlier batch (when it covers them) instead of
// reading the latest again: one read of the checkpoint (a transaction of
// three queries) per batch made up much of a backlog's cost on PostgreSQL
// and MariaDB.
const checkpointReuse = 5 * time.Second

func (e *Engine) start(k sqlstore.StreamKey, leaseUntil time.Time) {
	w := &worker{e: e, key: k, wake: make(chan struct{}, 1), leaseUntil: leaseUntil}
	e.mu.Lock()
	e.workers[k] = w
	if e.byAccount[k.AccountID] == nil {
		e.byAccount[k.AccountID] = map[*worker]struct{}{}
	}
	e.byAccount[k.AccountID][w] = struct{}{}
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		release := w.run(e.ctx)
		e.mu.Lock()
		delete(e.workers, k)
		delete(e.byAccount[k.AccountID], w)
		if len(e.byAccount[k.AccountID]) == 0 {
			delete(e.byAccount, k.AccountID)
		}
		e.mu.Unlock()
		if release {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := e.db.ReleaseStream(ctx, k, e.owner); err != nil {
				e.log.Warn("streams: cannot release a stream", "account", k.AccountID, "stream", k.ID, "err", err)
			}
		}
	}()
}

// errLost means this engine no longer holds the stream's lease.
var errLost = errors.New("stream: lease lost")

// run delivers the stream until it is caught up and idle too long, its
// lease is lost, a delivery fails, or ctx ends. It reports whether the
// lease is still this engine's to release.
func (w *worker) run(ctx context.Context) (release bool) {
	e := w.e
	poll := time.NewTicker(e.opts.Poll)
	defer poll.Stop()
	for {
		s, err := e.db.Stream(ctx, w.key.AccountID, w.key.ID)
		switch {
		case ctx.Err() != nil:
			return true
		case errors.Is(err, audit.ErrNotFound):
			return false // deleted
		case err != nil:
			e.log.Warn("streams: cannot read a stream", "account", w.key.AccountID, "stream", w.key.ID, "err", err)
			return true
		case s.LeaseOwner != e.owner || s.State != audit.StreamActive:
			return false // paused, changed, or taken over
		}
		sent, err := w.deliver(ctx, s)
		switch {
		case ctx.Err() != nil:
			return true
		case errors.Is(err, errLost):
			return false
		case err != nil:
			e.log.Warn("streams: cannot deliver", "account", w.key.AccountID, "stream", w.key.ID, "err", err)
			return true
		case sent:
			continue // more may be waiting
		}
		// Caught up: wait for a commit, keeping the lease.
		if time.Until(w.leaseUntil) < e.opts.Lease/2 {
			until := e.opts.Now().UTC().Add(e.opts.Lease)
			ok, err := e.db.RenewStreamLease(ctx, w.key, e.owner, until)
			if err != nil || !ok {
				return err != nil
			}
			w.leaseUntil = until
		}
		select {
		case <-ctx.Done():
			return true
		case <-w.wake:
		case <-poll.C:
		}
	}
}

// deliver sends the next batch of s's events, if any, and records the
// outcome: the cursor moved, or the failure and when to try again. It
// reports whether it sent a batch; a failed delivery is errLost (the
// worker stops: any process retries when due).
func (w *worker) deliver(ctx context.Context, s *audit.Stream) (bool, error) {
	e := w.e
	size := w.size
	if size <= s.Cursor {
		var err error
		size, err = e.db.LogSize(ctx, s.AccountID)
		if errors.Is(err, audit.ErrNotFound) || (err == nil && size <= s.Cursor) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		w.size = size
	}
	events, err := e.db.EventsAfter(ctx, s.AccountID, nil, s.Cursor, size, e.opts.Batch)
	if err != nil || len(events) == 0 {
		return false, err
	}
	b := &Batch{StreamID: s.ID, AccountID: s.AccountID, Host: e.opts.Host}
	for _, ev := range events {
		if ev.AccountID != s.AccountID {
			return false, errors.New("stream: an event of another account") // never: EventsAfter names the account
		}
		j, err := e.opts.Encoder.Event(ev)
		if err != nil {
			return false, err
		}
		b.Events, b.Seqs, b.Times = append(b.Events, j), append(b.Seqs, ev.Seq), append(b.Times, ev.CreatedAt)
	}
	// The checkpoint is read after the events, so its pruned size is at
	// least the one they were read at: events between the cursor and the
	// first one read are missing only if retention removed them. The
	// batch's checkpoint tells the receiver so (first_seq). A batch that
	// follows the cursor exactly may carry the checkpoint of an earlier
	// batch of the same backlog, read less than checkpointReuse ago, if
	// it covers this one.
	first := b.Seqs[0]
	if w.cp == nil || first != s.Cursor+1 || w.cp.Size < b.last() || time.Since(w.cpAt) >= checkpointReuse {
		cp, err := e.db.Checkpoint(ctx, s.AccountID, 0)
		if err != nil {
			return false, err
		}
		if first != s.Cursor+1 && (first <= s.Cursor || first-1 > cp.Pruned) {
			return false, errors.New("stream: the events read do not follow the cursor")
		}
		j, err := e.opts.Encoder.Checkpoint(cp)
		if err != nil {
			return false, err
		}
		w.cp, w.cpAt, w.cpJSON = cp, time.Now(), j
	}
	b.Checkpoint = w.cpJSON
	secret, err := e.opts.Open(s)
	if err != nil {
		return false, err
	}
	if time.Until(w.leaseUntil) < e.opts.Timeout+e.opts.Lease/4 {
		// The lease must outlast the delivery.
		until := e.opts.Now().UTC().Add(e.opts.Lease)
		ok, err := e.db.RenewStreamLease(ctx, w.key, e.owner, until)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, errLost
		}
		w.leaseUntil = until
	}
	sendErr := Send(ctx, e.client, s, secret, b, e.opts.Now())
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	// The outcome is recorded even if ctx ends now.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := e.opts.Now().UTC()
	if sendErr == nil {
		until := now.Add(e.opts.Lease)
		ok, err := e.db.StreamDelivered(rctx, w.key, e.owner, s.Cursor, b.last(), now, until)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, errLost
		}
		w.leaseUntil = until
		if e.opts.Observer != nil {
			e.opts.Observer.Delivered(s.Type, len(b.Seqs))
		}
		return true, nil
	}
	failures := s.Failures + 1
	state := audit.StreamActive
	if failures >= e.opts.MaxAttempts {
		state = audit.StreamDead
	}
	msg := Describe(sendErr, e.opts.Timeout)
	next := now.Add(retryWait(sendErr, failures, e.opts.RetryBase, e.opts.RetryMax))
	recorded, err := e.db.StreamFailed(rctx, w.key, e.owner, failures, next, msg, state, now)
	if err != nil {
		return false, err
	}
	if e.opts.Observer != nil && recorded {
		e.opts.Observer.Failed(s.Type, FailureClass(sendErr), state == audit.StreamDead)
	}
	e.log.Info("streams: delivery failed", "account", s.AccountID, "stream", s.ID, "failures", failures, "state", state, "error", msg)
	return false, errLost
}

// Backoff is how long to wait after the nth failure in a row: base·2ⁿ⁻¹,
// at most max, less a random part of up to half of it, so that streams
// that failed together do not retry together.
func Backoff(n int, base, max time.Duration) time.Duration {
	d := max
	if n-1 < 32 && base<<(n-1) > 0 && base<<(n-1) < max {
		d = base << (n - 1)
	}
	return d - time.Duration(mrand.Int64N(int64(d/2)+1))
}

// retryWait is how long to wait before the next attempt after the nth
// failure in a row, err: the backoff, or longer when the destination
// answered 429 or 503 with a Retry-After asking for more, but never more
// than max, so that a destination cannot park a stream for days.
func retryWait(err error, n int, base, max time.Duration) time.Duration {
	d := Backoff(n, base, max)
	var st *StatusError
	if errors.As(err, &st) && st.RetryAfter > d {
		d = min(st.RetryAfter, max)
	}
	return d
}

// Test delivers a test batch to s (no events, a record that says it is a
// test where the format needs one, and the account's latest checkpoint
// when encoded is set), naming the service host (Options.Host): nil when
// the destination answered 2xx, else Describe's words.
func (p Policy) Test(ctx context.Context, s *audit.Stream, secret []byte, checkpoint json.RawMessage, host string, timeout time.Duration) error {
	b := &Batch{StreamID: s.ID, AccountID: s.AccountID, Checkpoint: checkpoint, Test: true, Host: host}
	c := p.Client(timeout)
	defer c.CloseIdleConnections()
	return Send(ctx, c, s, secret, b, time.Now())
}
