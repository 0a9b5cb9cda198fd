package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
	"github.com/auditlog/auditlog/internal/witness"
	"golang.org/x/mod/sumdb/note"
)

// The service's side of witnessing (docs/verification.md §11): after each
// new checkpoint, a cosigner asks every configured witness to cosign the
// account's latest checkpoint, proving consistency from the size that
// witness last cosigned, and stores the cosignatures; the checkpoint reads
// then serve them with the note. A refusal (the witness saw a checkpoint
// that does not extend the one it cosigned) is recorded once, as a
// witness.refused event in the account's own log, logged as an error, and
// reported by VerifyLog.
//
// Nothing waits on a witness: appends only mark the account as having a
// newer checkpoint. Per witness, one goroutine dispatches the marked
// accounts after a short batching delay, with at most one request in
// flight per account (the latest checkpoint at the time of the request
// wins; marks made meanwhile send the then-latest one next) and retries
// with exponential backoff when a witness cannot be reached. Many serve
// processes on one database may ask the same witness about the same
// account: the witness serializes its answers, a process that lost the
// race gets a 409 with the witness's size and proves from it, and the
// stored cosignature and refusal rows are keyed so that each is stored
// (and each refusal reported) once.

// Witness is a witness the service asks to cosign its checkpoints.
type Witness struct {
	URL      string
	ID       string // the key name and key ID, "<name>+<8 hex digits>": how the store names it
	verifier *witness.Verifier
}

// NewWitnesses parses the configured witnesses (WITNESSES).
func NewWitnesses(ws []config.Witness) ([]*Witness, error) {
	var out []*Witness
	for _, w := range ws {
		v, err := witness.NewVerifier(w.Key)
		if err != nil {
			return nil, fmt.Errorf("WITNESSES: %w", err)
		}
		out = append(out, &Witness{URL: w.URL, ID: fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash()), verifier: v})
	}
	return out, nil
}

// Cosigner timing. batchDelay gathers the appends of a burst into one
// request per account; the backoff doubles from retryMin to retryMax.
const (
	batchDelay       = 50 * time.Millisecond
	retryMin         = time.Second
	retryMax         = 5 * time.Minute
	sweepEvery       = 5 * time.Minute
	witnessTimeout   = 10 * time.Second
	maxInFlight      = 8 // requests in flight per witness, over all accounts
	exportCosignWait = 2 * time.Second
)

// The results of a request to a witness (Deps.OnWitness).
const (
	WitnessCosigned = "cosigned" // it cosigned the checkpoint
	WitnessRefused  = "refused"  // the log does not extend what it cosigned before
	WitnessFailed   = "failed"   // it could not be reached or answered an error: retried
)

// ActionWitnessRefused is the action of the event recorded in an account
// when a witness refuses to cosign its checkpoint.
const ActionWitnessRefused = "witness.refused"

// witnessMonitor names the system actor of witness.refused events.
const witnessMonitor = "auditlog witness monitor"

// cosigner asks the witnesses for cosignatures; see above.
type cosigner struct {
	a      *App
	client *http.Client
	queues []*witnessQueue
	quorum int
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// witnessQueue is one witness's accounts to submit.
type witnessQueue struct {
	w     *Witness
	mu    sync.Mutex
	dirty map[int64]bool      // accounts with a checkpoint to submit
	busy  map[int64]bool      // accounts with a request in flight
	retry map[int64]*attempts // accounts whose last request failed
	wake  chan struct{}       // capacity 1
}

type attempts struct {
	n  int
	at time.Time // not before
}

// startCosigner starts the cosigner when witnesses are configured.
func (a *App) startCosigner(ws []*Witness, quorum int) {
	if len(ws) == 0 {
		return
	}
	if quorum <= 0 || quorum > len(ws) {
		quorum = len(ws)
	}
	c := &cosigner{a: a, client: &http.Client{Timeout: witnessTimeout}, quorum: quorum}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for _, w := range ws {
		q := &witnessQueue{w: w, dirty: map[int64]bool{}, busy: map[int64]bool{}, retry: map[int64]*attempts{}, wake: make(chan struct{}, 1)}
		c.queues = append(c.queues, q)
		c.wg.Add(1)
		go c.run(q)
	}
	a.cos = c
}

// stop stops the cosigner and waits for its requests to end.
func (c *cosigner) stop() {
	c.cancel()
	c.wg.Wait()
}

// witnessIDs returns the configured witnesses' IDs.
func (c *cosigner) witnessIDs() []string {
	ids := make([]string, len(c.queues))
	for i, q := range c.queues {
		ids[i] = q.w.ID
	}
	return ids
}

// LogsCommitted tells the cosigner that the accounts of the events have new
// checkpoints. It never blocks: the store's OnCommit may call it.
func (a *App) LogsCommitted(events []*audit.Event) {
	if a.cos == nil {
		return
	}
	seen := map[int64]bool{}
	for _, e := range events {
		if !seen[e.AccountID] {
			seen[e.AccountID] = true
			a.cos.mark(e.AccountID)
		}
	}
}

// mark queues the account at every witness.
func (c *cosigner) mark(accountID int64) {
	for _, q := range c.queues {
		q.mu.Lock()
		q.dirty[accountID] = true
		q.mu.Unlock()
		q.poke()
	}
}

func (q *witnessQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run dispatches one witness's queue until the cosigner stops.
func (c *cosigner) run(q *witnessQueue) {
	defer c.wg.Done()
	var inflight sync.WaitGroup
	defer inflight.Wait()
	c.sweep(q)
	tick := time.NewTicker(retryMin)
	defer tick.Stop()
	lastSweep := time.Now()
	slots := make(chan struct{}, maxInFlight)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-q.wake:
		case <-tick.C:
			if time.Since(lastSweep) >= sweepEvery {
				c.sweep(q)
				lastSweep = time.Now()
			}
		}
		select { // gather a burst
		case <-c.ctx.Done():
			return
		case <-time.After(batchDelay):
		}
		now := time.Now()
		q.mu.Lock()
		var todo []int64
		for id := range q.dirty {
			if q.busy[id] || (q.retry[id] != nil && now.Before(q.retry[id].at)) {
				continue
			}
			todo = append(todo, id)
		}
		q.mu.Unlock()
	dispatch:
		for _, id := range todo {
			select {
			case slots <- struct{}{}:
			default:
				q.poke() // the rest at the next round
				break dispatch
			}
			q.mu.Lock()
			delete(q.dirty, id)
			q.busy[id] = true
			q.mu.Unlock()
			inflight.Add(1)
			go func(id int64) {
				defer inflight.Done()
				err := c.cosign(c.ctx, q, id)
				if err != nil && c.ctx.Err() == nil {
					c.observe(q, WitnessFailed)
				}
				<-slots
				q.mu.Lock()
				delete(q.busy, id)
				if err != nil && c.ctx.Err() == nil {
					r := q.retry[id]
					if r == nil {
						r = &attempts{}
						q.retry[id] = r
					}
					r.n++
					wait := min(retryMin<<min(r.n-1, 20), retryMax)
					r.at = time.Now().Add(wait)
					q.dirty[id] = true
					c.a.log.Warn("witness: could not get a cosignature; retrying", "witness", q.w.ID, "url", q.w.URL,
						"account_id", id, "attempt", r.n, "retry_in", wait, "err", err)
				} else {
					delete(q.retry, id)
				}
				q.mu.Unlock()
				q.poke()
			}(id)
		}
	}
}

// sweep queues every account whose log grew past what the witness is known
// to have cosigned: after a start, or after a request lost with a process.
func (c *cosigner) sweep(q *witnessQueue) {
	var after int64
	for c.ctx.Err() == nil {
		ids, err := c.a.store.UncosignedLogs(c.ctx, q.w.ID, after, 1000)
		if err != nil {
			if c.ctx.Err() == nil {
				c.a.log.Warn("witness: could not list the logs to submit", "witness", q.w.ID, "err", err)
			}
			return
		}
		q.mu.Lock()
		for _, id := range ids {
			q.dirty[id] = true
		}
		q.mu.Unlock()
		if len(ids) < 1000 {
			break
		}
		after = ids[len(ids)-1]
	}
	q.poke()
}

// cosign asks the witness to cosign the account's latest checkpoint and
// stores its cosignature, or records its refusal. An error means the
// request should be retried.
func (c *cosigner) cosign(ctx context.Context, q *witnessQueue, accountID int64) error {
	cp, err := c.a.store.Checkpoint(ctx, accountID, 0)
	if errors.Is(err, audit.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	for _, w := range cp.CosignedBy {
		if w == q.w.ID {
			return nil
		}
	}
	old, err := c.a.store.LastCosigned(ctx, accountID, q.w.ID)
	if err != nil {
		return err
	}
	if old > cp.Size {
		old = 0 // the witness answers with its size
	}
	for range 3 {
		var proof []tlog.Hash
		if old > 0 && old < cp.Size {
			p, err := c.a.store.ProveConsistency(ctx, accountID, old, cp.Size)
			if err != nil {
				return err
			}
			proof = p.Proof
		}
		lines, err := witness.Submit(ctx, c.client, q.w.URL, old, proof, []byte(cp.LogNote))
		var conflict *witness.ConflictError
		var refused *witness.RefusedError
		switch {
		case errors.As(err, &conflict) && conflict.Size > cp.Size:
			// Another process may have submitted a newer checkpoint;
			// else the log is shorter than a checkpoint the witness
			// cosigned: it was rolled back.
			latest, err := c.a.store.Checkpoint(ctx, accountID, 0)
			if err != nil {
				return err
			}
			if latest.Size >= conflict.Size {
				return nil
			}
			return c.refused(ctx, q, cp, conflict.Size, http.StatusConflict,
				fmt.Sprintf("the witness has cosigned a checkpoint of size %d, but the log holds %d events: the log was rolled back or rewritten", conflict.Size, latest.Size))
		case errors.As(err, &conflict):
			old = conflict.Size
			continue
		case errors.As(err, &refused) && (refused.Status == http.StatusConflict || refused.Status == http.StatusUnprocessableEntity):
			return c.refused(ctx, q, cp, old, refused.Status, refused.Msg)
		case err != nil:
			return err
		}
		line, err := cosignatureLine(cp.LogNote, lines, q.w.verifier)
		if err != nil {
			return fmt.Errorf("witness %s: %w", q.w.ID, err)
		}
		if err := c.a.store.SaveCosignature(ctx, accountID, cp.Size, q.w.ID, line); err != nil {
			return err
		}
		c.observe(q, WitnessCosigned)
		return nil
	}
	return fmt.Errorf("witness %s: the size it cosigned kept changing", q.w.ID)
}

// observe tells Deps.OnWitness of one answer of q's witness.
func (c *cosigner) observe(q *witnessQueue, result string) {
	if c.a.onWitness != nil {
		c.a.onWitness(q.w.ID, result)
	}
}

// cosignatureLine checks that lines, a witness's answer, hold a valid
// cosignature of the note by v, and returns that signature line alone.
func cosignatureLine(logNote string, lines []byte, v *witness.Verifier) (string, error) {
	n, err := note.Open(append([]byte(logNote), lines...), note.VerifierList(v))
	if err != nil {
		return "", fmt.Errorf("its answer holds no valid cosignature of the checkpoint: %w", err)
	}
	for _, l := range strings.SplitAfter(string(lines), "\n") {
		for _, s := range n.Sigs {
			if strings.HasPrefix(l, "— "+s.Name+" ") && s.Hash == v.KeyHash() && strings.HasSuffix(l, "\n") {
				return l, nil
			}
		}
	}
	return "", errors.New("its answer holds no cosignature line")
}

// refused records a witness's refusal of the checkpoint cp, once per
// witness and size it had cosigned: a witness.refused event in the
// account's log and a row the verification reports. It logs an error.
func (c *cosigner) refused(ctx context.Context, q *witnessQueue, cp *sqlstore.Checkpoint, cosignedSize int64, status int, reason string) error {
	c.observe(q, WitnessRefused)
	r := sqlstore.WitnessRefusal{AccountID: cp.AccountID, Witness: q.w.ID, CosignedSize: cosignedSize, TreeSize: cp.Size, Status: status, Reason: reason}
	details := fmt.Sprintf("Witness %s refused to cosign the checkpoint of size %d (it last cosigned size %d): %d %s", q.w.ID, cp.Size, cosignedSize, status, reason)
	err := c.a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.InsertWitnessRefusal(ctx, r); err != nil {
			return err
		}
		return c.a.record(ctx, tx, OperatorPrincipal(cp.AccountID, witnessMonitor), Client{}, entry{auditLogResource, ActionWitnessRefused, details})
	})
	if errors.Is(err, tlog.ErrFork) {
		// Signing is stopped for the account: keep the refusal alone.
		err = c.a.store.Update(ctx, func(tx *sqlstore.Tx) error { return tx.InsertWitnessRefusal(ctx, r) })
	}
	if errors.Is(err, sqlstore.ErrRefusalRecorded) {
		return nil
	}
	if err != nil {
		return err
	}
	c.a.log.Error("witness refused a checkpoint: the log may have been rewritten or rolled back",
		"account_id", cp.AccountID, "witness", q.w.ID, "tree_size", cp.Size, "cosigned_size", cosignedSize, "status", status, "reason", reason)
	return nil
}

// exportCheckpoint returns the checkpoint an export carries: the latest,
// with its cosignatures. With witnesses configured it asks them to cosign
// the latest checkpoint and waits a little for the quorum; failing that,
// it takes the latest checkpoint that the quorum cosigned, if any.
func (a *App) exportCheckpoint(ctx context.Context, accountID int64) (*sqlstore.Checkpoint, error) {
	cp, err := a.store.Checkpoint(ctx, accountID, 0)
	if err != nil || a.cos == nil || len(cp.CosignedBy) >= a.cos.quorum {
		return cp, err
	}
	a.cos.mark(accountID)
	deadline := time.Now().Add(exportCosignWait)
	for {
		c, err := a.store.LatestCosigned(ctx, accountID, a.cos.witnessIDs(), a.cos.quorum)
		switch {
		case err == nil && c.Size >= cp.Size:
			return c, nil
		case err != nil && !errors.Is(err, audit.ErrNotFound):
			return nil, err
		case time.Now().After(deadline):
			if err == nil {
				return c, nil
			}
			return cp, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WitnessStates returns, for p's account, the latest size each configured
// witness cosigned and its refusal since then, if any (a refusal means the
// stored log does not extend what the witness saw); nil without witnesses.
func (a *App) WitnessStates(ctx context.Context, p *Principal) ([]sqlstore.WitnessState, error) {
	if err := p.Authorize(audit.PermViewAuditLogs); err != nil {
		return nil, err
	}
	if a.cos == nil {
		return nil, nil
	}
	return a.store.WitnessStates(ctx, p.AccountID, a.cos.witnessIDs())
}
