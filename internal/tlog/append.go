package tlog

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// TileStore reads the stored tiles of many accounts' trees.
type TileStore interface {
	// LoadTiles returns the stored data of the given tiles of each account,
	// in one read. A tile that was never written is absent from the result.
	LoadTiles(ctx context.Context, keys map[int64][]TileKey) (map[int64]map[TileKey][]byte, error)
}

// Store is the storage that Append writes through, inside one write
// transaction. Each method is one statement (or one bulk operation) for
// every account of the append together, so that an append costs the same
// few round trips whether it carries one account or a hundred.
type Store interface {
	TileStore
	// LockHeads locks the log heads of the accounts, given in ascending
	// order (so that concurrent appends never deadlock), until the
	// transaction ends, and returns each log's size. It returns an error
	// wrapping audit.ErrNotFound when an account has no log.
	LockHeads(ctx context.Context, accounts []int64) (map[int64]int64, error)
	// StoredEvents returns the account's stored events that carry the
	// given event IDs (idempotency keys), by event ID.
	StoredEvents(ctx context.Context, accountID int64, eventIDs []string) (map[string]*audit.Event, error)
	// InsertEvents inserts sealed events, all accounts at once.
	InsertEvents(ctx context.Context, events []*audit.Event) error
	// AssignIDs reads back the generated IDs of the events just inserted
	// and sets each event's ID.
	AssignIDs(ctx context.Context, spans []Span) error
	// SaveTiles writes the tiles the append changed.
	SaveTiles(ctx context.Context, tiles []AccountTile) error
	// AdvanceHeads sets each log head's size and root.
	AdvanceHeads(ctx context.Context, heads []SignedHead) error
	// InsertCheckpoints stores each head's signed checkpoint.
	InsertCheckpoints(ctx context.Context, heads []SignedHead) error
	// LastSigned returns the last head of the account's log that the
	// service signed, as far as it knows (remembered, or the latest stored
	// checkpoint validly signed by one of vkeys: the signing key's
	// verifier key, then those of the keys it replaced), and whether there
	// is one. It returns a *ForkError when signing was stopped for the
	// account.
	LastSigned(ctx context.Context, accountID int64, vkeys []string) (Head, bool, error)
}

// Span is one account's events of an append: Events[i] has seq Size+i+1.
type Span struct {
	AccountID int64
	Size      int64 // the log's size before the append
	Events    []*audit.Event
}

// AccountTile is a changed tile of one account's tree.
type AccountTile struct {
	AccountID int64
	ChangedTile
}

// SignedHead is an account's new log head and its signed checkpoint.
type SignedHead struct {
	AccountID int64
	Size      int64
	Root      Hash
	Note      []byte // the signed checkpoint note
}

// accountAppend is one account's share of an append.
type accountAppend struct {
	Span
	tiles *Tiles
	dups  [][2]int // {input index, index of the earlier input with its event ID}
}

// Append appends events to their accounts' logs through s, signing a
// checkpoint of each account's new log with signer. It is the one write
// path of the log. For each account, in ascending account order, it locks
// the log head and sets aside replays (events whose EventID the account
// already holds, or an earlier input of the same call carries); it gives
// the others the next seq values in the order given, seals them (salt,
// commitment, leaf hash; CreatedAt is now when zero) and extends the
// account's tree. Then, for all accounts at once, it inserts the events,
// reads back their IDs, saves the changed tiles, advances the heads and
// stores the signed checkpoints. Before signing an account's new tree it
// proves that the tree extends the last one the service signed
// (Store.LastSigned), and fails with a *ForkError when it does not.
//
// It returns, per input and in input order, the stored event and whether it
// was a replay. It never changes its inputs, so a transaction that is
// retried can call it again with the same events.
func Append(ctx context.Context, s Store, signer *Signer, now time.Time, events []*audit.Event) ([]audit.Appended, error) {
	if signer == nil {
		return nil, errNoSigner
	}
	out := make([]audit.Appended, len(events))
	byAccount := map[int64][]int{}
	var accounts []int64
	for i, e := range events {
		if _, seen := byAccount[e.AccountID]; !seen {
			accounts = append(accounts, e.AccountID)
		}
		byAccount[e.AccountID] = append(byAccount[e.AccountID], i)
	}
	if len(accounts) == 0 {
		return out, nil
	}
	slices.Sort(accounts)
	sizes, err := s.LockHeads(ctx, accounts)
	if err != nil {
		return nil, err
	}
	edges := make(map[int64][]TileKey, len(accounts))
	for _, accountID := range accounts {
		edges[accountID] = EdgeTiles(sizes[accountID])
	}
	edgeData, err := s.LoadTiles(ctx, edges)
	if err != nil {
		return nil, err
	}
	var work []*accountAppend
	var fresh []*audit.Event
	var spans []Span
	for _, accountID := range accounts {
		// Under the head lock no other writer can add an event to this
		// account, so looking for earlier copies first and then inserting
		// is race-free.
		a := &accountAppend{Span: Span{AccountID: accountID, Size: sizes[accountID]}}
		todo, err := a.setAsideReplays(ctx, s, events, byAccount[accountID], out)
		if err != nil {
			return nil, err
		}
		if len(todo) == 0 {
			continue
		}
		a.tiles = NewTiles(accountTileLoader(ctx, s, accountID))
		if err := a.tiles.Preload(edges[accountID], edgeData[accountID]); err != nil {
			return nil, err
		}
		for _, i := range todo {
			e := Sealed(events[i], a.Size+int64(len(a.Events))+1, now)
			if err := a.tiles.Append(e.Seq-1, e.LeafHash); err != nil {
				return nil, fmt.Errorf("tlog: extend the log of account %d: %w", accountID, err)
			}
			a.Events = append(a.Events, e)
			out[i] = audit.Appended{Event: e}
		}
		work = append(work, a)
		fresh = append(fresh, a.Events...)
		spans = append(spans, a.Span)
	}
	if len(work) == 0 {
		return out, nil
	}
	if err := s.InsertEvents(ctx, fresh); err != nil {
		return nil, err
	}
	if err := s.AssignIDs(ctx, spans); err != nil {
		return nil, err
	}
	var changed []AccountTile
	heads := make([]SignedHead, 0, len(work))
	for _, a := range work {
		for _, d := range a.dups {
			out[d[0]] = audit.Appended{Event: out[d[1]].Event, Replayed: true}
		}
		size := a.Size + int64(len(a.Events))
		root, err := a.tiles.Root(size)
		if err != nil {
			return nil, fmt.Errorf("tlog: root of the log of account %d: %w", a.AccountID, err)
		}
		// Never sign a tree not proved to extend the last one signed.
		last, ok, err := s.LastSigned(ctx, a.AccountID, signer.VerifierKeys())
		if err != nil {
			return nil, err
		}
		if ok {
			if err := checkExtends(a.tiles, a.AccountID, last, size, root); err != nil {
				return nil, err
			}
		}
		for _, t := range a.tiles.Changed() {
			changed = append(changed, AccountTile{a.AccountID, t})
		}
		note, err := signer.Sign(Checkpoint{Origin: Origin(signer.Name(), a.AccountID), Size: size, Root: root})
		if err != nil {
			return nil, fmt.Errorf("tlog: sign checkpoint: %w", err)
		}
		heads = append(heads, SignedHead{AccountID: a.AccountID, Size: size, Root: root, Note: note})
	}
	if err := s.SaveTiles(ctx, changed); err != nil {
		return nil, err
	}
	if err := s.AdvanceHeads(ctx, heads); err != nil {
		return nil, err
	}
	if err := s.InsertCheckpoints(ctx, heads); err != nil {
		return nil, err
	}
	return out, nil
}

// setAsideReplays returns the indexes of the account's inputs to write. An
// input whose EventID the account already holds gets its result (the stored
// event, a replay) at once; a second input with the EventID of an earlier
// one is noted in a.dups, to share the earlier one's result once written.
func (a *accountAppend) setAsideReplays(ctx context.Context, s Store, events []*audit.Event, idx []int, out []audit.Appended) ([]int, error) {
	var ids []string
	first := map[string]int{}
	for _, i := range idx {
		if id := events[i].EventID; id != "" {
			if _, ok := first[id]; !ok {
				first[id] = i
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return idx, nil
	}
	stored, err := s.StoredEvents(ctx, a.AccountID, ids)
	if err != nil {
		return nil, err
	}
	var todo []int
	for _, i := range idx {
		id := events[i].EventID
		switch {
		case id == "":
			todo = append(todo, i)
		case stored[id] != nil:
			out[i] = audit.Appended{Event: stored[id], Replayed: true}
		case first[id] != i:
			a.dups = append(a.dups, [2]int{i, first[id]})
		default:
			todo = append(todo, i)
		}
	}
	return todo, nil
}

// accountTileLoader reads one account's tiles through s.
func accountTileLoader(ctx context.Context, s TileStore, accountID int64) TileLoader {
	return func(keys []TileKey) (map[TileKey][]byte, error) {
		tiles, err := s.LoadTiles(ctx, map[int64][]TileKey{accountID: keys})
		return tiles[accountID], err
	}
}

// errNoSigner is returned by Append without a checkpoint signer.
var errNoSigner = fmt.Errorf("tlog: no checkpoint signer: the caller of an append passes the service's signer")
