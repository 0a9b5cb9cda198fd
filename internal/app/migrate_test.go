package app_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/tlog"
)

// dataVersion is the schema the data of TestMigrateWithData is loaded
// into: the last one before the migration that re-keys tables by account
// (0016, docs/scaling.md). The data is loaded by this binary's code, so
// the schema must already hold every column that code writes (0010–0014
// added some).
const dataVersion = 15

// TestMigrateWithData loads two accounts' users, sessions, API keys,
// ingested events and chat conversations through the app into a database
// at migration dataVersion, then migrates it to the newest schema while
// that app keeps running on it (as the old processes of a rolling upgrade
// do), on every engine. Every event reads back as it was, sessions and
// keys still authenticate, conversations keep their turns, new events
// append after the old ones, each log verifies, an old event's inclusion
// proof and the consistency of the old tree with the new one hold, and a
// store opened afresh on the migrated database finds nothing to apply.
func TestMigrateWithData(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := t.Context()
			url := e.NewURL(t)
			db, err := sqlstore.OpenWith(ctx, url, sqlstore.OpenOptions{MigrateTo: dataVersion})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			f := newFixture(t, db)

			type loaded struct {
				tn    *tenant
				key   string
				token string
				conv  int64
			}
			var tenants []*loaded
			for i, name := range []string{"acme", "globex"} {
				tn := f.newTenant(name)
				f.addUser(tn, audit.RoleAnalyst, "ana")
				key, _, err := f.app.CreateAPIKey(f.ctx, tn.p, origin, app.NewAPIKey{Name: "svc", Scopes: []string{audit.ScopeEventsWrite, audit.ScopeEventsRead}})
				if err != nil {
					t.Fatal(err)
				}
				ingestSome(t, f, key, name, 3+i, 40)
				var conv int64
				for q := range 2 {
					c, _, err := f.app.RecordChatTurn(f.ctx, tn.p, origin, app.ChatTurnInput{
						ConversationID: conv, Question: fmt.Sprintf("who shipped orders %d?", q), Answer: "nobody",
						Search: "action:order.shipped", Aggregation: "count", Plan: []byte(`{}`),
					})
					if err != nil {
						t.Fatalf("RecordChatTurn: %v", err)
					}
					conv = c.ID
				}
				tenants = append(tenants, &loaded{tn: tn, key: key, token: f.login(tn.owner.Email, ownerPassword), conv: conv})
			}
			before := map[int64][]*audit.Event{}
			sizes := map[int64]int64{}
			for _, l := range tenants {
				before[l.tn.account.ID] = allEvents(t, f, l.tn.account.ID)
				cp, err := f.app.Checkpoint(f.ctx, l.tn.p, 0)
				if err != nil {
					t.Fatal(err)
				}
				sizes[l.tn.account.ID] = cp.Size
			}

			// Migrate under the running app.
			applied, err := db.Migrate(ctx)
			if err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			all, err := sqlstore.Migrations(sqlstore.Engine(e.Name))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, m := range all {
				if m.Version > dataVersion {
					want = append(want, m.Name)
				}
			}
			if !slices.Equal(applied, want) {
				t.Errorf("Migrate applied %v; want %v", applied, want)
			}

			// A process of the new version beside the old one.
			fresh, err := sqlstore.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fresh.Close() })
			if len(fresh.Applied()) != 0 || len(fresh.Unknown()) != 0 {
				t.Errorf("a store opened after the migration applied %v and found %v unknown; want nothing", fresh.Applied(), fresh.Unknown())
			}
			g := newFixture(t, fresh)

			for _, l := range tenants {
				acct := l.tn.account.ID
				for _, h := range []*fixture{f, g} {
					if got := allEvents(t, h, acct); !reflect.DeepEqual(got, before[acct]) {
						t.Errorf("account %d: %d events after the migration differ from the %d before", acct, len(got), len(before[acct]))
					}
					p := h.session(l.token)
					if p.AccountID != acct {
						t.Errorf("session of account %d authenticates in account %d", acct, p.AccountID)
					}
					if _, err := h.app.AuthenticateKey(h.ctx, l.key); err != nil {
						t.Errorf("API key of account %d after the migration: %v", acct, err)
					}
					conv, turns, err := h.app.ChatConversation(h.ctx, l.tn.p, l.conv)
					if err != nil || conv.AccountID != acct || len(turns) != 2 {
						t.Errorf("conversation %d of account %d after the migration: %+v, %d turns, %v; want its 2 turns", l.conv, acct, conv, len(turns), err)
					}
				}
				// Both versions append; ids and seqs continue.
				ingestSome(t, f, l.key, "old", 1, 10)
				ingestSome(t, g, l.key, "new", 1, 10)
				// Another question in the old conversation, through the new store.
				if _, _, err := g.app.RecordChatTurn(g.ctx, l.tn.p, origin, app.ChatTurnInput{
					ConversationID: l.conv, Question: "and today?", Answer: "none", Search: "action:order.shipped", Aggregation: "count", Plan: []byte(`{}`),
				}); err != nil {
					t.Errorf("RecordChatTurn after the migration: %v", err)
				}
				now := allEvents(t, g, acct)
				old := before[acct]
				if len(now) <= len(old) || now[0].ID <= old[0].ID || now[0].Seq <= old[0].Seq {
					t.Errorf("account %d: newest event %d (seq %d) after appending; want past %d (seq %d)", acct, now[0].ID, now[0].Seq, old[0].ID, old[0].Seq)
				}
				for _, h := range []*fixture{f, g} {
					rep, err := h.app.VerifyLog(h.ctx, l.tn.p)
					if err != nil || rep.Failure != nil || rep.CheckedEvents != int64(len(now)) {
						t.Errorf("VerifyLog(account %d) = %+v, %v; want %d events checked, no failure", acct, rep, err, len(now))
					}
				}
				first := old[len(old)-1]
				proof, err := g.app.ProveEvent(g.ctx, l.tn.p, first.ID, 0)
				if err != nil {
					t.Fatalf("ProveEvent: %v", err)
				}
				cp, err := tlog.OpenCheckpoint([]byte(proof.Checkpoint.Note), sqltest.Signer(t).VerifierKey())
				if err != nil || tlog.VerifyInclusion(proof.Proof, cp.Size, cp.Root, first.Seq-1, tlog.Hash(first.LeafHash)) != nil {
					t.Errorf("inclusion proof of account %d's first event after the migration does not verify (%v)", acct, err)
				}
				cons, err := g.app.ProveConsistency(g.ctx, l.tn.p, sizes[acct], 0)
				if err != nil {
					t.Fatalf("ProveConsistency: %v", err)
				}
				if err := tlog.VerifyConsistency(cons.Proof, cons.FromSize, cons.FromRoot, cons.ToSize, cons.ToRoot); err != nil || cons.FromSize != sizes[acct] {
					t.Errorf("consistency of account %d from %d to %d: %v", acct, cons.FromSize, cons.ToSize, err)
				}
			}
		})
	}
}

// ingestSome appends batches of n events each as the API key's ingest
// does: prepared by the app, appended in one transaction each.
func ingestSome(t *testing.T, f *fixture, key, tag string, batches, n int) {
	t.Helper()
	svc, err := f.app.AuthenticateKey(f.ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	for b := range batches {
		var evs []any
		for i := range n {
			evs = append(evs, map[string]any{
				"event_id": fmt.Sprintf("%s-%d-%d", tag, b, i), "action": "order.shipped", "resource_type": "order",
				"resource_id": fmt.Sprintf("o%d", i), "details": "shipped by " + tag, "ip_address": "203.0.113.9",
				"actor":    map[string]any{"id": "courier", "email": "c@ship.example", "name": "Courier"},
				"metadata": map[string]any{"batch": b},
			})
		}
		body, _ := json.Marshal(map[string]any{"events": evs})
		events, err := f.app.PrepareEvents(f.ctx, svc, decodeEvents(t, string(body)))
		if err != nil {
			t.Fatalf("PrepareEvents: %v", err)
		}
		// The write path of the ingest writer, without its queue.
		if err := f.db.Update(f.ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.AppendEvents(f.ctx, sqltest.Signer(t), events...)
			return err
		}); err != nil {
			t.Fatalf("AppendEvents: %v", err)
		}
	}
}

// allEvents returns every event of the account, newest first.
func allEvents(t *testing.T, f *fixture, accountID int64) []*audit.Event {
	t.Helper()
	f.flush()
	var out []*audit.Event
	for page := 1; ; page++ {
		p, err := f.db.Events(f.ctx, accountID, audit.EventFilter{}, audit.PageRequest{Page: page, PerPage: 100})
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		out = append(out, p.Events...)
		if !p.More {
			return out
		}
	}
}
