package app_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// TestViewerNarrowing: a viewer token narrowed to a fixed search never
// reveals an event outside it, by any read a viewer can make — the listing
// and its totals, its own searches (OR, negation, lists, phrases, free
// words), filters, cursors (its own and an owner's), one event by ID,
// proofs, exports in every format — and is refused every other read
// (analytics, server-side verification), on every engine. Each event's
// resource_id says whether the grant allows it ("ok-…") or not ("no-…");
// another account holds events the grant's search would match.
func TestViewerNarrowing(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn := f.newTenant("acme")
		other := f.newTenant("other")

		// The account's events: who acted and what, and which grants
		// allow each (a = actor:staff_ann, b = -action:internal.*).
		type ev struct {
			actor, action string
			a, b          bool
		}
		evs := []ev{
			{"staff_ann", "order.refunded", true, true},
			{"staff_ann", "internal.sync", true, false},
			{"staff_bob", "order.refunded", false, true},
			{"staff_bob", "internal.debug", false, false},
			{"cust_9", "product.updated", false, true},
			{"staff_ann", "product.updated", true, true},
			{"staff_bob", "internal.sync", false, false},
			{"staff_ann", "order.refunded", true, true},
		}
		var stored []*audit.Event
		for round := range 2 { // enough events for several pages
			for i, e := range evs {
				stored = append(stored, &audit.Event{AccountID: tn.account.ID, Action: e.action, ResourceType: "order",
					ResourceID: fmt.Sprintf("r%d-%d", round, i), ActorType: "staff", ActorID: e.actor, ActorName: e.actor,
					Details: "the word deny appears in every event"})
			}
		}
		otherEvents := []*audit.Event{
			{AccountID: other.account.ID, Action: "order.refunded", ResourceID: "no-other-1", ActorType: "staff", ActorID: "staff_ann", Details: "deny"},
			{AccountID: other.account.ID, Action: "product.updated", ResourceID: "no-other-2", ActorType: "staff", ActorID: "staff_ann", Details: "deny"},
		}
		signer := sqltest.Signer(t)
		if err := db.Update(f.ctx, func(tx *sqlstore.Tx) error {
			res, err := tx.AppendEvents(f.ctx, signer, stored...)
			if err != nil {
				return err
			}
			for i := range res {
				stored[i] = res[i].Event
			}
			if res, err = tx.AppendEvents(f.ctx, signer, otherEvents...); err != nil {
				return err
			}
			for i := range res {
				otherEvents[i] = res[i].Event
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if stored[0].ID == 0 || otherEvents[0].ID == 0 {
			t.Fatal("the appended events have no IDs")
		}

		all := []string{app.FeatureExport, app.FeatureSearch, app.FeatureVerify}
		for _, g := range []struct {
			name     string
			q        string
			features []string
			allows   func(ev) bool
		}{
			{"one staff member", "actor:staff_ann", all, func(e ev) bool { return e.a }},
			{"no internal actions", "-action:internal.*", all, func(e ev) bool { return e.b }},
			{"both, search only", "actor:staff_ann -action:internal.*", []string{app.FeatureSearch}, func(e ev) bool { return e.a && e.b }},
		} {
			t.Run(g.name, func(t *testing.T) {
				token, _, err := f.app.CreateViewerToken(f.ctx, tn.p, origin, app.NewViewerToken{Query: g.q, Features: g.features, Origins: []string{"https://admin.example.com"}})
				if err != nil {
					t.Fatal(err)
				}
				session, _, err := f.app.ExchangeViewerToken(f.ctx, origin, token)
				if err != nil {
					t.Fatal(err)
				}
				v, err := f.app.AuthenticateViewer(f.ctx, session)
				if err != nil {
					t.Fatal(err)
				}
				allowed := map[int64]bool{} // event ID → the grant allows it
				for i, e := range stored {
					allowed[e.ID] = g.allows(evs[i%len(evs)])
				}
				for _, e := range otherEvents {
					allowed[e.ID] = false
				}
				// visible checks what a read returned: nothing outside
				// the grant; an event the service recorded itself
				// (viewer_token_created, audit_log.viewed) is allowed
				// when it matches the search, which the store decides.
				visible := func(what string, got []*audit.Event) {
					t.Helper()
					for _, e := range got {
						if ok, known := allowed[e.ID]; known && !ok || e.AccountID != tn.account.ID {
							t.Errorf("%s revealed event %d (%s by %s, account %d)", what, e.ID, e.Action, e.ActorID, e.AccountID)
						}
						if g.q == "actor:staff_ann" && e.ActorID != "staff_ann" {
							t.Errorf("%s revealed event %d by %s", what, e.ID, e.ActorID)
						}
						if strings.HasPrefix(g.q, "-action:internal") && strings.HasPrefix(e.Action, "internal.") {
							t.Errorf("%s revealed %s", what, e.Action)
						}
					}
				}
				searches := []string{"", "OR actor:staff_bob", "actor:staff_bob", "-actor:staff_ann", "action:internal.sync",
					"action:internal.*", "actor:staff_ann,staff_bob", "action:order.refunded,internal.debug", `"deny appears"`, "deny",
					"-action:order.refunded", "created:>2000-01-01", "resource_id:r0-3", "NOT actor:staff_ann", "(actor:staff_bob)"}
				filters := []audit.EventFilter{{}, {Action: "internal.sync"}, {Action: "internal.debug"}, {ResourceType: "order"}}
				for _, q := range searches {
					for _, flt := range filters {
						what := fmt.Sprintf("q=%q filter=%+v", q, flt)
						// Every page, by cursor, and the totals.
						var seen []*audit.Event
						var total int64
						cursor := ""
						for pages := 0; pages < 20; pages++ {
							l, err := f.app.ListEvents(f.ctx, v, app.EventQuery{Search: q, Filter: flt, Cursor: cursor, Page: audit.PageRequest{Page: 1, PerPage: 3}})
							if err != nil {
								if audit.ErrorCode(err) != audit.EINVALID {
									t.Errorf("%s: %v", what, err)
								}
								break
							}
							if pages == 0 {
								total = l.Pagination.Total
							}
							seen = append(seen, l.Events...)
							if cursor = l.NextCursor; cursor == "" {
								break
							}
						}
						visible("list "+what, seen)
						if total > int64(len(seen)) {
							t.Errorf("list %s: total %d counts events it does not list (%d)", what, total, len(seen))
						}
					}
				}
				// An owner's cursor (same account, no search) does not widen.
				owned, err := f.app.ListEvents(f.ctx, tn.p, app.EventQuery{Page: audit.PageRequest{Page: 1, PerPage: 2}})
				if err != nil || owned.NextCursor == "" {
					t.Fatalf("owner's listing: %v", err)
				}
				if l, err := f.app.ListEvents(f.ctx, v, app.EventQuery{Cursor: owned.NextCursor, Page: audit.PageRequest{PerPage: 50}}); err == nil {
					visible("list with the owner's cursor", l.Events)
				}
				// A forged cursor is refused.
				if _, err := f.app.ListEvents(f.ctx, v, app.EventQuery{Cursor: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}); audit.ErrorCode(err) != audit.EINVALID {
					t.Errorf("a forged cursor: %v", err)
				}

				// One event by ID, and its proof.
				for id, ok := range allowed {
					e, err := f.app.Event(f.ctx, v, id)
					switch {
					case ok && err != nil:
						t.Errorf("event %d inside the grant: %v", id, err)
					case !ok && audit.ErrorCode(err) != audit.ENOTFOUND:
						t.Errorf("event %d outside the grant: %v, %v; want not found", id, e, err)
					}
					_, err = f.app.ProveEvent(f.ctx, v, id, 0)
					switch {
					case !slicesHas(g.features, app.FeatureVerify):
						wantCode(t, "proof without verify", err, audit.EFORBIDDEN, "")
					case ok && err != nil:
						t.Errorf("proof of event %d inside the grant: %v", id, err)
					case !ok && audit.ErrorCode(err) != audit.ENOTFOUND:
						t.Errorf("proof of event %d outside the grant: %v; want not found", id, err)
					}
				}

				// Exports, in every format, with the viewer's own searches.
				for _, format := range app.ExportFormats {
					for _, q := range searches[:8] {
						var buf bytes.Buffer
						var x *app.Export
						err := f.app.Export(f.ctx, v, origin, app.ExportRequest{Format: format, Search: q},
							func(e *app.Export) io.Writer { x = e; return &buf })
						if !slicesHas(g.features, app.FeatureExport) {
							wantCode(t, "export without the feature", err, audit.EFORBIDDEN, "")
							continue
						}
						if err != nil {
							if audit.ErrorCode(err) != audit.EINVALID {
								t.Errorf("export %s q=%q: %v", format, q, err)
							}
							continue
						}
						want := 0
						for _, ok := range allowed {
							if ok {
								want++
							}
						}
						body := buf.String()
						for i, e := range stored {
							if !g.allows(evs[i%len(evs)]) && format != app.FormatPDF && strings.Contains(body, `"`+e.ResourceID+`"`) ||
								!g.allows(evs[i%len(evs)]) && format == app.FormatCSV && strings.Contains(body, ","+e.ResourceID+",") {
								t.Errorf("export %s q=%q holds %s (%s by %s)", format, q, e.ResourceID, e.Action, e.ActorID)
							}
						}
						// At most the allowed events and the service's own.
						size, err := db.LogSize(f.ctx, tn.account.ID)
						if err != nil {
							t.Fatal(err)
						}
						if strings.Contains(body, "no-other") || x.Events > int64(want)+size-int64(len(stored)) {
							t.Errorf("export %s q=%q: %d events, another account's: %v", format, q, x.Events, strings.Contains(body, "no-other"))
						}
						if format == app.FormatNDJSON {
							for _, line := range strings.Split(body, "\n") {
								for i, e := range stored {
									if !g.allows(evs[i%len(evs)]) && strings.Contains(line, `"resource_id":"`+e.ResourceID+`"`) {
										t.Errorf("NDJSON export q=%q holds %s", q, e.ResourceID)
									}
								}
							}
						}
					}
				}

				// Every other read is refused.
				if _, err := f.app.AnalyticsSummary(f.ctx, v, app.AnalyticsQuery{}); audit.ErrorCode(err) != audit.EFORBIDDEN {
					t.Errorf("analytics summary: %v", err)
				}
				if _, err := f.app.AnalyticsTop(f.ctx, v, app.AnalyticsQuery{Dimension: "actor"}); audit.ErrorCode(err) != audit.EFORBIDDEN {
					t.Errorf("analytics top: %v", err)
				}
				if _, err := f.app.VerifyLog(f.ctx, v); audit.ErrorCode(err) != audit.EFORBIDDEN {
					t.Errorf("verify: %v", err)
				}
			})
		}
	})
}

func slicesHas(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
