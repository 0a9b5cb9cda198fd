package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/sqlstore/storetest"
	"github.com/auditlog/auditlog/internal/tlog"
)

func hashOf(t *testing.T, v any) tlog.Hash {
	t.Helper()
	var h tlog.Hash
	b, _ := json.Marshal(v)
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("not a hash: %v", v)
	}
	return h
}

func hashList(t *testing.T, v any) []tlog.Hash {
	var out []tlog.Hash
	for _, x := range v.([]any) {
		out = append(out, hashOf(t, x))
	}
	return out
}

func TestVerifiableLogAPI(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		other := e.newTenant("other")
		for i := range 20 {
			e.appendEvents(&audit.Event{AccountID: tn.accountID, Action: fmt.Sprintf("order_%d", i%3), ResourceType: "order"})
		}

		// The verifier key is public and is the store's.
		vk := e.client().do("GET", "/api/verifier-key", nil).want(t, 200)
		vkey, _ := vk.body["verifier_key"].(string)
		if vkey != sqltest.Signer(t).VerifierKey() || vk.body["algorithm"] != "Ed25519" {
			t.Fatalf("verifier key %s", vk.raw)
		}

		// The latest checkpoint is signed by that key and covers the log.
		cp := tn.owner.do("GET", "/api/audit-logs/checkpoint", nil).want(t, 200)
		size := num(cp.body, "tree_size")
		signed, err := tlog.OpenCheckpoint([]byte(cp.body["checkpoint"].(string)), vkey)
		if err != nil || signed.Size != size || signed.Root != hashOf(t, cp.body["root_hash"]) || signed.Origin != cp.body["origin"] {
			t.Fatalf("checkpoint %s: %+v, %v", cp.raw, signed, err)
		}
		if size != 23 { // 3 for the account's creation and sign-in, 20 appended
			t.Errorf("tree size %d; want 23", size)
		}
		tn.owner.do("GET", "/api/audit-logs/checkpoint?size=4", nil).want(t, 200)
		tn.owner.do("GET", "/api/audit-logs/checkpoint?size=1", nil).wantError(t, 404, "not_found", "")
		tn.owner.do("GET", "/api/audit-logs/checkpoint?size=x", nil).wantError(t, 400, "invalid", "size")

		// Each listed event proves its inclusion with its leaf hash.
		list := tn.events(t, "per_page=100").list("audit_logs")
		for _, item := range list {
			ev := item.(map[string]any)
			p := tn.owner.do("GET", fmt.Sprintf("/api/audit-logs/%d/proof", num(ev, "id")), nil).want(t, 200)
			if hashOf(t, p.body["leaf_hash"]) != hashOf(t, ev["leaf_hash"]) || num(p.body, "seq") != num(ev, "seq") {
				t.Fatalf("proof %s does not match event %v", p.raw, ev)
			}
			err := tlog.VerifyInclusion(hashList(t, p.body["proof"]), num(p.body, "tree_size"), hashOf(t, p.body["root_hash"]),
				num(p.body, "leaf_index"), hashOf(t, ev["leaf_hash"]))
			if err != nil {
				t.Errorf("event %v: %v", ev["seq"], err)
			}
		}
		otherEvent := other.events(t, "per_page=1").list("audit_logs")[0].(map[string]any)
		tn.owner.do("GET", fmt.Sprintf("/api/audit-logs/%d/proof", num(otherEvent, "id")), nil).wantError(t, 404, "not_found", "")
		tn.owner.do("GET", "/api/audit-logs/abc/proof", nil).wantError(t, 404, "not_found", "")

		// Consistency between the first checkpoint and the latest.
		c := tn.owner.do("GET", "/api/audit-logs/consistency?from=2", nil).want(t, 200)
		from, to := c.obj("from"), c.obj("to")
		if err := tlog.VerifyConsistency(hashList(t, c.body["proof"]), num(from, "tree_size"), hashOf(t, from["root_hash"]),
			num(to, "tree_size"), hashOf(t, to["root_hash"])); err != nil {
			t.Errorf("consistency: %v (%s)", err, c.raw)
		}
		if num(c.body, "from_size") != 2 || num(c.body, "to_size") != size || hashOf(t, c.body["to_root"]) != signed.Root {
			t.Errorf("consistency sizes and roots: %s", c.raw)
		}
		// From and to any sizes, with null where no checkpoint is stored.
		c = tn.owner.do("GET", "/api/audit-logs/consistency?from=1&to=10", nil).want(t, 200)
		if c.body["from"] != nil || num(c.body, "to_size") != 10 {
			t.Errorf("consistency from an unsigned size: %s", c.raw)
		}
		if err := tlog.VerifyConsistency(hashList(t, c.body["proof"]), 1, hashOf(t, c.body["from_root"]), 10, hashOf(t, c.body["to_root"])); err != nil {
			t.Errorf("consistency 1→10: %v (%s)", err, c.raw)
		}
		tn.owner.do("GET", "/api/audit-logs/consistency", nil).wantError(t, 400, "invalid", "from")
		tn.owner.do("GET", "/api/audit-logs/consistency?from=5&to=4", nil).wantError(t, 400, "invalid", "from")
		tn.owner.do("GET", fmt.Sprintf("/api/audit-logs/consistency?from=1&to=%d", size+1), nil).wantError(t, 400, "invalid", "to")
		tn.owner.do("GET", fmt.Sprintf("/api/audit-logs/consistency?from=%d", size+1), nil).wantError(t, 400, "invalid", "from")
		tn.owner.do("GET", "/api/audit-logs/consistency?from=0", nil).wantError(t, 400, "invalid", "from")

		// The whole stored log re-checks.
		v := tn.owner.do("GET", "/api/audit-logs/verify", nil).want(t, 200)
		if v.body["ok"] != true || v.body["failure"] != nil || num(v.obj("checked"), "events") != 23 {
			t.Errorf("verify %s", v.raw)
		}

		// Analysts and content creators may not see proofs.
		analyst, _ := e.addUser(tn, audit.RoleAnalyst)
		for _, path := range []string{"/api/audit-logs/checkpoint", "/api/audit-logs/verify", "/api/audit-logs/export", "/api/audit-logs/consistency?from=2"} {
			analyst.do("GET", path, nil).wantError(t, 403, "forbidden", "")
		}
	})
}

func TestVerifyReportsTampering(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db)
	tn := e.newTenant("acme")
	sqltest.Exec(t, db, `UPDATE events SET details = 'nothing to see' WHERE account_id = ? AND seq = 2`, tn.accountID)
	v := tn.owner.do("GET", "/api/audit-logs/verify", nil).want(t, 200)
	f := v.obj("failure")
	if v.body["ok"] != false || num(f, "seq") != 2 || !strings.Contains(fmt.Sprint(f["reason"]), "commitment") {
		t.Errorf("verify of a tampered log: %s", v.raw)
	}
}

// download fetches an export as the tenant's owner.
func download(t *testing.T, tn *tenant, query string) []byte {
	t.Helper()
	resp, err := tn.owner.hc.Get(tn.owner.env.ts.URL + "/api/audit-logs/export?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return body
}

func TestExport(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newTestEnv(t, db)
		tn := e.newTenant("acme")
		e.newTenant("other")
		for i := range 30 {
			e.appendEvents(&audit.Event{AccountID: tn.accountID, Action: []string{"order_refunded", "product_created"}[i%2],
				ResourceType: "order", Details: fmt.Sprintf("event %d", i), IPAddress: "203.0.113.5"})
		}
		vkey := sqltest.Signer(t).VerifierKey()

		file := download(t, tn, "format=ndjson")
		rep, err := export.Verify(bytes.NewReader(file), vkey)
		if err != nil {
			t.Fatalf("complete export does not verify: %v", err)
		}
		// 3 events of creation and sign-in, 30 appended; the export's own
		// record follows the checkpoint it read.
		if !rep.Complete || rep.Events != 33 || rep.TreeSize != 33 || rep.AccountID != tn.accountID {
			t.Errorf("complete export report %+v", rep)
		}
		if bytes.Contains(file, []byte("other.example.com")) {
			t.Error("export holds another account's data")
		}

		file = download(t, tn, "action=order_refunded")
		rep, err = export.Verify(bytes.NewReader(file), vkey)
		if err != nil {
			t.Fatalf("filtered export does not verify: %v", err)
		}
		if rep.Complete || rep.Events != 15 || rep.Filter["action"] != "order_refunded" {
			t.Errorf("filtered export report %+v", rep)
		}

		// Each export is itself audited.
		if got := num(tn.events(t, "action=audit_log_exported").obj("pagination"), "total"); got != 2 {
			t.Errorf("%d audit_log_exported events; want 2", got)
		}
		tn.owner.do("GET", "/api/audit-logs/export?format=xlsx", nil).wantError(t, 400, "invalid", "format")
		tn.owner.do("GET", "/api/audit-logs/export?start_date=never", nil).wantError(t, 400, "invalid", "start_date")
	})
}

// TestForgedLogStopsRecording rewrites an account's stored log as an
// insider would (storetest.ForgeLog, every checkpoint row deleted): the
// service refuses to sign it, so the next write is a 503 that says why,
// and verify reports it.
func TestForgedLogStopsRecording(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	e := newTestEnv(t, db)
	tn := e.newTenant("acme")
	storetest.ForgeLog(t, db, tn.accountID, 1, 1)
	r := tn.owner.do("POST", "/api/users", map[string]string{
		"email": "new@" + tn.domain, "password": "user-password", "first_name": "N", "last_name": "U", "role": "analyst",
	})
	r.wantError(t, 503, "unavailable", "")
	if !strings.Contains(string(r.raw), "Recording is stopped") {
		t.Errorf("write to a forged log: %s", r.raw)
	}
	if got := r.header.Get("Retry-After"); got != "3600" {
		t.Errorf("write to a forged log: Retry-After %q, want 3600 (stopped until an operator acts, not a passing fault)", got)
	}
	v := tn.owner.do("GET", "/api/audit-logs/verify", nil).want(t, 200)
	if v.body["ok"] != false || !strings.Contains(fmt.Sprint(v.obj("failure")["reason"]), "stopped signing") {
		t.Errorf("verify of a forged log: %s", v.raw)
	}
}
