package tlog

import (
	"fmt"

	"github.com/auditlog/auditlog/internal/audit"
)

// Failure locates the first problem a verification found in a log.
type Failure struct {
	Index  int64 // 0-based leaf index (seq-1) where it was found; -1 when not tied to one
	Reason string
}

// Error describes the failure with its place in the log.
func (f *Failure) Error() string {
	if f.Index >= 0 {
		return fmt.Sprintf("log index %d (seq %d): %s", f.Index, f.Index+1, f.Reason)
	}
	return f.Reason
}

func failAt(index int64, format string, args ...any) *Failure {
	return &Failure{Index: index, Reason: fmt.Sprintf(format, args...)}
}

// SignedCheckpoint is a checkpoint as a log keeps it or an export carries
// it: the size and root it claims, beside the signed note that vouches for
// them.
type SignedCheckpoint struct {
	Size int64
	Root Hash
	Note []byte
}

// WalkOptions are the checks a caller plugs into a Walker.
type WalkOptions struct {
	// Checkpoints returns the log's checkpoints one at a time in size
	// order, and nil after the last. Each is met when the walk reaches its
	// size. Nil means the walk meets no checkpoint.
	Checkpoints func() (*SignedCheckpoint, error)
	// Leaf, when set, is called with each event's leaf index and leaf hash
	// once the event's own checks passed: the stored log checks its stored
	// tree hashes there, a filtered export each event's inclusion proof.
	Leaf func(index int64, leaf Hash) (*Failure, error)
	// PreviousKeys are verifier keys (of the same name) that signed the
	// log's checkpoints before a key rotation: a checkpoint signed by one
	// of them verifies too.
	PreviousKeys []string
	// Sparse walks a subset of the log in seq order (a filtered export):
	// seq need only increase, and no tree is recomputed, so no checkpoint
	// is met.
	Sparse bool
}

// A Walker checks one account's log event by event, in seq order. It is the
// one verification of a log: the server's check of the stored log
// (VerifyStored, GET /api/audit-logs/verify) and the offline verifier of
// export files (auditlog verify) both feed it their events, so the two can
// never disagree on what a valid log is. For each event it checks the seq
// order, the personal data against the commitment (when the event has its
// salt; an erased event must hold no personal data), and the fields against
// the leaf hash; it recomputes the tree, and when the log reaches a
// checkpoint's size it checks the checkpoint's signature, origin, size and
// root. What only one caller has (the stored tree hashes, the log head, an
// export's header, end line and inclusion proofs) plugs in through
// WalkOptions or is checked by the caller around the walk.
type Walker struct {
	accountID int64
	vkey      string
	origin    string
	opts      WalkOptions

	b       Builder
	last    int64
	pending *SignedCheckpoint
	done    bool // the checkpoints are exhausted

	// Events, Checkpoints and Erased count the events checked, the
	// checkpoints met and checked, and the events checked by commitment
	// alone because their personal data was erased.
	Events, Checkpoints, Erased int64
	// Pruned is how many events the log had removed before the walk
	// started (StartAt): the walk began at seq Pruned+1.
	Pruned int64
}

// NewWalker returns a Walker of the log of the account, whose checkpoints
// must be signed by the verifier key vkey.
func NewWalker(accountID int64, vkey string, opts WalkOptions) *Walker {
	return &Walker{accountID: accountID, vkey: vkey, origin: Origin(KeyName(vkey), accountID), opts: opts}
}

// Size returns the number of leaves the walk has recomputed.
func (w *Walker) Size() int64 { return w.b.Size() }

// Root returns the root of the leaves the walk has recomputed.
func (w *Walker) Root() Hash { return w.b.Root() }

// Event checks the next event. It returns a Failure for the first problem
// found; an error only when it could not check (a checkpoint or a plug-in
// could not be read).
func (w *Walker) Event(e *audit.Event) (*Failure, error) {
	idx := e.Seq - 1
	switch {
	case w.opts.Sparse && e.Seq <= w.last:
		return failAt(idx, "seq %d does not follow seq %d", e.Seq, w.last), nil
	case !w.opts.Sparse && e.Seq != w.last+1:
		return failAt(w.last, "expected seq %d, found %d: events are missing or out of order", w.last+1, e.Seq), nil
	}
	if e.CreatedAt.Nanosecond()%1000 != 0 || e.OccurredAt.Nanosecond()%1000 != 0 {
		return failAt(idx, "a time has digits below the microsecond, which the leaf does not hold"), nil
	}
	personal := PersonalOf(e)
	if e.Salt == nil {
		if personal != (Personal{}) {
			return failAt(idx, "the event holds personal data without a salt: it cannot be checked against its commitment"), nil
		}
		w.Erased++
	} else if len(e.Salt) != SaltSize || personal.Commit(e.Salt) != e.Commitment {
		return failAt(idx, "the event's personal data (actor, IP address, user agent or details) does not match its commitment: it was altered"), nil
	}
	l := LeafOf(e)
	h := l.Hash()
	if h != e.LeafHash {
		// An event recorded before leaf version 2 has a version 1 leaf.
		// The leaf hash commits to the version byte, so at most one of
		// the two encodings matches.
		l.Version = LeafVersion1
		if h = l.Hash(); h != e.LeafHash {
			return failAt(idx, "the event's fields differ from its leaf hash: it was altered"), nil
		}
		if !e.OccurredAt.IsZero() && e.OccurredAt.UnixMicro() == 0 {
			// Version 1 encodes an absent occurred_at as 0, so the epoch
			// itself cannot be told from "not given": the service refused
			// it at ingest, and a log that shows it was altered.
			return failAt(idx, "occurred_at is the Unix epoch, which a version 1 leaf cannot tell from an absent occurred_at: it was altered"), nil
		}
	}
	if w.opts.Leaf != nil {
		if f, err := w.opts.Leaf(idx, h); f != nil || err != nil {
			return f, err
		}
	}
	w.last = e.Seq
	w.Events++
	if w.opts.Sparse {
		return nil, nil
	}
	w.b.Add(h)
	return w.meetCheckpoints()
}

// Finish ends the walk: it meets any checkpoint of the final size, and fails
// when a checkpoint covers more events than the walk saw.
func (w *Walker) Finish() (*Failure, error) {
	if w.opts.Sparse {
		return nil, nil
	}
	if f, err := w.meetCheckpoints(); f != nil || err != nil {
		return f, err
	}
	if c, err := w.nextCheckpoint(); err != nil {
		return nil, err
	} else if c != nil {
		size := w.b.Size()
		return failAt(size, "a checkpoint covers %d events but the log holds %d: events are missing", c.Size, size), nil
	}
	return nil, nil
}

// nextCheckpoint returns the next checkpoint not yet met, or nil.
func (w *Walker) nextCheckpoint() (*SignedCheckpoint, error) {
	if w.pending != nil || w.done || w.opts.Checkpoints == nil {
		return w.pending, nil
	}
	c, err := w.opts.Checkpoints()
	if err != nil {
		return nil, err
	}
	w.pending, w.done = c, c == nil
	return c, nil
}

// meetCheckpoints checks every checkpoint of the walk's current size: its
// signature, its origin, and its root against the recomputed root.
func (w *Walker) meetCheckpoints() (*Failure, error) {
	size := w.b.Size()
	for {
		c, err := w.nextCheckpoint()
		if err != nil || c == nil || c.Size > size {
			return nil, err
		}
		w.pending = nil
		if c.Size < size {
			// The walk meets checkpoints after every event, so this means
			// a checkpoint came out of order: never skip it silently.
			return failAt(c.Size-1, "the checkpoint at size %d was not met in order", c.Size), nil
		}
		signed, err := OpenCheckpointAny(c.Note, append([]string{w.vkey}, w.opts.PreviousKeys...))
		if err != nil {
			return failAt(c.Size-1, "the checkpoint at size %d is not validly signed by the service's key (or a previous key of the log)", c.Size), nil
		}
		if signed.Origin != w.origin || signed.Size != c.Size || signed.Root != c.Root {
			return failAt(c.Size-1, "the checkpoint at size %d names another log, size or root than its row", c.Size), nil
		}
		if c.Root != w.b.Root() {
			return failAt(c.Size-1, "the events up to size %d do not hash to the signed checkpoint's root: an event before index %d was altered", c.Size, c.Size), nil
		}
		w.Checkpoints++
	}
}
