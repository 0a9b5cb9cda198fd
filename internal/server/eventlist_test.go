package server

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// referenceEventList is the listing's body as encoding/json wrote it
// before appendEventList: the reference the hand-written encoder must
// match byte for byte.
func referenceEventList(t testing.TB, events []*audit.Event, p eventPaginationJSON) ([]byte, error) {
	t.Helper()
	out := eventListJSON{AuditLogs: make([]EventJSON, len(events)), Pagination: p}
	for i, e := range events {
		out.AuditLogs[i] = eventJSON(e)
	}
	return encodeJSON(out)
}

// TestEventListMatchesJSON holds appendEventList to encoding/json's
// encoding of the same listing, byte for byte, for every field of an
// event: each optional field present and absent (null), an erased event
// (no salt: personal_data_erased, its personal fields null), a user actor
// (actor.id from user_id) with and without the acting user as they are
// now, external actors, text that encoding/json escapes, stored metadata
// and changes that it copies and that it rewrites (whitespace, HTML
// characters, U+2028), times in other zones and before the epoch; and the
// pagination of a page by number and by cursor, exact and not.
func TestEventListMatchesJSON(t *testing.T) {
	texts := []string{
		"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
		"\x00\x01\x1f\x7f", "é日本語🙂", "bad \xff\xfe utf8 \xc3", "line\u2028para\u2029", "\u00a0\ufeff\ufffd",
	}
	raws := []string{
		"", `{}`, `{"amount_cents":4200,"currency":"EUR","note":"a b"}`, `[{"field":"price","old":"1","new":"2"}]`,
		`{"h":"<b>&</b>"}`, `{"a": [1, 2]}`, "{\"s\":\"\u2028\"}", `{"e":"€ \"q\" \\"}`,
	}
	paris := time.FixedZone("CET", 3600)
	var events []*audit.Event
	for i := range 2 * len(texts) * len(raws) {
		s := texts[i%len(texts)]
		e := &audit.Event{
			ID: int64(i) + 1<<40, AccountID: 7, Seq: int64(i + 1), Action: "order." + s, ResourceType: s, ResourceID: texts[(i+1)%len(texts)],
			Details: s, IPAddress: texts[(i+2)%len(texts)], UserAgent: s, ActorType: "customer", ActorID: s, ActorEmail: texts[(i+3)%len(texts)],
			ActorName: s, EventID: s, Outcome: []string{"", audit.OutcomeSuccess, audit.OutcomeFailure}[i%3],
			CreatedAt: time.Date(2026, 12, 2, 16, 30, 0, i*1000, time.UTC), Salt: []byte("salt"),
		}
		for j := range e.LeafHash {
			e.LeafHash[j] = byte(i + j*7)
		}
		if r := raws[i%len(raws)]; r != "" {
			e.Metadata = []byte(r)
		}
		if r := raws[(i/len(texts))%len(raws)]; r != "" {
			e.Changes = []byte(r)
		}
		switch i % 5 {
		case 0: // a user of the account, as they are now
			e.UserID, e.ActorType, e.ActorID = 42, audit.ActorUser, ""
			e.User = &audit.User{ID: 42, AccountID: 7, Email: "o" + s + "@example.com", FirstName: s, LastName: "L" + s, Role: audit.RoleOwner}
		case 1: // a user since deleted
			e.UserID, e.ActorType = 43, audit.ActorUser
		case 2: // erased: personal fields blank, no salt
			e.Salt, e.ActorID, e.ActorEmail, e.ActorName, e.IPAddress, e.UserAgent, e.Details, e.Metadata, e.Changes = nil, "", "", "", "", "", "", nil, nil
		case 3: // an API key
			e.ActorType, e.APIKeyID = audit.ActorAPIKey, 9
		}
		if i%4 == 0 {
			e.OccurredAt = time.Date(2026, 12, 1, 9, 0, 0, 123456000, paris)
		}
		if i%7 == 0 {
			e.CreatedAt = time.Date(1969, 7, 20, 20, 17, 40, 0, paris)
		}
		events = append(events, e)
	}
	cursor := "abc_-123"
	page := 3
	for _, c := range []struct {
		name   string
		events []*audit.Event
		p      eventPaginationJSON
	}{
		{"empty", []*audit.Event{}, eventPaginationJSON{PaginationJSON: PaginationJSON{Page: &page, PerPage: 50}, TotalExact: true}},
		{"one", events[:1], eventPaginationJSON{PaginationJSON: PaginationJSON{Page: &page, PerPage: 1, Total: 1, Pages: 1}, TotalExact: true}},
		{"by page", events, eventPaginationJSON{PaginationJSON: PaginationJSON{Page: &page, PerPage: 200, Total: 10_000, Pages: 50, HasNext: true, HasPrev: true, NextCursor: &cursor}}},
		{"by cursor", events[3:], eventPaginationJSON{PaginationJSON: PaginationJSON{PerPage: 200, Total: 161, Pages: 1, HasPrev: true}, TotalExact: true}},
	} {
		want, err := referenceEventList(t, c.events, c.p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendEventList(nil, c.events, c.p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %s", c.name, firstDifference(got, want))
		}
	}
	// Stored JSON that is not JSON, and that is not copied as it is (not
	// compact), fails as encoding/json failed. (Compact text is copied
	// unchecked: the store holds only JSON that ingest validated.)
	bad := &audit.Event{Action: "x", Metadata: []byte(`{"a": `), Salt: []byte{}}
	if _, err := referenceEventList(t, []*audit.Event{bad}, eventPaginationJSON{}); err == nil {
		t.Fatal("encoding/json took invalid metadata")
	}
	if _, err := appendEventList(nil, []*audit.Event{bad}, eventPaginationJSON{}); err == nil {
		t.Error("appendEventList took invalid metadata")
	}
}

// TestListBodyMatchesJSON lists real pages through the API as each kind
// of caller (an owner, an admin, an API key), by page, by cursor and with
// a search, and checks each body byte for byte against the same page
// rendered through encoding/json (Server.reflectList), on every engine.
func TestListBodyMatchesJSON(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db, withConfig(func(c *config.Config) { c.ListCacheMB = 0 }))
		tn := e.newTenant("acme")
		admin, adminID := e.addUser(tn, audit.RoleAdmin)
		key, _ := e.newKey(tn, "siem", "events:read")
		base := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
		var evs []*audit.Event
		for i := range 23 {
			ev := &audit.Event{
				AccountID: tn.accountID, Action: "order.refunded", ResourceType: "order", ResourceID: "ord_" + strconv.Itoa(i),
				Details: "Refunded <b>" + strconv.Itoa(i) + "</b> & more\n\u2028", IPAddress: "203.0.113.9", UserAgent: "curl/8",
				ActorType: "customer", ActorID: "cus_" + strconv.Itoa(i), ActorEmail: "c@example.com", ActorName: "Zoë \"Q\"",
				CreatedAt: base.Add(time.Duration(i) * time.Minute), Metadata: []byte(`{"amount_cents":4200,"note":"a <b> & c"}`),
				Changes: []byte(`[{"field":"status","old":"paid","new":"refunded"}]`),
			}
			switch i % 3 {
			case 0:
				ev.ActorType, ev.UserID, ev.ActorID = audit.ActorUser, adminID, ""
			case 1:
				ev.Outcome, ev.EventID, ev.OccurredAt, ev.Metadata, ev.Changes = audit.OutcomeFailure, "evt-"+strconv.Itoa(i), base, nil, nil
			}
			evs = append(evs, ev)
		}
		e.appendEvents(evs...)
		if err := e.app.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		// A search's cursor carries the time it was resolved at: one
		// time for both renderings.
		e.setNow(time.Now())
		for _, c := range []struct {
			name   string
			caller *client
		}{{"owner", tn.owner}, {"admin", admin}, {"api key", key}} {
			for _, query := range []string{"", "per_page=5", "per_page=5&page=3", "per_page=100", "q=refunded&per_page=4", "action=order.refunded&per_page=6&page=2"} {
				e.srv.reflectList = false
				got := c.caller.do("GET", "/api/audit-logs?"+query, nil).want(t, http.StatusOK)
				e.srv.reflectList = true
				want := c.caller.do("GET", "/api/audit-logs?"+query, nil).want(t, http.StatusOK)
				e.srv.reflectList = false
				if !bytes.Equal(got.raw, want.raw) {
					t.Errorf("%s, ?%s: %s", c.name, query, firstDifference(got.raw, want.raw))
				}
				// The next page by cursor, when there is one.
				if next, _ := got.obj("pagination")["next_cursor"].(string); next != "" {
					path := "/api/audit-logs?" + query + "&cursor=" + next
					got := c.caller.do("GET", path, nil).want(t, http.StatusOK)
					e.srv.reflectList = true
					want := c.caller.do("GET", path, nil).want(t, http.StatusOK)
					e.srv.reflectList = false
					if !bytes.Equal(got.raw, want.raw) {
						t.Errorf("%s, ?%s, next page: %s", c.name, query, firstDifference(got.raw, want.raw))
					}
				}
			}
		}
	})
}

// firstDifference describes where got first differs from want.
func firstDifference(got, want []byte) string {
	i := 0
	for i < min(len(got), len(want)) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("the bodies differ from byte %d:\n got …%s\nwant …%s", i, got[max(0, i-80):min(len(got), i+80)], want[max(0, i-80):min(len(want), i+80)])
}

func FuzzEventList(f *testing.F) {
	f.Add("x", "y", []byte(`{"a":1}`), true)
	f.Add("\xff<\u2028", "", []byte(`{"a": "<"}`), false)
	f.Fuzz(func(t *testing.T, s, s2 string, meta []byte, user bool) {
		e := &audit.Event{
			ID: 1, Seq: 2, Action: s, ResourceType: s2, ResourceID: s, Details: s2, IPAddress: s, UserAgent: s2,
			ActorType: s, ActorID: s2, ActorEmail: s, ActorName: s2, EventID: s, Outcome: s2, Metadata: meta, Salt: meta,
			CreatedAt: time.Unix(int64(len(s))*1e8, 0),
		}
		if user {
			e.UserID, e.User = int64(len(s2)+1), &audit.User{ID: 5, Email: s, FirstName: s2, LastName: s, Role: audit.Role(s2)}
		}
		cursor := strconv.Quote(s)
		p := eventPaginationJSON{PaginationJSON: PaginationJSON{PerPage: len(s), NextCursor: &cursor}}
		want, werr := referenceEventList(t, []*audit.Event{e}, p)
		got, gerr := appendEventList(nil, []*audit.Event{e}, p)
		if (werr == nil) != (gerr == nil) && werr != nil {
			// appendEventList copies compact stored JSON without
			// validating it (jsonenc.AppendRaw): it differs only on
			// metadata that is not JSON, which the store never holds.
			return
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
}
