package app_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/tlog"
)

// retentionConfig bounds retention to 1–400 days and prunes in small
// batches, so that a test's few hundred events take many.
func retentionConfig(c *config.Config) {
	c.RetentionMinDays, c.RetentionMaxDays, c.RetentionDays, c.PruneBatch = 1, 400, 400, 37
}

// TestRetentionSettings checks who may read and set an account's
// retention, the bounds, and the event a change records.
func TestRetentionSettings(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, retentionConfig)
		tn := f.newTenant("acme")
		other := f.newTenant("other")
		admin, adminP := f.addUser(tn, audit.RoleAdmin, "adam")
		_, analystP := f.addUser(tn, audit.RoleAnalyst, "anna")
		_ = admin
		days := func(n int) *int { return &n }

		acct, err := f.app.Account(f.ctx, adminP, tn.account.ID)
		if err != nil || acct.Retention == nil || acct.Retention.Days != nil || acct.Retention.EffectiveDays != 400 {
			t.Fatalf("admin's view: %+v, %v; want the default of 400 days", acct, err)
		}
		if acct, err := f.app.Account(f.ctx, analystP, tn.account.ID); err != nil || acct.Retention != nil {
			t.Errorf("analyst's view: %+v, %v; want no retention shown", acct, err)
		}
		tests := []struct {
			name  string
			p     *app.Principal
			id    int64
			days  *int
			code  string
			field string
		}{
			{"admin", adminP, tn.account.ID, days(30), audit.EFORBIDDEN, ""},
			{"analyst", analystP, tn.account.ID, days(30), audit.EFORBIDDEN, ""},
			{"another account", tn.p, other.account.ID, days(30), audit.ENOTFOUND, ""},
			{"negative", tn.p, tn.account.ID, days(-1), audit.EINVALID, "retention_days"},
			{"above the maximum", tn.p, tn.account.ID, days(401), audit.EINVALID, "retention_days"},
			{"forever with a maximum", tn.p, tn.account.ID, days(0), audit.EINVALID, "retention_days"},
			{"null with a maximum", tn.p, tn.account.ID, nil, audit.EINVALID, "retention_days"},
		}
		for _, tt := range tests {
			_, err := f.app.SetRetention(f.ctx, tt.p, origin, tt.id, app.RetentionChange{Days: tt.days})
			wantCode(t, tt.name, err, tt.code, tt.field)
		}
		acct, err = f.app.SetRetention(f.ctx, tn.p, origin, tn.account.ID, app.RetentionChange{Days: days(30)})
		if err != nil || *acct.Retention.Days != 30 || acct.Retention.EffectiveDays != 30 {
			t.Fatalf("owner sets 30 days: %+v, %v", acct, err)
		}
		f.wantEvent(tn.account.ID, app.ActionRetentionChanged, "Retention: retention_days: 400 days → 30 days", tn.owner)
		if _, err := f.app.SetRetention(f.ctx, tn.p, origin, tn.account.ID, app.RetentionChange{Days: days(30)}); err != nil {
			t.Fatal(err)
		}
		if n := len(f.events(tn.account.ID, app.ActionRetentionChanged)); n != 1 {
			t.Errorf("%d retention changes recorded; want 1 (no change records nothing)", n)
		}
		if acct, _ := f.app.Account(f.ctx, other.p, other.account.ID); acct.Retention.Days != nil {
			t.Errorf("the other account's retention changed: %+v", acct.Retention)
		}

		// Without a maximum, 0 and null keep events forever.
		g := newFixture(t, db)
		if acct, err := g.app.SetRetention(g.ctx, tn.p, origin, tn.account.ID, app.RetentionChange{}); err != nil || acct.Retention.EffectiveDays != 0 {
			t.Errorf("forever without a maximum: %+v, %v", acct, err)
		}
	})
}

// oldLog is an account whose log holds old events, then recent ones.
type oldLog struct {
	tn                 *tenant
	old, recent        int64 // seq of the last old event, and the log's size
	beforeCheckpoint   *sqlstore.Checkpoint
	rootAt5            tlog.Hash
	completeBefore     []byte
	filteredBefore     []byte
	firstKeptEventID   int64
	otherAccount       *tenant
	otherSizeBeforeAll int64
}

// appendAt appends n events to the account's log, as many transactions.
func appendAt(t *testing.T, f *fixture, accountID int64, n int, action string) {
	t.Helper()
	for i := 0; i < n; i += 7 {
		var evs []*audit.Event
		for j := i; j < min(i+7, n); j++ {
			evs = append(evs, &audit.Event{AccountID: accountID, Action: action, ResourceType: "order", ResourceID: fmt.Sprint(j),
				ActorType: audit.ActorSystem, ActorName: "seller", ActorEmail: fmt.Sprintf("c%d@example.net", j%5), IPAddress: "192.0.2.9"})
		}
		if err := f.db.Update(f.ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.AppendEvents(f.ctx, sqltest.Signer(t), evs...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// exportBytes exports p's account's log as NDJSON.
func exportBytes(t *testing.T, f *fixture, p *app.Principal, req app.ExportRequest) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := f.app.Export(f.ctx, p, origin, req, func(*app.Export) io.Writer { return &buf }); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newOldLog builds an account with 300 events 100 days old and 20 events
// 10 days old, and another account with old events of its own.
func newOldLog(t *testing.T, f *fixture) *oldLog {
	f.now = time.Now().UTC().Add(-100 * 24 * time.Hour)
	f.db.Now = func() time.Time { return f.now }
	l := &oldLog{tn: f.newTenant("acme"), otherAccount: f.newTenant("other")}
	appendAt(t, f, l.tn.account.ID, 300, "order.old")
	appendAt(t, f, l.otherAccount.account.ID, 40, "order.old")
	size, err := f.db.LogSize(f.ctx, l.tn.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	l.old = size
	f.advance(90 * 24 * time.Hour)
	appendAt(t, f, l.tn.account.ID, 20, "order.recent")
	f.now = time.Now().UTC()
	l.tn.p = f.signIn(l.tn.owner.Email, ownerPassword)
	l.otherAccount.p = f.signIn(l.otherAccount.owner.Email, ownerPassword)
	if l.otherSizeBeforeAll, err = f.db.LogSize(f.ctx, l.otherAccount.account.ID); err != nil {
		t.Fatal(err)
	}
	if l.beforeCheckpoint, err = f.app.Checkpoint(f.ctx, l.tn.p, 0); err != nil {
		t.Fatal(err)
	}
	l.recent = l.beforeCheckpoint.Size
	c, err := f.app.ProveConsistency(f.ctx, l.tn.p, 5, l.recent)
	if err != nil {
		t.Fatal(err)
	}
	l.rootAt5 = c.FromRoot
	l.completeBefore = exportBytes(t, f, l.tn.p, app.ExportRequest{})
	l.filteredBefore = exportBytes(t, f, l.tn.p, app.ExportRequest{Filter: audit.EventFilter{Action: "order.recent"}})
	page, err := f.db.Events(f.ctx, l.tn.account.ID, audit.EventFilter{Action: "order.recent"}, audit.PageRequest{Page: 1, PerPage: 100})
	if err != nil || len(page.Events) == 0 {
		t.Fatal(err)
	}
	l.firstKeptEventID = page.Events[len(page.Events)-1].ID
	return l
}

// TestPrune prunes an account with a 30-day retention on every engine:
// exactly the old prefix goes, in many batches, recorded once; the other
// account is untouched; every remaining proof checks against the
// checkpoints kept from before and after, as do exports made before and
// after; the listing counts what is left.
func TestPrune(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, retentionConfig)
		l := newOldLog(t, f)
		thirty := 30
		if _, err := f.app.SetRetention(f.ctx, l.tn.p, origin, l.tn.account.ID, app.RetentionChange{Days: &thirty}); err != nil {
			t.Fatal(err)
		}
		// The other account keeps 400 days (the default): nothing of it is due.
		dry, err := f.app.Prune(f.ctx, app.PruneOptions{DryRun: true}, nil)
		if err != nil || len(dry) != 1 || dry[0].AccountID != l.tn.account.ID || dry[0].From != 1 || dry[0].To != l.old {
			t.Fatalf("dry run: %+v, %v; want seq 1 to %d of account %d", dry, err, l.old, l.tn.account.ID)
		}
		if n, _ := f.db.LogPrune(f.ctx, l.tn.account.ID); n.Pruned != 0 {
			t.Fatal("the dry run removed events")
		}
		res, err := f.app.Prune(f.ctx, app.PruneOptions{}, nil)
		if err != nil || len(res) != 1 {
			t.Fatalf("Prune: %+v, %v", res, err)
		}
		r := res[0]
		wantBatches := int((l.old + 36) / 37)
		// Batches are at most PRUNE_BATCH (37) events, fewer while slow.
		if r.From != 1 || r.To != l.old || r.RecordedFrom != 1 || r.RecordedTo != l.old || r.Batches < wantBatches || r.Days != 30 {
			t.Errorf("prune result %+v; want seq 1 to %d in at least %d batches, recorded", r, l.old, wantBatches)
		}
		pruned := f.events(l.tn.account.ID, app.ActionRetentionPruned)
		if len(pruned) != 1 {
			t.Fatalf("%d retention.pruned events; want 1", len(pruned))
		}
		e := pruned[0]
		if e.ActorType != audit.ActorSystem || e.ActorName != "retention" || !strings.HasPrefix(e.Details, fmt.Sprintf("Retention removed events seq 1 to %d, created before ", l.old)) {
			t.Errorf("retention.pruned event %+v", e)
		}
		var meta map[string]any
		if err := json.Unmarshal(e.Metadata, &meta); err != nil || meta["first_seq"] != 1.0 || meta["last_seq"] != float64(l.old) || meta["cutoff"] == nil || meta["retention_days"] != 30.0 {
			t.Errorf("retention.pruned metadata %s: %v", e.Metadata, err)
		}
		if again, err := f.app.Prune(f.ctx, app.PruneOptions{}, nil); err != nil || len(again) != 0 {
			t.Errorf("a second prune: %+v, %v; want nothing to do", again, err)
		}
		if n := len(f.events(l.tn.account.ID, app.ActionRetentionPruned)); n != 1 {
			t.Errorf("%d retention.pruned events; want 1", n)
		}

		// Tenant isolation: the other account lost nothing.
		if rep, err := f.app.VerifyLog(f.ctx, l.otherAccount.p); err != nil || rep.Failure != nil || rep.Pruned != 0 || rep.CheckedEvents != l.otherSizeBeforeAll {
			t.Errorf("other account: %+v, %v", rep, err)
		}

		// The stored log verifies from the first event kept.
		rep, err := f.app.VerifyLog(f.ctx, l.tn.p)
		if err != nil || rep.Failure != nil || rep.Pruned != l.old || rep.CheckedEvents != rep.TreeSize-l.old {
			t.Fatalf("VerifyLog after the prune: %+v (failure %v), %v", rep, rep.Failure, err)
		}
		// The listing counts what is left.
		list, err := f.app.ListEvents(f.ctx, l.tn.p, app.EventQuery{Page: audit.PageRequest{Page: 1, PerPage: 10}})
		if err != nil || list.Pagination.Total != rep.TreeSize-l.old {
			t.Errorf("listing total %+v, %v; want %d", list, err, rep.TreeSize-l.old)
		}
		if old, err := f.db.Events(f.ctx, l.tn.account.ID, audit.EventFilter{Action: "order.old"}, audit.PageRequest{Page: 1, PerPage: 10}); err != nil || old.Pagination.Total != 0 {
			t.Errorf("old events still listed: %+v, %v", old, err)
		}
		if hits, err := f.app.ListEvents(f.ctx, l.tn.p, app.EventQuery{Search: "c1", Page: audit.PageRequest{Page: 1, PerPage: 100}}); err != nil {
			t.Error(err)
		} else {
			for _, e := range hits.Events {
				if e.Seq <= l.old {
					t.Errorf("search found pruned event %d", e.Seq)
				}
			}
		}

		// Consistency from checkpoints kept from before the prune, even of a
		// size inside the pruned prefix, to the latest.
		latest, err := f.app.Checkpoint(f.ctx, l.tn.p, 0)
		if err != nil || latest.Pruned != l.old || latest.PrunedAt.IsZero() {
			t.Fatalf("latest checkpoint %+v, %v", latest, err)
		}
		for _, from := range []struct {
			size int64
			root tlog.Hash
		}{{l.beforeCheckpoint.Size, l.beforeCheckpoint.Root}, {5, l.rootAt5}} {
			c, err := f.app.ProveConsistency(f.ctx, l.tn.p, from.size, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.VerifyConsistency(c.Proof, from.size, from.root, latest.Size, latest.Root); err != nil {
				t.Errorf("consistency %d → %d: %v", from.size, latest.Size, err)
			}
		}
		// Inclusion of the first event kept, at the old and the new checkpoint.
		for _, cp := range []*sqlstore.Checkpoint{l.beforeCheckpoint, latest} {
			p, err := f.app.ProveEvent(f.ctx, l.tn.p, l.firstKeptEventID, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.VerifyInclusion(p.Proof, cp.Size, cp.Root, p.Event.Seq-1, p.Event.LeafHash); err != nil {
				t.Errorf("inclusion of event %d at size %d: %v", p.Event.Seq, cp.Size, err)
			}
		}

		// Exports made before the prune still verify; so do exports made
		// after it, from the first event kept.
		vkey, _ := f.app.VerifierKey()
		for name, file := range map[string][]byte{"complete before": l.completeBefore, "filtered before": l.filteredBefore} {
			if rep, err := export.Verify(bytes.NewReader(file), vkey); err != nil || rep.FirstSeq != 1 {
				t.Errorf("%s: %+v, %v", name, rep, err)
			}
		}
		after := exportBytes(t, f, l.tn.p, app.ExportRequest{})
		xrep, err := export.Verify(bytes.NewReader(after), vkey)
		if err != nil || !xrep.Complete || xrep.FirstSeq != l.old+1 || xrep.Events != xrep.TreeSize-l.old || xrep.PrunedAt == "" {
			t.Fatalf("complete export after the prune: %+v, %v", xrep, err)
		}
		filtered := exportBytes(t, f, l.tn.p, app.ExportRequest{Filter: audit.EventFilter{Action: "order.recent"}})
		if rep, err := export.Verify(bytes.NewReader(filtered), vkey); err != nil || rep.Events != 20 || rep.FirstSeq != l.old+1 {
			t.Errorf("filtered export after the prune: %+v, %v", rep, err)
		}
		// A forged frontier, or a frontier dropped, fails.
		lines := bytes.SplitN(after, []byte("\n"), 2)
		var h map[string]any
		if err := json.Unmarshal(lines[0], &h); err != nil {
			t.Fatal(err)
		}
		pr := h["pruned"].(map[string]any)
		fr := pr["frontier"].([]any)
		fr[0] = tlog.Hash{1}.String()
		forged, _ := json.Marshal(h)
		if _, err := export.Verify(bytes.NewReader(append(append(forged, '\n'), lines[1]...)), vkey); err == nil || !strings.Contains(err.Error(), "root") {
			t.Errorf("forged frontier: %v; want a root mismatch", err)
		}
		delete(h, "pruned")
		dropped, _ := json.Marshal(h)
		if _, err := export.Verify(bytes.NewReader(append(append(dropped, '\n'), lines[1]...)), vkey); err == nil {
			t.Error("an export of a pruned log without its frontier verified")
		}
	})
}

// TestPruneProcesses prunes one log from two App instances on two
// connections pools of one database (two processes) while events keep
// arriving: one prunes at a time, nothing is pruned twice, no error but
// ErrPruneBusy, one retention.pruned event per range, ingest never fails,
// and the log verifies.
func TestPruneProcesses(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, func(c *config.Config) { retentionConfig(c); c.PruneBatch = 25 })
		f.now = time.Now().UTC().Add(-100 * 24 * time.Hour)
		db.Now = func() time.Time { return f.now }
		tn := f.newTenant("acme")
		appendAt(t, f, tn.account.ID, 600, "order.old")
		old, _ := db.LogSize(f.ctx, tn.account.ID)
		f.now = time.Now().UTC()
		db.Now = time.Now
		tn.p = f.signIn(tn.owner.Email, ownerPassword)
		ten := 10
		if _, err := f.app.SetRetention(f.ctx, tn.p, origin, tn.account.ID, app.RetentionChange{Days: &ten}); err != nil {
			t.Fatal(err)
		}
		other := sqltest.Reopen(t, db)
		g := newFixture(t, other, func(c *config.Config) { retentionConfig(c); c.PruneBatch = 25 })

		stop := make(chan struct{})
		var ingestErr error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // events keep arriving
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := other.Update(f.ctx, func(tx *sqlstore.Tx) error {
					_, err := tx.AppendEvents(f.ctx, sqltest.Signer(t), &audit.Event{AccountID: tn.account.ID, Action: "order.new", ResourceID: fmt.Sprint(i)})
					return err
				}); err != nil {
					ingestErr = err
					return
				}
			}
		}()
		var removed [2]int64
		var errs [2]error
		for round := 0; round < 3; round++ {
			var pw sync.WaitGroup
			for i, a := range []*app.App{f.app, g.app} {
				pw.Add(1)
				go func() {
					defer pw.Done()
					res, err := a.Prune(f.ctx, app.PruneOptions{}, nil)
					if err != nil && !errors.Is(err, app.ErrPruneBusy) {
						errs[i] = err
					}
					for _, r := range res {
						removed[i] += r.Removed()
					}
				}()
			}
			pw.Wait()
		}
		close(stop)
		wg.Wait()
		if ingestErr != nil {
			t.Fatalf("ingest during the prune: %v", ingestErr)
		}
		for i, err := range errs {
			if err != nil {
				t.Errorf("process %d: %v", i, err)
			}
		}
		if removed[0]+removed[1] != old {
			t.Errorf("the processes removed %d and %d events; want %d in all", removed[0], removed[1], old)
		}
		lp, err := db.LogPrune(f.ctx, tn.account.ID)
		if err != nil || lp.Pruned != old || lp.Recorded != old {
			t.Errorf("log prune %+v, %v; want %d pruned and recorded", lp, err, old)
		}
		var recorded int64
		for _, e := range f.events(tn.account.ID, app.ActionRetentionPruned) {
			var m struct{ FirstSeq, LastSeq int64 }
			if err := json.Unmarshal(e.Metadata, &struct {
				FirstSeq *int64 `json:"first_seq"`
				LastSeq  *int64 `json:"last_seq"`
			}{&m.FirstSeq, &m.LastSeq}); err != nil {
				t.Fatal(err)
			}
			recorded += m.LastSeq - m.FirstSeq + 1
		}
		if recorded != old {
			t.Errorf("retention.pruned events record %d events; want %d, each once", recorded, old)
		}
		if rep, err := f.app.VerifyLog(f.ctx, tn.p); err != nil || rep.Failure != nil || rep.Pruned != old {
			t.Errorf("VerifyLog: %+v, %v", rep, err)
		}

		// The lease: held by one holder until it expires.
		if ok, err := db.AcquireLease(f.ctx, "retention", "a", time.Hour); !ok || err != nil {
			t.Fatalf("first lease: %v, %v", ok, err)
		}
		if ok, err := other.AcquireLease(f.ctx, "retention", "b", time.Hour); ok || err != nil {
			t.Errorf("second holder took a live lease: %v, %v", ok, err)
		}
	})
}
