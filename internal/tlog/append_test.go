package tlog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// memLog is a Store and a StoredLog in memory: what Append needs of a
// database, and what VerifyStored reads back.
type memLog struct {
	heads  map[int64]int64
	roots  map[int64][]byte
	events map[int64][]*audit.Event // by account, in seq order
	tiles  map[int64]map[TileKey][]byte
	cps    map[int64][]SignedCheckpoint
	nextID int64
	calls  map[string]int
	pruned map[int64]int64 // events with seq up to it are gone (retention)
}

func newMemLog(accounts ...int64) *memLog {
	m := &memLog{heads: map[int64]int64{}, roots: map[int64][]byte{}, events: map[int64][]*audit.Event{},
		tiles: map[int64]map[TileKey][]byte{}, cps: map[int64][]SignedCheckpoint{}, calls: map[string]int{}}
	for _, a := range accounts {
		m.heads[a], m.tiles[a] = 0, map[TileKey][]byte{}
	}
	return m
}

func (m *memLog) LoadTiles(_ context.Context, keys map[int64][]TileKey) (map[int64]map[TileKey][]byte, error) {
	m.calls["LoadTiles"]++
	out := map[int64]map[TileKey][]byte{}
	for a, ks := range keys {
		out[a] = map[TileKey][]byte{}
		for _, k := range ks {
			if d, ok := m.tiles[a][k]; ok {
				out[a][k] = d
			}
		}
	}
	return out, nil
}

func (m *memLog) LockHeads(_ context.Context, accounts []int64) (map[int64]int64, error) {
	m.calls["LockHeads"]++
	if !slices.IsSorted(accounts) {
		return nil, fmt.Errorf("accounts %v not in ascending order", accounts)
	}
	out := map[int64]int64{}
	for _, a := range accounts {
		size, ok := m.heads[a]
		if !ok {
			return nil, fmt.Errorf("account %d: %w", a, audit.ErrNotFound)
		}
		out[a] = size
	}
	return out, nil
}

func (m *memLog) StoredEvents(_ context.Context, accountID int64, ids []string) (map[string]*audit.Event, error) {
	m.calls["StoredEvents"]++
	out := map[string]*audit.Event{}
	for _, e := range m.events[accountID] {
		if slices.Contains(ids, e.EventID) {
			c := *e
			out[e.EventID] = &c
		}
	}
	return out, nil
}

func (m *memLog) InsertEvents(_ context.Context, events []*audit.Event) error {
	m.calls["InsertEvents"]++
	for _, e := range events {
		c := *e
		m.nextID++
		c.ID = m.nextID
		m.events[e.AccountID] = append(m.events[e.AccountID], &c)
	}
	return nil
}

func (m *memLog) AssignIDs(_ context.Context, spans []Span) error {
	m.calls["AssignIDs"]++
	for _, s := range spans {
		for i, e := range s.Events {
			e.ID = m.events[s.AccountID][s.Size+int64(i)].ID
		}
	}
	return nil
}

func (m *memLog) SaveTiles(_ context.Context, tiles []AccountTile) error {
	m.calls["SaveTiles"]++
	for _, t := range tiles {
		m.tiles[t.AccountID][t.Key] = append([]byte(nil), t.Data...)
	}
	return nil
}

func (m *memLog) AdvanceHeads(_ context.Context, heads []SignedHead) error {
	m.calls["AdvanceHeads"]++
	for _, h := range heads {
		m.heads[h.AccountID], m.roots[h.AccountID] = h.Size, h.Root[:]
	}
	return nil
}

func (m *memLog) InsertCheckpoints(_ context.Context, heads []SignedHead) error {
	m.calls["InsertCheckpoints"]++
	for _, h := range heads {
		m.cps[h.AccountID] = append(m.cps[h.AccountID], SignedCheckpoint{Size: h.Size, Root: h.Root, Note: h.Note})
	}
	return nil
}

// LastSigned returns the latest stored checkpoint, as a store that
// remembered nothing would.
func (m *memLog) LastSigned(_ context.Context, accountID int64, _ []string) (Head, bool, error) {
	cps := m.cps[accountID]
	if len(cps) == 0 {
		return Head{}, false, nil
	}
	c := cps[len(cps)-1]
	return Head{c.Size, c.Root}, true, nil
}

func (m *memLog) Head(_ context.Context, accountID int64) (int64, []byte, error) {
	return m.heads[accountID], m.roots[accountID], nil
}

func (m *memLog) Pruned(_ context.Context, accountID int64) (int64, error) {
	return m.pruned[accountID], nil
}

func (m *memLog) Events(_ context.Context, accountID, after int64, limit int) ([]*audit.Event, error) {
	evs := m.events[accountID]
	after = max(after, m.pruned[accountID]) // pruned events are gone
	evs = evs[min(after, int64(len(evs))):]
	return evs[:min(limit, len(evs))], nil
}

func (m *memLog) Checkpoints(_ context.Context, accountID, from int64, limit int) ([]SignedCheckpoint, error) {
	var out []SignedCheckpoint
	for _, c := range m.cps[accountID] {
		if c.Size >= from && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memLog) TileRange(_ context.Context, accountID int64, level int, lo, hi int64) (map[int64][]byte, error) {
	out := map[int64][]byte{}
	for k, d := range m.tiles[accountID] {
		if k.Level == level && k.Index >= lo && k.Index < hi {
			out[k.Index] = d
		}
	}
	return out, nil
}

func testSigner(t *testing.T) *Signer {
	t.Helper()
	skey, _, err := GenerateKey("test.auditlog")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAppend runs the append algorithm over storage in memory: seqs per
// account, replays, inputs left alone, one call of each storage step per
// append whatever the number of accounts, and a log that VerifyStored
// accepts, and then rejects once an event is altered.
func TestAppend(t *testing.T) {
	ctx := context.Background()
	signer := testSigner(t)
	m := newMemLog(1, 2)
	now := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	ev := func(account int64, action, id string) *audit.Event {
		return &audit.Event{AccountID: account, Action: action, EventID: id, ActorEmail: "a@example.com", Details: action}
	}
	for round := range 5 {
		var in []*audit.Event
		for i := range 7 {
			in = append(in, ev(int64(1+i%2), fmt.Sprintf("r%d_%d", round, i), ""))
		}
		in = append(in, ev(2, "keyed", fmt.Sprintf("k%d", round)), ev(2, "keyed", fmt.Sprintf("k%d", round)))
		if round > 0 {
			in = append(in, ev(2, "keyed", "k0")) // a retry of an earlier round
		}
		before := map[string]int{}
		for k, v := range m.calls {
			before[k] = v
		}
		res, err := Append(ctx, m, signer, now, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []string{"LockHeads", "LoadTiles", "InsertEvents", "AssignIDs", "SaveTiles", "AdvanceHeads", "InsertCheckpoints"} {
			if n := m.calls[step] - before[step]; n != 1 {
				t.Errorf("round %d: %s called %d times; want once for both accounts", round, step, n)
			}
		}
		for i, e := range in {
			if e.Seq != 0 || e.ID != 0 || !e.CreatedAt.IsZero() || e.Salt != nil {
				t.Fatalf("round %d: input %d was changed: %+v", round, i, e)
			}
			r := res[i]
			if r.Event.AccountID != e.AccountID || r.Event.Action != e.Action || r.Event.ID == 0 {
				t.Fatalf("round %d: result %d = %+v; want input %d stored", round, i, r.Event, i)
			}
			if r.Replayed != (i == 8 || i == 9) {
				t.Errorf("round %d: result %d replayed = %v", round, i, r.Replayed)
			}
			if !r.Replayed && !r.Event.CreatedAt.Equal(now.Truncate(time.Microsecond)) {
				t.Errorf("round %d: result %d created at %v; want now in microseconds", round, i, r.Event.CreatedAt)
			}
		}
		if res[8].Event.ID != res[7].Event.ID {
			t.Errorf("round %d: the in-call duplicate got event %d, not %d", round, res[8].Event.ID, res[7].Event.ID)
		}
		if round > 0 && res[9].Event.EventID != "k0" {
			t.Errorf("round %d: the retry got %+v", round, res[9].Event)
		}
	}
	if m.heads[1] != 20 || m.heads[2] != 20 {
		t.Fatalf("sizes %d and %d; want 20 each", m.heads[1], m.heads[2])
	}
	for _, a := range []int64{1, 2} {
		rep, err := VerifyStored(ctx, m, a, signer.VerifierKey())
		if err != nil || rep.Failure != nil || rep.CheckedEvents != 20 || rep.CheckedCheckpoints != 5 {
			t.Fatalf("account %d: %+v, %v", a, rep, err)
		}
	}
	m.events[1][6].Details = "altered"
	rep, err := VerifyStored(ctx, m, 1, signer.VerifierKey())
	if err != nil || rep.Failure == nil || rep.Failure.Index != 6 || !strings.Contains(rep.Failure.Reason, "commitment") {
		t.Errorf("altered event: %+v, %v; want a commitment failure at index 6", rep.Failure, err)
	}
	if _, err := Append(ctx, m, signer, now, []*audit.Event{ev(3, "x", "")}); err == nil {
		t.Error("append to an account without a log succeeded")
	}
}

// TestWalkerErased checks events whose personal data was erased: checked by
// commitment alone and counted, unless personal data remains beside a
// missing salt.
func TestWalkerErased(t *testing.T) {
	signer := testSigner(t)
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	var events []*audit.Event
	var b Builder
	for i := range 3 {
		e := Sealed(&audit.Event{AccountID: 9, Action: "x", ActorEmail: "jane@example.net", IPAddress: "192.0.2.1"}, int64(i+1), now)
		b.Add(e.LeafHash)
		events = append(events, e)
	}
	note, err := signer.Sign(Checkpoint{Origin: Origin(signer.Name(), 9), Size: 3, Root: b.Root()})
	if err != nil {
		t.Fatal(err)
	}
	walk := func(events []*audit.Event) (*Walker, *Failure) {
		cp := &SignedCheckpoint{Size: 3, Root: b.Root(), Note: note}
		w := NewWalker(9, signer.VerifierKey(), WalkOptions{Checkpoints: func() (*SignedCheckpoint, error) { c := cp; cp = nil; return c, nil }})
		for _, e := range events {
			if f, err := w.Event(e); f != nil || err != nil {
				return w, f
			}
		}
		f, _ := w.Finish()
		return w, f
	}
	erased := *events[1]
	erased.Salt, erased.ActorEmail, erased.IPAddress = nil, "", ""
	w, f := walk([]*audit.Event{events[0], &erased, events[2]})
	if f != nil || w.Erased != 1 || w.Checkpoints != 1 {
		t.Errorf("log with an erased event: %+v, erased %d; want it to verify", f, w.Erased)
	}
	half := erased
	half.IPAddress = "192.0.2.1"
	if _, f := walk([]*audit.Event{events[0], &half, events[2]}); f == nil || f.Index != 1 || !strings.Contains(f.Reason, "without a salt") {
		t.Errorf("personal data without a salt: %+v; want a failure at index 1", f)
	}
}

// TestAppendRefusesFork rewrites a stored log as an insider would (an
// event, its leaf hash, the tiles and the head, and the checkpoint rows
// after it) and checks that Append refuses to sign the rewritten tree.
func TestAppendRefusesFork(t *testing.T) {
	signer := testSigner(t)
	ctx := t.Context()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	m := newMemLog(1)
	for i := range 4 {
		var in []*audit.Event
		for j := range 5 {
			in = append(in, &audit.Event{AccountID: 1, Action: fmt.Sprintf("a%d_%d", i, j)})
		}
		if _, err := Append(ctx, m, signer, now, in); err != nil {
			t.Fatal(err)
		}
	}
	// Rewrite event 3 and everything that depends on it, keeping only the
	// first checkpoint (size 5).
	m.events[1][2].Action = "nothing_happened"
	m.events[1][2].LeafHash = LeafOf(m.events[1][2]).Hash()
	m.tiles[1] = map[TileKey][]byte{}
	tiles := NewTiles(accountTileLoader(ctx, m, 1))
	for i, e := range m.events[1] {
		if err := tiles.Append(int64(i), e.LeafHash); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range tiles.Changed() {
		m.tiles[1][c.Key] = c.Data
	}
	root, _ := tiles.Root(20)
	m.roots[1] = root[:]
	m.cps[1] = m.cps[1][:1]
	_, err := Append(ctx, m, signer, now, []*audit.Event{{AccountID: 1, Action: "next"}})
	var fork *ForkError
	if !errors.As(err, &fork) || !errors.Is(err, ErrFork) || fork.Signed.Size != 5 || fork.Size != 21 {
		t.Fatalf("append to a rewritten log: %v; want a ForkError from size 5", err)
	}
	if len(m.cps[1]) != 1 || m.heads[1] != 20 {
		t.Errorf("the refused append wrote: %d checkpoints, head %d", len(m.cps[1]), m.heads[1])
	}
	// A rollback (the head and checkpoints of a smaller log) is refused too.
	m2 := newMemLog(1)
	if _, err := Append(ctx, m2, signer, now, []*audit.Event{{AccountID: 1, Action: "x"}, {AccountID: 1, Action: "y"}}); err != nil {
		t.Fatal(err)
	}
	m2.heads[1], m2.events[1] = 0, nil
	m2.tiles[1] = map[TileKey][]byte{}
	if _, err := Append(ctx, m2, signer, now, []*audit.Event{{AccountID: 1, Action: "z"}}); !errors.Is(err, ErrFork) {
		t.Errorf("append to a rolled-back log: %v; want ErrFork", err)
	}
}
