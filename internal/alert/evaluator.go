package alert

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
	DefaultSweep = 5 * time.Second
	// page is how many selected events one read returns.
	page = 500
	// retryAfter is how long the evaluator waits before it evaluates an
	// account again after a failure.
	retryAfter = time.Second
	// maxFired bounds the evaluator's memory of the alerts it raised.
	maxFired = 10_000
)

// Raise records an alert: its row and its alert.triggered event, in one
// transaction. It returns sqlstore.ErrAlertRaised when the rule raised it
// already (this process or another). App.RaiseAlert is one.
type Raise func(ctx context.Context, r *audit.AlertRule, a *audit.Alert) error

// Options tune an Evaluator; the zero value takes the defaults.
type Options struct {
	// Sweep is how often the evaluator looks for the rules of every
	// account that are behind their log: the events other processes
	// committed, and what a process that stopped left; DefaultSweep when 0.
	Sweep  time.Duration
	Logger *slog.Logger
}

// Evaluator evaluates the enabled alert rules over the events committed,
// in the background. Create one with New, pass it each commit
// (Committed), and Close it before the store.
type Evaluator struct {
	db    *sqlstore.DB
	raise Raise
	opts  Options
	log   *slog.Logger

	mu      sync.Mutex
	pending map[int64]bool
	// fired remembers the alerts raised (by any process), so that the
	// events that follow in the same window cost no count.
	fired map[firedKey]bool

	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type firedKey struct {
	account, rule int64
	// created tells apart a rule deleted and one created with its ID.
	created int64
	group   string
	bucket  int64
}

// New returns an evaluator over db that records alerts with raise, and
// starts its goroutine.
func New(db *sqlstore.DB, raise Raise, opts Options) *Evaluator {
	if opts.Sweep <= 0 {
		opts.Sweep = DefaultSweep
	}
	e := &Evaluator{db: db, raise: raise, opts: opts, log: opts.Logger,
		pending: map[int64]bool{}, fired: map[firedKey]bool{}, wake: make(chan struct{}, 1)}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.wg.Add(1)
	go e.run()
	return e
}

// Committed tells the evaluator that events were committed. It is (part
// of) the store's OnCommit hook: it does not block and reads nothing.
func (e *Evaluator) Committed(events []*audit.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range events {
		e.pending[ev.AccountID] = true
	}
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Close stops the evaluator. What it had not evaluated yet stays behind
// the rules' positions, for the next process to evaluate.
func (e *Evaluator) Close() {
	e.cancel()
	e.wg.Wait()
}

// run evaluates the accounts committed to, and sweeps, until Close.
func (e *Evaluator) run() {
	defer e.wg.Done()
	sweep := time.NewTicker(e.opts.Sweep)
	defer sweep.Stop()
	for {
		var accounts []int64
		select {
		case <-e.ctx.Done():
			return
		case <-e.wake:
			e.mu.Lock()
			for a := range e.pending {
				accounts = append(accounts, a)
			}
			e.pending = map[int64]bool{}
			e.mu.Unlock()
			if len(accounts) == 0 {
				continue
			}
		case <-sweep.C:
			// accounts nil: every account's
		}
		if err := e.Evaluate(e.ctx, accounts); err != nil && e.ctx.Err() == nil {
			e.log.Warn("alerts: could not evaluate the rules; retrying", "err", err)
			time.AfterFunc(retryAfter, func() {
				e.mu.Lock()
				defer e.mu.Unlock()
				for _, a := range accounts {
					e.pending[a] = true
				}
				select {
				case e.wake <- struct{}{}:
				default:
				}
			})
		}
	}
}

// Evaluate evaluates the enabled rules of the accounts (nil: of every
// account) over the events after their positions, raises the alerts they
// call for and moves the positions on. It is safe to run in several
// processes at once: each alert is raised once.
func (e *Evaluator) Evaluate(ctx context.Context, accounts []int64) error {
	due, err := e.db.DueAlertRules(ctx, accounts)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range due {
		if err := e.evaluate(ctx, d.Rule, d.Head); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// evaluate evaluates r over the events after its position, up to head.
func (e *Evaluator) evaluate(ctx context.Context, r *audit.AlertRule, head int64) error {
	q, err := Select(r)
	if err != nil {
		// Stored rules were validated: this cannot happen.
		e.log.Error("alerts: a stored rule does not compile", "account", r.AccountID, "rule", r.ID, "err", err)
		return nil
	}
	for from := r.Position; from < head; {
		events, err := e.db.EventsAfter(ctx, r.AccountID, q, from, head, page)
		if err != nil {
			return err
		}
		to := head
		if len(events) == page {
			to = events[len(events)-1].Seq
		}
		for _, ev := range events {
			if err := e.check(ctx, r, q, ev); err != nil {
				// Evaluated up to the event before: the retry starts
				// with this one.
				return errors.Join(err, e.db.AdvanceAlertRule(ctx, r.AccountID, r.ID, ev.Seq-1))
			}
		}
		if err := e.db.AdvanceAlertRule(ctx, r.AccountID, r.ID, to); err != nil {
			return err
		}
		from = to
	}
	return nil
}

// check raises the alert that the selected event ev calls for under r, if
// any.
func (e *Evaluator) check(ctx context.Context, r *audit.AlertRule, q *query.Query, ev *audit.Event) error {
	key, groupQ, ok := group(r.GroupBy, ev)
	if !ok {
		return nil
	}
	a := &audit.Alert{AccountID: r.AccountID, RuleID: r.ID, GroupKey: key, Bucket: ev.Seq, Count: 1, Trigger: ev}
	if r.Window > 0 {
		a.Bucket, a.WindowStart = bucket(ev.CreatedAt, r.Window)
	}
	fk := firedKey{r.AccountID, r.ID, r.CreatedAt.UnixMicro(), key, a.Bucket}
	if r.Window > 0 && e.wasFired(fk) {
		return nil
	}
	if r.Threshold > 0 {
		n, err := e.db.CountEvents(ctx, r.AccountID, q.And(groupQ).And(within(ev.CreatedAt, r.Window)), ev.Seq)
		if err != nil {
			return err
		}
		if n <= int64(r.Threshold) {
			return nil
		}
		a.Count = n
	}
	err := e.raise(ctx, r, a)
	if err != nil && !errors.Is(err, sqlstore.ErrAlertRaised) {
		return err
	}
	if r.Window > 0 {
		e.markFired(fk)
	}
	return nil
}

func (e *Evaluator) wasFired(k firedKey) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fired[k]
}

func (e *Evaluator) markFired(k firedKey) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.fired) >= maxFired {
		// Forgetting costs a count and a refused insert, no second alert.
		e.fired = map[firedKey]bool{}
	}
	e.fired[k] = true
}
