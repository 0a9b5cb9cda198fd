package app_test

import (
	"encoding/json"
	"testing"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// decodeEvents decodes an ingest batch body.
func decodeEvents(t *testing.T, body string) []ingest.EventInput {
	t.Helper()
	ins, err := ingest.DecodeBatch([]byte(body))
	if err != nil {
		t.Fatalf("DecodeBatch: %v", err)
	}
	return ins
}

// TestPrepareEvents checks the actor of ingested events: a user of the
// account, an external actor, or by default the caller; a user of another
// account is refused.
func TestPrepareEvents(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		other := f.newTenant("other")
		key, k, err := f.app.CreateAPIKey(f.ctx, tn.p, origin, app.NewAPIKey{Name: "svc", Scopes: []string{audit.ScopeEventsWrite}})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := f.app.AuthenticateKey(f.ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{"events": []any{
			map[string]any{"action": "order.created"},
			map[string]any{"action": "order.paid", "actor": map[string]any{"user_id": tn.owner.ID}},
			map[string]any{"action": "order.shipped", "actor": map[string]any{"type": "carrier", "id": "shipper"}},
		}})
		events, err := f.app.PrepareEvents(f.ctx, svc, decodeEvents(t, string(body)))
		if err != nil {
			t.Fatal(err)
		}
		if e := events[0]; e.ActorType != audit.ActorAPIKey || e.ActorID != k.Prefix || e.ActorName != "svc" || e.APIKeyID != k.ID || e.AccountID != tn.account.ID {
			t.Errorf("default actor %+v; want the API key", e)
		}
		if e := events[1]; e.ActorType != audit.ActorUser || e.UserID != tn.owner.ID || e.ActorEmail != tn.owner.Email || e.APIKeyID != k.ID {
			t.Errorf("named user actor %+v; want the owner, recorded by the key", e)
		}
		if e := events[2]; e.ActorType != "carrier" || e.ActorID != "shipper" || e.UserID != 0 {
			t.Errorf("external actor %+v", e)
		}
		// A signed-in owner is the default actor of their own events.
		events, err = f.app.PrepareEvents(f.ctx, tn.p, decodeEvents(t, `{"events":[{"action":"a.b"}]}`))
		if err != nil || events[0].UserID != tn.owner.ID || events[0].ActorType != audit.ActorUser || events[0].APIKeyID != 0 {
			t.Errorf("PrepareEvents as owner = %+v, %v", events, err)
		}

		body, _ = json.Marshal(map[string]any{"events": []any{
			map[string]any{"action": "ok.event"},
			map[string]any{"action": "x.y", "actor": map[string]any{"user_id": other.owner.ID}},
		}})
		_, err = f.app.PrepareEvents(f.ctx, svc, decodeEvents(t, string(body)))
		invalid, ok := err.(*ingest.InvalidError)
		if !ok || len(invalid.Problems) != 1 || invalid.Problems[0].Index != 1 || invalid.Problems[0].Field != "actor.user_id" {
			t.Errorf("PrepareEvents(another account's user) = %v; want one problem at event 1, actor.user_id", err)
		}
	})
}

// TestListEvents pages by cursor and checks that a cursor only works for
// the account and filter it was made for.
func TestListEvents(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme") // account_created, user_created, user_login
		other := f.newTenant("other")
		for range 3 {
			f.signIn(tn.owner.Email, ownerPassword)
		}
		q := app.EventQuery{Page: audit.PageRequest{Page: 1, PerPage: 2}}
		var seen []int64
		for {
			list, err := f.app.ListEvents(f.ctx, tn.p, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range list.Events {
				seen = append(seen, e.Seq)
			}
			if list.ByCursor != (q.Cursor != "") {
				t.Errorf("ByCursor %v with cursor %q", list.ByCursor, q.Cursor)
			}
			if list.NextCursor == "" {
				break
			}
			q.Cursor = list.NextCursor
			_, err = f.app.ListEvents(f.ctx, other.p, q)
			wantCode(t, "cursor of another account", err, audit.EINVALID, "cursor")
			filtered := q
			filtered.Filter.Action = audit.ActionUserLogin
			_, err = f.app.ListEvents(f.ctx, tn.p, filtered)
			wantCode(t, "cursor with other filters", err, audit.EINVALID, "cursor")
		}
		if len(seen) != 6 || seen[0] != 6 || seen[5] != 1 {
			t.Errorf("paged seqs %v; want 6 down to 1", seen)
		}
		_, err := f.app.ListEvents(f.ctx, tn.p, app.EventQuery{Page: audit.PageRequest{Page: 1, PerPage: 2}, Cursor: "forged"})
		wantCode(t, "forged cursor", err, audit.EINVALID, "cursor")
		_, analyst := f.addUser(tn, audit.RoleAnalyst, "analyst")
		_, err = f.app.ListEvents(f.ctx, analyst, app.EventQuery{Page: audit.PageRequest{Page: 1, PerPage: 2}})
		wantCode(t, "ListEvents by an analyst", err, audit.EFORBIDDEN, "")
	})
}
