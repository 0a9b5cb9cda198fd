package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// customerEvents are events about the customer jane (cust-42) and one
// about bob, in the account, as a platform would send them.
func customerEvents(accountID int64) []*audit.Event {
	return []*audit.Event{
		{AccountID: accountID, Action: "order.created", ResourceType: "order", ResourceID: "1001", ActorType: "customer", ActorID: "cust-42",
			ActorEmail: "Jane.Doe@customer.example", ActorName: "Jane Doe", IPAddress: "198.51.100.7", UserAgent: "JaneBrowser/1.0",
			Details: "Order placed", Metadata: []byte(`{"ship_to":"Jane Doe","city":"Lyon"}`)},
		{AccountID: accountID, Action: "order.refunded", ResourceType: "order", ResourceID: "1001", ActorType: "system",
			Details: "Refund sent to jane.doe@customer.example", Changes: []byte(`[{"field":"status","old":"paid","new":"refunded"}]`)},
		{AccountID: accountID, Action: "order.created", ResourceType: "order", ResourceID: "1002", ActorType: "customer", ActorID: "cust-7",
			ActorEmail: "bob@customer.example", ActorName: "Bob Roe", IPAddress: "198.51.100.8", Details: "Order placed"},
	}
}

func TestErasure(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		other := e.newTenant("other")
		admin, _ := e.addUser(tn, audit.RoleAdmin)
		analyst, _ := e.addUser(tn, audit.RoleAnalyst)
		key, _ := e.newKey(tn, "svc", "events:read", "events:write")
		e.appendEvents(customerEvents(tn.accountID)...)
		e.appendEvents(customerEvents(other.accountID)...)
		const jane = "jane.doe@customer.example"
		// A chat question that quotes her email.
		tn.owner.do("POST", "/api/chat", map[string]any{"message": "what did " + jane + " do?"}).want(t, http.StatusOK)

		t.Run("roles", func(t *testing.T) {
			for name, c := range map[string]*client{"admin": admin, "analyst": analyst, "api key": key} {
				c.do("POST", "/api/erasures", map[string]any{"email": jane}).wantError(t, http.StatusForbidden, "forbidden", "")
				c.do("GET", "/api/erasures", nil).wantError(t, http.StatusForbidden, "forbidden", "")
				_ = name
			}
			e.client().do("POST", "/api/erasures", map[string]any{"email": jane}).want(t, http.StatusUnauthorized)
		})

		t.Run("bad input", func(t *testing.T) {
			tests := []struct {
				name   string
				body   any
				status int
				code   string
				field  string
			}{
				{"no subject", map[string]any{}, 400, "invalid", ""},
				{"two subjects", map[string]any{"email": jane, "actor_id": "cust-42"}, 400, "invalid", ""},
				{"bad email", map[string]any{"email": "jane@"}, 400, "invalid", "email"},
				{"negative user", map[string]any{"user_id": -1}, 400, "invalid", "user_id"},
				{"user_id as text", map[string]any{"user_id": "1"}, 400, "invalid", "user_id"},
				{"unknown user", map[string]any{"user_id": 1 << 40}, 404, "not_found", ""},
				{"another account's user", map[string]any{"user_id": other.ownerID}, 404, "not_found", ""},
				{"blank actor", map[string]any{"actor_id": "  "}, 400, "invalid", "actor_id"},
				{"long actor", map[string]any{"actor_id": strings.Repeat("a", 256)}, 400, "invalid", "actor_id"},
				{"anonymise an actor", map[string]any{"actor_id": "cust-42", "anonymize_user": true}, 400, "invalid", "anonymize_user"},
				{"anonymise an email of no user", map[string]any{"email": jane, "anonymize_user": true}, 400, "invalid", "anonymize_user"},
				{"the last owner", map[string]any{"user_id": tn.ownerID, "anonymize_user": true}, 409, "conflict", "anonymize_user"},
				{"not an object", `[1]`, 400, "invalid", ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					tn.owner.do("POST", "/api/erasures", tt.body).wantError(t, tt.status, tt.code, tt.field)
				})
			}
			if got := tn.owner.do("GET", "/api/erasures", nil).want(t, http.StatusOK).list("erasures"); len(got) != 0 {
				t.Errorf("refused erasures were recorded: %v", got)
			}
		})

		// Erase jane by email: her event, the refund that names her, and the
		// owner's chat.query event that quoted her email.
		r := tn.owner.do("POST", "/api/erasures", map[string]any{"email": "  " + strings.ToUpper(jane)}).want(t, http.StatusCreated)
		er := r.obj("erasure")
		if num(er, "events") != 3 || num(er["fields"].(map[string]any), "details") != 3 || num(er["fields"].(map[string]any), "actor_id") != 1 ||
			num(er, "chat_turns") != 2 || num(er, "requested_by") != tn.ownerID || er["subject"].(map[string]any)["type"] != "email" {
			t.Errorf("erasure %s", r.raw)
		}
		if bytes.Contains(bytes.ToLower(r.raw), []byte("jane")) {
			t.Errorf("the erasure names its subject: %s", r.raw)
		}

		t.Run("gone everywhere", func(t *testing.T) {
			for _, q := range []string{"per_page=100", "q=" + url.QueryEscape(jane), "q=jane", "q=" + url.QueryEscape("actor:"+jane), "q=lyon", "action=order.refunded"} {
				r := tn.events(t, q)
				if bytes.Contains(bytes.ToLower(r.raw), []byte("jane")) {
					t.Errorf("GET /api/audit-logs?%s shows her: %s", q, r.raw)
				}
				if strings.HasPrefix(q, "q=") && len(r.list("audit_logs")) != 0 {
					t.Errorf("search %s finds %d events", q, len(r.list("audit_logs")))
				}
			}
			refund := tn.events(t, "action=order.refunded").list("audit_logs")[0].(map[string]any)
			one := tn.owner.do("GET", fmt.Sprintf("/api/audit-logs/%d", num(refund, "id")), nil).want(t, http.StatusOK)
			ev := one.obj("audit_log")
			if ev == nil {
				ev = one.body
			}
			if ev["personal_data_erased"] != true || ev["details"] != nil || ev["action"] != "order.refunded" || ev["resource_id"] != "1001" {
				t.Errorf("erased event %s", one.raw)
			}
			bob := tn.events(t, "q=bob").list("audit_logs")
			if len(bob) != 1 || bob[0].(map[string]any)["personal_data_erased"] != nil {
				t.Errorf("bob's event: %v", bob)
			}
			top := tn.owner.do("GET", "/api/analytics/top?dimension=actor&limit=10", nil).want(t, http.StatusOK)
			if bytes.Contains(bytes.ToLower(top.raw), []byte("jane")) || !bytes.Contains(top.raw, []byte("bob@customer.example")) {
				t.Errorf("top actors: %s", top.raw)
			}
			ips := tn.owner.do("GET", "/api/analytics/top?dimension=ip_address&limit=10", nil).want(t, http.StatusOK)
			if bytes.Contains(ips.raw, []byte("198.51.100.7")) || !bytes.Contains(ips.raw, []byte("198.51.100.8")) {
				t.Errorf("top addresses: %s", ips.raw)
			}
			f := fetchExport(t, tn.owner, "format=ndjson")
			if f.status != http.StatusOK || bytes.Contains(bytes.ToLower(f.body), []byte("jane")) {
				t.Fatalf("export %d shows her:\n%s", f.status, f.body)
			}
			rep, err := export.Verify(bytes.NewReader(f.body), sqltest.Signer(t).VerifierKey())
			if err != nil || !rep.Complete || rep.Erased != 3 {
				t.Errorf("export verification: %+v, %v", rep, err)
			}
			if v := tn.owner.do("GET", "/api/audit-logs/verify", nil).want(t, http.StatusOK); v.body["ok"] != true {
				t.Errorf("verify after erasure: %s", v.raw)
			}
			convs := tn.owner.do("GET", "/api/chat/conversations", nil).want(t, http.StatusOK).list("conversations")
			for _, c := range convs {
				conv := tn.owner.do("GET", fmt.Sprintf("/api/chat/conversations/%d", num(c.(map[string]any), "id")), nil).want(t, http.StatusOK)
				if bytes.Contains(bytes.ToLower(conv.raw), []byte("jane")) || !bytes.Contains(conv.raw, []byte("[erased]")) {
					t.Errorf("chat conversation: %s", conv.raw)
				}
			}
		})

		t.Run("other account untouched", func(t *testing.T) {
			r := other.owner.do("GET", "/api/audit-logs?q="+url.QueryEscape(jane), nil).want(t, http.StatusOK)
			if len(r.list("audit_logs")) != 2 {
				t.Errorf("the other account's events of the same email: %s", r.raw)
			}
			if l := other.owner.do("GET", "/api/erasures", nil).want(t, http.StatusOK).list("erasures"); len(l) != 0 {
				t.Errorf("the other account lists %v", l)
			}
		})

		t.Run("recorded", func(t *testing.T) {
			evs := tn.eventsWith(t, audit.ActionPersonalDataErased)
			if len(evs) != 1 || strings.Contains(strings.ToLower(fmt.Sprint(evs[0])), "jane") || num(evs[0], "seq") != num(er, "id") {
				t.Errorf("erasure events %v", evs)
			}
			l := tn.owner.do("GET", "/api/erasures", nil).want(t, http.StatusOK).list("erasures")
			if len(l) != 1 || num(l[0].(map[string]any), "id") != num(er, "id") {
				t.Errorf("erasures %v", l)
			}
		})

		t.Run("repeat", func(t *testing.T) {
			again := tn.owner.do("POST", "/api/erasures", map[string]any{"email": jane}).want(t, http.StatusCreated).obj("erasure")
			if num(again, "events") != 0 || again["subject"].(map[string]any)["ref"] != er["subject"].(map[string]any)["ref"] {
				t.Errorf("repeat %v; first %v", again, er)
			}
			if v := tn.owner.do("GET", "/api/audit-logs/verify", nil).want(t, http.StatusOK); v.body["ok"] != true {
				t.Errorf("verify after the repeat: %s", v.raw)
			}
		})

		t.Run("actor", func(t *testing.T) {
			r := tn.owner.do("POST", "/api/erasures", map[string]any{"actor_id": "cust-7"}).want(t, http.StatusCreated).obj("erasure")
			if num(r, "events") != 1 {
				t.Errorf("actor erasure %v", r)
			}
			if got := tn.events(t, "q=bob").list("audit_logs"); len(got) != 0 {
				t.Errorf("bob still found: %v", got)
			}
		})

		t.Run("user anonymised", func(t *testing.T) {
			ana, anaID := e.addUserNamed(tn, audit.RoleAdmin, "ana.lyst")
			ana.do("GET", "/api/users", nil).want(t, http.StatusOK)
			e.newKey(tn, "ana's key", "events:read") // made by the owner: stays
			r := tn.owner.do("POST", "/api/erasures", map[string]any{"user_id": anaID, "anonymize_user": true}).want(t, http.StatusCreated).obj("erasure")
			// user_created (about her, naming her) and her sign-in.
			if num(r, "events") < 2 || r["user_anonymized"] != true || r["subject"].(map[string]any)["ref"] != fmt.Sprintf("user:%d", anaID) {
				t.Errorf("user erasure %v", r)
			}
			ana.do("GET", "/api/users", nil).want(t, http.StatusUnauthorized)
			e.client().do("POST", "/api/auth/login", map[string]string{"email": "ana.lyst@" + tn.domain, "password": "user-password"}).want(t, http.StatusUnauthorized)
			users := tn.owner.do("GET", "/api/users", nil).want(t, http.StatusOK)
			if bytes.Contains(users.raw, []byte("ana.lyst")) || !bytes.Contains(users.raw, []byte(fmt.Sprintf("erased-user-%d@", anaID))) {
				t.Errorf("users: %s", users.raw)
			}
			if all := tn.events(t, "per_page=100"); bytes.Contains(all.raw, []byte("ana.lyst")) {
				t.Errorf("events still name her: %s", all.raw)
			}
			if v := tn.owner.do("GET", "/api/audit-logs/verify", nil).want(t, http.StatusOK); v.body["ok"] != true {
				t.Errorf("verify after the user erasure: %s", v.raw)
			}
		})
	})
}
