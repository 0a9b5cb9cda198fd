package tlog

import (
	"errors"
	"fmt"
	"sync"
)

// Head is a log's size and root hash: what a checkpoint states.
type Head struct {
	Size int64
	Root Hash
}

// SignedHeads remembers, for each account, the last checkpoint that the
// service signed (or found signed with its key in the store) and whether
// signing was stopped for the account. Append consults it before signing:
// a new tree is signed only when a consistency proof shows that it extends
// the remembered one, so someone who rewrites the stored log (events, leaf
// hashes, tiles and head together, and the checkpoint rows) cannot get the
// service to sign the rewritten tree. One SignedHeads belongs to one store;
// it is safe for concurrent use.
type SignedHeads struct {
	mu      sync.Mutex
	heads   map[int64]Head
	stopped map[int64]*ForkError
}

// NewSignedHeads returns an empty memory.
func NewSignedHeads() *SignedHeads {
	return &SignedHeads{heads: map[int64]Head{}, stopped: map[int64]*ForkError{}}
}

// Get returns the remembered head of the account's log, whether there is
// one, and the error that stopped signing for the account, if any.
func (m *SignedHeads) Get(accountID int64) (Head, bool, *ForkError) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.heads[accountID]
	return h, ok, m.stopped[accountID]
}

// Advance remembers h as the account's last signed head, unless a larger
// one is remembered already: call it once the checkpoint is committed.
func (m *SignedHeads) Advance(accountID int64, h Head) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.heads[accountID]; !ok || h.Size > old.Size {
		m.heads[accountID] = h
	}
}

// Stop stops signing for the account: every later Append to it fails
// with err.
func (m *SignedHeads) Stop(err *ForkError) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped[err.AccountID] == nil {
		m.stopped[err.AccountID] = err
	}
}

// ForkError means that an account's stored log does not extend the last
// checkpoint the service signed for it: the stored log was rewritten or
// rolled back. The service then signs nothing more for the account.
type ForkError struct {
	AccountID int64
	Signed    Head  // the last head the service signed
	Size      int64 // the size of the tree it was asked to sign
	Reason    string
}

// Error describes the fork.
func (e *ForkError) Error() string {
	return fmt.Sprintf("tlog: the log of account %d does not extend the checkpoint of size %d the service signed last (asked to sign size %d): %s; signing is stopped for the account",
		e.AccountID, e.Signed.Size, e.Size, e.Reason)
}

// ErrFork is matched by errors.Is for every *ForkError.
var ErrFork = errors.New("tlog: the stored log does not extend the last signed checkpoint")

// Is makes errors.Is(err, ErrFork) true for a *ForkError.
func (e *ForkError) Is(target error) bool { return target == ErrFork }

// checkExtends checks that the tree of size `size` and root `root`, read
// through tiles, extends the signed head last.
func checkExtends(tiles *Tiles, accountID int64, last Head, size int64, root Hash) error {
	fork := func(reason string) error {
		return &ForkError{AccountID: accountID, Signed: last, Size: size, Reason: reason}
	}
	if last.Size > size {
		return fork("the stored log is shorter than that checkpoint")
	}
	proof, err := tiles.ConsistencyProof(last.Size, size)
	if err != nil {
		return fmt.Errorf("tlog: prove that the log of account %d extends its last checkpoint: %w", accountID, err)
	}
	if VerifyConsistency(proof, last.Size, last.Root, size, root) != nil {
		return fork("no consistency proof leads from that checkpoint to the stored tree: events before it were changed")
	}
	return nil
}
