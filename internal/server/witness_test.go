package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/sqlstore/storetest"
	"github.com/auditlog/auditlog/internal/witness/witnesstest"
)

// startTestWitness serves an independent witness of the test signer's
// logs on a real loopback listener.
func startTestWitness(t *testing.T, name string) config.Witness {
	url, vkey := witnesstest.Start(t, name, sqltest.Signer(t).VerifierKey())
	return config.Witness{URL: url, Key: vkey}
}

// TestWitnessAPI checks the HTTP side of witnessing on SQLite: the
// checkpoint carries both witnesses' cosignature lines and names them;
// GET /api/audit-logs/verify lists each witness's cosigned size; after an
// insider rewrite, a service started afresh on the database answers
// verify with ok false, a failure naming the witness, and each witness's
// refusal; and GET /api/verifier-key lists the key with its validity.
func TestWitnessAPI(t *testing.T) {
	db := sqltest.OpenSQLite(t)
	ws := []config.Witness{startTestWitness(t, "w1.example.org"), startTestWitness(t, "w2.example.org")}
	withWitnesses := func(d *testDeps) { d.Config.Witnesses, d.Config.WitnessQuorum = ws, 2 }
	e := newTestEnv(t, db, withWitnesses)
	tn := e.newTenant("acme")
	for i := range 10 {
		e.appendEvents(&audit.Event{AccountID: tn.accountID, Action: fmt.Sprintf("order_%d", i), ResourceType: "order"})
	}
	var cp *response
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		cp = tn.owner.do("GET", "/api/audit-logs/checkpoint", nil).want(t, 200)
		if by, _ := cp.body["cosigned_by"].([]any); len(by) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint not cosigned by both witnesses: %s", cp.raw)
		}
	}
	if note := cp.body["checkpoint"].(string); strings.Count(note, "\n— ") != 3 {
		t.Errorf("checkpoint note without the two cosignature lines:\n%s", note)
	}
	v := tn.owner.do("GET", "/api/audit-logs/verify", nil).want(t, 200)
	wl, _ := v.body["witnesses"].([]any)
	if v.body["ok"] != true || len(wl) != 2 {
		t.Fatalf("verify with witnesses: %s", v.raw)
	}
	for _, w := range wl {
		if m := w.(map[string]any); m["refusal"] != nil || num(m, "cosigned_size") < 1 {
			t.Errorf("witness state %v", m)
		}
	}
	vk := e.client().do("GET", "/api/verifier-key", nil).want(t, 200)
	keys, _ := vk.body["keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["current"] != true || keys[0].(map[string]any)["verifier_key"] != vk.body["verifier_key"] {
		t.Errorf("verifier key list: %s", vk.raw)
	}

	// The insider rewrite, and a service started afresh on the database.
	e.ts.Close()
	storetest.ForgeLog(t, db, tn.accountID, 3, 1)
	db2 := sqltest.Reopen(t, db)
	e2 := newTestEnv(t, db2, withWitnesses)
	e2.appendEvents(&audit.Event{AccountID: tn.accountID, Action: "after_the_rewrite"})
	owner := e2.client()
	owner.bearer = tn.owner.bearer
	owner.hc.Jar = tn.owner.hc.Jar
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		v = owner.do("GET", "/api/audit-logs/verify", nil).want(t, 200)
		wl, _ = v.body["witnesses"].([]any)
		refused := 0
		for _, w := range wl {
			if r, _ := w.(map[string]any)["refusal"].(map[string]any); r != nil && num(r, "status") == 422 {
				refused++
			}
		}
		if refused == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("verify after the rewrite: %s", v.raw)
		}
	}
	if f := v.obj("failure"); v.body["ok"] != false || !strings.Contains(fmt.Sprint(f["reason"]), "refused to cosign") {
		t.Errorf("verify after the rewrite: %s", v.raw)
	}
}
