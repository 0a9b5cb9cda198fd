package live_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/live"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// waitFor bounds every wait of these tests.
const waitFor = 30 * time.Second

func newAccount(t *testing.T, db *sqlstore.DB, domain string) int64 {
	t.Helper()
	ctx := t.Context()
	a := &audit.Account{Name: domain, Domain: domain}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// appendEvents commits one transaction of the given actions to account a.
func appendEvents(t *testing.T, db *sqlstore.DB, a int64, actions ...string) {
	t.Helper()
	ctx := t.Context()
	evs := make([]*audit.Event, len(actions))
	for i, action := range actions {
		evs[i] = &audit.Event{AccountID: a, Action: action}
	}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.AppendEvents(ctx, sqltest.Signer(t), evs...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// watched is what a Sub returned, in order.
type watched struct {
	seqs    []int64
	actions []string
	// ready is the position of the Ready item, -1 before it came;
	// readyAfter how many events came before it.
	ready, readyAfter int64
	checkpoints       int
}

// collect reads s until it has returned n events (and, when needReady, the
// Ready item), failing t after waitFor. It returns the error that ended s,
// if one did.
func collect(t *testing.T, s *live.Sub, n int, needReady bool) (watched, error) {
	t.Helper()
	w := watched{ready: -1}
	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	for len(w.seqs) < n || (needReady && w.ready < 0) {
		items, err := s.Next(ctx)
		if err != nil {
			return w, err
		}
		for _, it := range items {
			switch {
			case it.Ready:
				w.ready, w.readyAfter = it.Position, int64(len(w.seqs))
			case it.Checkpoint != nil:
				w.checkpoints++
			case it.Event != nil:
				w.seqs = append(w.seqs, it.Event.Seq)
				w.actions = append(w.actions, it.Event.Action)
			}
		}
		if len(items) == 0 {
			select {
			case <-s.C():
			case <-ctx.Done():
				t.Fatalf("after %d of %d events: nothing more within %s (%+v)", len(w.seqs), n, waitFor, w)
			}
		}
	}
	return w, nil
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// TestHub checks, on every engine, what a watcher is promised: events in seq
// order, each once, only after they commit, only its account's and only
// those its selection matches; a resume replays exactly what was missed; a
// watcher that falls behind ends with ErrOverflow at a position it can
// resume from; and Close ends every watcher with ErrClosed.
func TestHub(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		hub := live.New(db, live.Options{Buffer: 50, Poll: 20 * time.Millisecond, Checkpoint: 10 * time.Millisecond})
		db.OnCommit = hub.Committed
		t.Cleanup(hub.Close)
		a, b := newAccount(t, db, "a.example.com"), newAccount(t, db, "b.example.com")
		start, err := db.LogSize(ctx, a)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("live in order, one account", func(t *testing.T) {
			s, err := hub.Subscribe(ctx, a, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for i := range 5 {
				appendEvents(t, db, b, "other.tenant")
				appendEvents(t, db, a, fmt.Sprintf("order.step%d", i), "product.updated")
			}
			w, err := collect(t, s, 10, true)
			if err != nil {
				t.Fatal(err)
			}
			if want := seqRange(start+1, start+10); !slices.Equal(w.seqs, want) {
				t.Errorf("seqs %v, want %v", w.seqs, want)
			}
			if w.ready != start || w.readyAfter != 0 {
				t.Errorf("Ready at position %d after %d events, want %d after none", w.ready, w.readyAfter, start)
			}
			if slices.Contains(w.actions, "other.tenant") {
				t.Errorf("another account's event reached the watcher: %v", w.actions)
			}
		})

		t.Run("selection", func(t *testing.T) {
			q, err := query.Parse("action:order.*", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			s, err := hub.Subscribe(ctx, a, q.String(), q)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			appendEvents(t, db, a, "product.updated", "order.refunded", "product.updated", "order.paid")
			w, err := collect(t, s, 2, true)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(w.actions, []string{"order.refunded", "order.paid"}) {
				t.Errorf("actions %v, want the two order events", w.actions)
			}
		})

		t.Run("resume", func(t *testing.T) {
			size, _ := db.LogSize(ctx, a)
			s, err := hub.Subscribe(ctx, a, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.Start(true, size-5)
			appendEvents(t, db, a, "after.resume")
			w, err := collect(t, s, 6, true)
			if err != nil {
				t.Fatal(err)
			}
			if want := seqRange(size-4, size+1); !slices.Equal(w.seqs, want) {
				t.Errorf("seqs %v, want %v", w.seqs, want)
			}
			if w.ready != size || w.readyAfter != 5 {
				t.Errorf("Ready at %d after %d events, want at %d after the 5 replayed", w.ready, w.readyAfter, size)
			}
		})

		t.Run("overflow", func(t *testing.T) {
			s, err := hub.Subscribe(ctx, a, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := collect(t, s, 0, true); err != nil {
				t.Fatal(err)
			}
			pos := s.Position()
			actions := make([]string, 60) // more than the buffer of 50
			for i := range actions {
				actions[i] = "bulk.write"
			}
			appendEvents(t, db, a, actions...)
			if _, err := collect(t, s, 61, false); !errors.Is(err, live.ErrOverflow) {
				t.Fatalf("a watcher that read nothing of 60 events: %v, want ErrOverflow", err)
			}
			if s.Position() != pos {
				t.Errorf("position %d after the overflow, want %d (nothing was returned)", s.Position(), pos)
			}
		})

		t.Run("close", func(t *testing.T) {
			s, err := hub.Subscribe(ctx, a, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			hub.Close()
			if _, err := collect(t, s, 1, false); !errors.Is(err, live.ErrClosed) {
				t.Errorf("after Close: %v, want ErrClosed", err)
			}
			s.Close()
			drained, cancel := context.WithTimeout(ctx, waitFor)
			defer cancel()
			hub.Drain(drained)
			if drained.Err() != nil {
				t.Error("Drain did not return once every watcher was closed")
			}
			if _, err := hub.Subscribe(ctx, a, "", nil); !errors.Is(err, live.ErrClosed) {
				t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
			}
		})
	})
}

// TestHubOtherProcess checks, on every engine, that a hub learns of commits
// made through another handle on the same database, as another process's
// would be (PostgreSQL notifies; the others are polled), and delivers them
// each once, in order.
func TestHubOtherProcess(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			url := e.NewURL(t)
			open := func() *sqlstore.DB {
				db, err := sqlstore.Open(t.Context(), url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
			// Each handle has its hub, as each serve process has: the
			// writer's tells other processes of its commits (PostgreSQL).
			writer, reader := open(), open()
			for _, db := range []*sqlstore.DB{writer, reader} {
				h := live.New(db, live.Options{Poll: 20 * time.Millisecond})
				db.OnCommit = h.Committed
				t.Cleanup(h.Close)
			}
			hub := live.New(reader, live.Options{Poll: 20 * time.Millisecond})
			t.Cleanup(hub.Close)
			a := newAccount(t, writer, "other.example.com")
			start, err := reader.LogSize(t.Context(), a)
			if err != nil {
				t.Fatal(err)
			}
			s, err := hub.Subscribe(t.Context(), a, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for range 4 {
				appendEvents(t, writer, a, "elsewhere.one", "elsewhere.two")
			}
			began := time.Now()
			w, err := collect(t, s, 8, true)
			t.Logf("delivered in %s", time.Since(began))
			if err != nil {
				t.Fatal(err)
			}
			if want := seqRange(start+1, start+8); !slices.Equal(w.seqs, want) {
				t.Errorf("seqs %v, want %v", w.seqs, want)
			}
		})
	}
}
