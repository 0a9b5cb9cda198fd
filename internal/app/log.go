package app

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// The verifiable log's reads: checkpoints, proofs, the server-side
// verification and the self-proving export. Each is scoped to the caller's
// account and needs PermViewAuditLogs (an API key's events:read scope).

// Errors of the log's reads.
var (
	// ErrNoCheckpoint means the account's log has no checkpoint of the
	// size asked for.
	ErrNoCheckpoint = audit.Errorf(audit.ENOTFOUND, "No checkpoint of that size: checkpoints exist only at the sizes the log was signed at.")
	// ErrEventNotFound means the account has no event with the ID.
	ErrEventNotFound = audit.Errorf(audit.ENOTFOUND, "Audit log entry not found.")
)

// notFoundAs replaces a not-found error with a more precise one.
func notFoundAs(err, replacement error) error {
	if errors.Is(err, audit.ErrNotFound) {
		return replacement
	}
	return err
}

// VerifierKey returns the public key that checks every checkpoint the
// service signs, in the signed-note verifier key format, and its name.
// Anyone may have it.
func (a *App) VerifierKey() (key, name string) { return a.signer.VerifierKey(), a.signer.Name() }

// Origin returns the name of an account's log, the first line of each of
// its checkpoints.
func (a *App) Origin(accountID int64) string { return tlog.Origin(a.signer.Name(), accountID) }

// Checkpoint returns p's account's signed checkpoint of the given tree
// size, or the latest when size is 0.
func (a *App) Checkpoint(ctx context.Context, p *Principal, size int64) (*sqlstore.Checkpoint, error) {
	if err := p.authorizeFeature(FeatureVerify); err != nil {
		return nil, err
	}
	c, err := a.store.Checkpoint(ctx, p.AccountID, size)
	return c, notFoundAs(err, ErrNoCheckpoint)
}

// ProveEvent returns the proof that the event with the given ID is in p's
// account's log at the checkpoint of the given size (the latest when size
// is 0).
func (a *App) ProveEvent(ctx context.Context, p *Principal, eventID, size int64) (*sqlstore.InclusionProof, error) {
	if err := p.authorizeFeature(FeatureVerify); err != nil {
		return nil, err
	}
	if err := a.checkNarrowed(ctx, p, eventID); err != nil {
		return nil, err
	}
	if _, err := a.store.Event(ctx, p.AccountID, eventID); err != nil {
		return nil, notFoundAs(err, ErrEventNotFound)
	}
	proof, err := a.store.ProveEvent(ctx, p.AccountID, eventID, size)
	return proof, notFoundAs(err, ErrNoCheckpoint)
}

// ProveConsistency returns the proof that p's account's log of size from
// is a prefix of its log of size to (the latest checkpoint's when to is 0),
// for any 1 ≤ from ≤ to ≤ the log's size, with the signed checkpoints of
// the two sizes where they exist.
func (a *App) ProveConsistency(ctx context.Context, p *Principal, from, to int64) (*sqlstore.ConsistencyProof, error) {
	if err := p.Authorize(audit.PermViewAuditLogs); err != nil {
		return nil, err
	}
	switch {
	case from == 0:
		return nil, audit.FieldError("from", "from is required: the size of an earlier tree of the log, such as a checkpoint you kept.")
	case to != 0 && from > to:
		return nil, audit.FieldError("from", "from must not be larger than to.")
	}
	proof, err := a.store.ProveConsistency(ctx, p.AccountID, from, to)
	return proof, notFoundAs(err, ErrNoCheckpoint)
}

// VerifyLog re-checks p's account's whole stored log with the service's
// verifier key. A log that fails a check is a report with a Failure, not
// an error.
func (a *App) VerifyLog(ctx context.Context, p *Principal) (*tlog.Report, error) {
	if err := p.Authorize(audit.PermViewAuditLogs); err != nil {
		return nil, err
	}
	keys := a.signer.VerifierKeys()
	rep, err := a.store.VerifyLog(ctx, p.AccountID, keys[0], keys[1:]...)
	if a.onVerify != nil {
		switch {
		case err != nil:
			a.onVerify(VerifyError)
		case rep.Failure != nil:
			a.onVerify(VerifyFailed)
		default:
			a.onVerify(VerifyOK)
		}
	}
	return rep, err
}

// The results of a verification of a stored log (Deps.OnVerify).
const (
	VerifyOK     = "ok"     // the log checked out
	VerifyFailed = "failed" // the log failed a check
	VerifyError  = "error"  // it could not be checked
)

// timeLayout renders times as the API does: RFC 3339, UTC, microseconds.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// FilterParams returns the filter as the query parameters that select it,
// nil when it selects everything: how an export's header and its audit
// record name the selection.
func FilterParams(f audit.EventFilter) map[string]string {
	m := map[string]string{}
	if f.UserID != 0 {
		m["user_id"] = strconv.FormatInt(f.UserID, 10)
	}
	if f.Action != "" {
		m["action"] = f.Action
	}
	if f.ResourceType != "" {
		m["resource_type"] = f.ResourceType
	}
	if !f.Start.IsZero() {
		m["start_date"] = f.Start.UTC().Format(timeLayout)
	}
	if !f.End.IsZero() {
		m["end_date"] = f.End.UTC().Format(timeLayout)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// SigningKey is one of the log's checkpoint signing keys, by its public
// verifier key, as GET /api/verifier-key lists them.
type SigningKey struct {
	VerifierKey string
	Current     bool // the key that signs new checkpoints
	// From is when the service first signed with the key, Until when the
	// next key took over; each is zero when not known (Until always for
	// the current key).
	From, Until time.Time
}

// SigningKeys returns the current signing key and the previous ones
// (PREVIOUS_VERIFIER_KEYS), newest first, with the times the service
// noted for them. Anyone may have them: each verifies the checkpoints it
// signed, which keep naming it after a rotation.
func (a *App) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	dates, err := a.store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []SigningKey
	for i, k := range a.signer.VerifierKeys() {
		out = append(out, SigningKey{VerifierKey: k, Current: i == 0, From: dates[k]})
	}
	for i := range out {
		if out[i].Current || out[i].From.IsZero() {
			continue
		}
		for _, o := range out {
			if o.From.After(out[i].From) && (out[i].Until.IsZero() || o.From.Before(out[i].Until)) {
				out[i].Until = o.From
			}
		}
	}
	slices.SortStableFunc(out[1:], func(x, y SigningKey) int { return y.From.Compare(x.From) })
	return out, nil
}
