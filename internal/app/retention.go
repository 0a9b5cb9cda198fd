package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Retention (docs/retention.md): each account keeps its events for a
// period its owner sets, within the operator's bounds; Prune removes the
// older ones, oldest first, as a prefix of the log, while every proof of
// the rest stays valid, and records each prune in the log.

// Actions retention records.
const (
	// ActionRetentionChanged records an owner's change of the retention
	// period, with its before and after values.
	ActionRetentionChanged = "account.retention_changed"
	// ActionRetentionPruned records a prune: the seq range removed, the
	// cut-off time and the period, in its details and metadata.
	ActionRetentionPruned = "retention.pruned"
)

// retentionActor names the system actor of retention.pruned events.
const retentionActor = "retention"

// retentionJob is the name of the lease that lets one process prune at a
// time; pruneLease is how long it lasts unless renewed, which a prune does
// after the first batch that ends pruneRenew or more after the last
// renewal. A renewal is a transaction that waits for the disk, which on
// SQLite holds the one writer an append needs: renewing after every batch
// made it one of the longest waits of an append during a prune.
const (
	retentionJob = "retention"
	pruneLease   = 2 * time.Minute
	pruneRenew   = pruneLease / 4
)

// ErrPruneBusy is the answer to a prune while another process holds the
// retention lease.
var ErrPruneBusy = audit.Errorf(audit.ECONFLICT, "Another process is pruning; try again when it has finished.")

// effectiveDays returns the retention period that applies to an account
// whose own setting is days (nil: the operator's default), within the
// operator's bounds; 0 keeps events forever.
func (a *App) effectiveDays(days *int) int {
	d := a.cfg.RetentionDays
	if days != nil {
		d = *days
	}
	if hi := a.cfg.RetentionMaxDays; hi > 0 && (d == 0 || d > hi) {
		d = hi
	}
	if d > 0 && d < a.cfg.RetentionMinDays {
		d = a.cfg.RetentionMinDays
	}
	return d
}

// showRetention completes acct's retention for p: owners and admins see
// it, with the period that applies; other roles do not.
func (a *App) showRetention(p *Principal, acct *audit.Account) {
	if acct.Retention == nil || p.Authorize(audit.PermViewAuditLogs) != nil {
		acct.Retention = nil
		return
	}
	acct.Retention.EffectiveDays = a.effectiveDays(acct.Retention.Days)
	acct.Retention.DefaultDays = a.effectiveDays(nil)
}

// RetentionChange is a change of an account's retention period.
type RetentionChange struct {
	// Days is the new period in days; nil or 0 keeps events forever.
	Days *int
	// Default returns the account to the operator's default
	// (RETENTION_DAYS, within its bounds), whatever the default becomes;
	// Days must then be nil.
	Default bool
}

// SetRetention lets an owner set how long account id (p's own; any other
// is not found) keeps its events: a number of days within the operator's
// bounds (RETENTION_MIN_DAYS, RETENTION_MAX_DAYS), nil or 0 to keep them
// forever where the operator sets no maximum, or, with in.Default, the
// operator's default again. A change is recorded with its before and after
// values; no change records nothing. It returns the account as p sees it.
func (a *App) SetRetention(ctx context.Context, p *Principal, c Client, id int64, in RetentionChange) (*audit.Account, error) {
	if err := p.Authorize(audit.PermManageRetention); err != nil {
		return nil, err
	}
	if err := p.OwnAccount(id); err != nil {
		return nil, err
	}
	if in.Default {
		if in.Days != nil {
			return nil, audit.FieldError("retention_default", "Send retention_days (a period of the account's own) or retention_default: true (the service's default), not both.")
		}
		return a.resetRetention(ctx, p, c, id)
	}
	days := 0
	if in.Days != nil {
		days = *in.Days
	}
	lo, hi := a.cfg.RetentionMinDays, a.cfg.RetentionMaxDays
	switch {
	case days < 0:
		return nil, audit.FieldError("retention_days", "retention_days must be a number of days, or 0 or null to keep events forever.")
	case days == 0 && hi > 0:
		return nil, audit.FieldError("retention_days", "retention_days must be from %d to %d: this service keeps events at most %d days.", lo, hi, hi)
	case days > 0 && (days < lo || (hi > 0 && days > hi)):
		if hi > 0 {
			return nil, audit.FieldError("retention_days", "retention_days must be from %d to %d days.", lo, hi)
		}
		return nil, audit.FieldError("retention_days", "retention_days must be at least %d days, or 0 or null to keep events forever.", lo)
	case days > 36500:
		return nil, audit.FieldError("retention_days", "retention_days must be at most 36500 days (100 years), or 0 or null to keep events forever.")
	}
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		before, err := tx.SetRetentionDays(ctx, id, &days)
		if err != nil || (before != nil && *before == days) {
			return err
		}
		return a.record(ctx, tx, p, c, entry{on: accountResource(id), action: ActionRetentionChanged,
			details: fmt.Sprintf("Retention: retention_days: %s → %s", daysWords(a.effectiveDays(before)), daysWords(days))})
	})
	if err != nil {
		return nil, err
	}
	return a.Account(ctx, p, id)
}

// resetRetention returns account id to the operator's default, recording
// the change unless it already followed the default.
func (a *App) resetRetention(ctx context.Context, p *Principal, c Client, id int64) (*audit.Account, error) {
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		before, err := tx.SetRetentionDays(ctx, id, nil)
		if err != nil || before == nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{on: accountResource(id), action: ActionRetentionChanged,
			details: fmt.Sprintf("Retention: retention_days: %s → the service's default (%s)", daysWords(a.effectiveDays(before)), daysWords(a.effectiveDays(nil)))})
	})
	if err != nil {
		return nil, err
	}
	return a.Account(ctx, p, id)
}

// daysWords renders a retention period for an event's details.
func daysWords(days int) string {
	if days == 0 {
		return "forever"
	}
	return fmt.Sprintf("%d days", days)
}

// PruneOptions choose what Prune does.
type PruneOptions struct {
	// AccountID limits the prune to one account; 0 prunes every account.
	AccountID int64
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
}

// PruneResult is what a prune did to one account's log.
type PruneResult struct {
	AccountID int64
	Days      int       // the retention period applied
	Cutoff    time.Time // events created before it were due
	// From and To are the seqs removed (to be removed, in a dry run);
	// none when To < From.
	From, To int64
	// Recorded is the seq range the retention.pruned event recorded
	// (it may include a range an interrupted prune removed), none when
	// RecordedTo < RecordedFrom.
	RecordedFrom, RecordedTo int64
	Batches                  int
	// Yielded counts the batch attempts that rolled back to let another
	// transaction of the process have SQLite's one writer first.
	Yielded int
	Elapsed time.Duration
}

// Removed returns how many events the prune removed (would remove).
func (r PruneResult) Removed() int64 { return max(0, r.To-r.From+1) }

// Prune removes the events older than each account's retention period
// (one account's, with opts.AccountID), in transactions of at most
// PRUNE_BATCH events (fewer while they take long: pruneBatchTarget), and records each account's prune as a
// retention.pruned event. One process prunes at a time: Prune takes the
// retention lease and renews it as it goes (pruneRenew), and fails with ErrPruneBusy
// while another process holds it. A dry run takes no lease and changes
// nothing. progress, when set, is told each account's result as it is
// done. Prune stops when ctx ends, between batches; what it removed by
// then stays removed and recorded.
func (a *App) Prune(ctx context.Context, opts PruneOptions, progress func(PruneResult)) ([]PruneResult, error) {
	var logs []*sqlstore.LogPrune
	if opts.AccountID != 0 {
		lp, err := a.store.LogPrune(ctx, opts.AccountID)
		if err != nil {
			return nil, notFoundAs(err, ErrAccountNotFound)
		}
		logs = []*sqlstore.LogPrune{lp}
	} else {
		var err error
		if logs, err = a.store.LogPrunes(ctx); err != nil {
			return nil, err
		}
	}
	holder := rand.Text()
	renewed := time.Now()
	if !opts.DryRun {
		ok, err := a.store.AcquireLease(ctx, retentionJob, holder, pruneLease)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrPruneBusy
		}
		defer a.store.ReleaseLease(context.WithoutCancel(ctx), retentionJob, holder)
	}
	batch := a.cfg.PruneBatch
	if batch <= 0 {
		batch = 500
	}
	var out []PruneResult
	for _, lp := range logs {
		days := a.effectiveDays(lp.RetentionDays)
		if days == 0 && lp.Recorded >= lp.Pruned {
			continue
		}
		res := PruneResult{AccountID: lp.AccountID, Days: days, From: lp.Pruned + 1, To: lp.Pruned, RecordedFrom: 1}
		if days > 0 {
			res.Cutoff = a.now().UTC().Add(-time.Duration(days) * 24 * time.Hour).Truncate(time.Microsecond)
		}
		start := time.Now()
		var err error
		if opts.DryRun {
			if days > 0 {
				_, res.To, err = a.store.PrunePreview(ctx, lp.AccountID, res.Cutoff, batch)
			}
		} else {
			err = a.pruneAccount(ctx, &res, holder, &renewed, batch)
		}
		res.Elapsed = time.Since(start)
		if err != nil {
			return out, err
		}
		if res.Removed() == 0 && res.RecordedTo < res.RecordedFrom {
			continue
		}
		out = append(out, res)
		if progress != nil {
			progress(res)
		}
	}
	return out, nil
}

// pruneBatchTarget is how long a prune transaction aims to take: appends
// to the account wait for at most about that long. Batches start at
// PRUNE_BATCH events, halve (down to minPruneBatch) while they take longer than twice this, and
// grow back to PRUNE_BATCH while they take less than half of it, so a
// slow or busy database gets smaller transactions, not longer waits
// (nextPruneSize).
const pruneBatchTarget = 25 * time.Millisecond

// nextPruneSize returns how many events the batch after step may remove,
// step having been given size of at most batch (PRUNE_BATCH). A SQLite
// batch that rolled back attempts for this process's appends
// (step.Yielded) committed one of fewer events (step.Limit): the next
// starts there, not at size again, since the appends that interrupted it
// will likely interrupt a batch as large; it grows back, like any batch,
// once one that no append interrupted took less than half the target.
// Otherwise the size halves while batches take longer than twice
// pruneBatchTarget, never below minPruneBatch (or batch, when smaller).
func nextPruneSize(size, batch int, step sqlstore.PruneStep) int {
	least := min(batch, minPruneBatch)
	switch {
	case step.Yielded > 0:
		return max(least, min(size, step.Limit))
	case step.Took > 2*pruneBatchTarget:
		return max(least, size/2)
	case step.Took < pruneBatchTarget/2:
		return min(batch, size*2)
	}
	return size
}

// minPruneBatch is as far as a batch shrinks: a batch's fixed cost (its
// transaction, the log head) must never leave a prune removing one event
// at a time.
const minPruneBatch = 64

// pruneAccount removes res's account's due events batch by batch, renewing
// holder's lease once pruneRenew has passed since renewed, then records
// what was removed.
func (a *App) pruneAccount(ctx context.Context, res *PruneResult, holder string, renewed *time.Time, batch int) error {
	size := batch
	for res.Days > 0 {
		if err := ctx.Err(); err != nil {
			break // record what was removed
		}
		step, err := a.store.PruneBatch(ctx, res.AccountID, res.Cutoff, size)
		size = nextPruneSize(size, batch, step)
		if errors.Is(err, sqlstore.ErrPruneRaced) {
			return ErrPruneBusy
		} else if err != nil {
			return err
		}
		res.Yielded += step.Yielded
		if step.Removed() > 0 {
			res.To = step.To
			res.Batches++
		}
		if step.Done || step.Removed() == 0 {
			break
		}
		if time.Since(*renewed) < pruneRenew {
			continue
		}
		*renewed = time.Now()
		if ok, err := a.store.AcquireLease(ctx, retentionJob, holder, pruneLease); err != nil || !ok {
			if err == nil {
				err = ErrPruneBusy
			}
			return errors.Join(err, a.recordPrune(context.WithoutCancel(ctx), res))
		}
	}
	return a.recordPrune(context.WithoutCancel(ctx), res)
}

// recordPrune records the pruned events that no retention.pruned event has
// recorded yet, in one event.
func (a *App) recordPrune(ctx context.Context, res *PruneResult) error {
	res.RecordedFrom, res.RecordedTo = 1, 0
	return a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		from, to, at, err := tx.ClaimPruneRecord(ctx, res.AccountID)
		if err != nil || to < from {
			return err
		}
		res.RecordedFrom, res.RecordedTo = from, to
		meta := map[string]any{"first_seq": from, "last_seq": to, "pruned_at": at.UTC().Format(timeLayout), "retention_days": res.Days}
		details := fmt.Sprintf("Retention removed events seq %d to %d", from, to)
		if !res.Cutoff.IsZero() {
			meta["cutoff"] = res.Cutoff.Format(timeLayout)
			details += fmt.Sprintf(", created before %s (retention %s)", res.Cutoff.Format(timeLayout), daysWords(res.Days))
		}
		metadata, err := json.Marshal(meta)
		if err != nil {
			return err
		}
		e := &audit.Event{AccountID: res.AccountID, Action: ActionRetentionPruned, ResourceType: auditLogResource.typ,
			Details: details, Metadata: metadata}
		OperatorPrincipal(res.AccountID, retentionActor).setActor(e)
		_, err = tx.AppendEvents(ctx, a.signer, e)
		return err
	})
}

// RunRetention prunes every account every interval (PRUNE_INTERVAL) until
// ctx ends, logging what each run removed; serve runs it. A run that finds
// another process pruning skips its turn.
func (a *App) RunRetention(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := a.Prune(ctx, PruneOptions{}, func(r PruneResult) {
			a.log.Info("retention pruned", "account_id", r.AccountID, "from_seq", r.From, "to_seq", r.To,
				"removed", r.Removed(), "cutoff", r.Cutoff, "batches", r.Batches, "elapsed", r.Elapsed)
		})
		switch {
		case errors.Is(err, ErrPruneBusy):
			a.log.Debug("retention: another process is pruning")
		case err != nil && ctx.Err() == nil:
			a.log.Error("retention", "err", err, "accounts_done", len(res))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
