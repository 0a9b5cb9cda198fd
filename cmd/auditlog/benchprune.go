package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/generate"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// benchPrune measures retention (bench --prune N): it generates N events
// over the last 365 days into a new account, gives the account a 182-day
// retention, and prunes it (about half the events) with a's settings,
// reporting the events removed per second. Meanwhile, and for as long
// before the prune (idle), one-event appends to the same account measure
// what the prune costs ingest: each append waits for the account's log
// head, which a prune batch holds for its last statement.
func benchPrune(ctx context.Context, e *env, db *sqlstore.DB, signer *tlog.Signer, a *app.App, n int64, batch int) error {
	fmt.Fprintf(e.stdout, "prune bench on %s: generating %d events over 365 days (load %s)\n", db.Describe(), n, loadAverage())
	start := time.Now()
	res, err := generate.Run(ctx, db, signer, generate.Options{
		Events: n, Accounts: 1, Span: 365 * 24 * time.Hour, Password: "bench-password-1",
		Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
	})
	if err != nil {
		return err
	}
	account := res.Accounts[0].ID
	fmt.Fprintf(e.stdout, "generated in %s; account %d\n", time.Since(start).Round(time.Second), account)
	days := 182
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.SetRetentionDays(ctx, account, &days)
		return err
	}); err != nil {
		return err
	}
	appendOne := func(i int) (time.Duration, error) {
		t := time.Now()
		err := db.Update(ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.AppendEvents(ctx, signer, &audit.Event{AccountID: account, Action: "bench.probe", ResourceType: "probe", ResourceID: fmt.Sprint(i)})
			return err
		})
		return time.Since(t), err
	}
	// probe appends one event at a time, 20 a second, until stop closes.
	probe := func(stop <-chan struct{}) ([]time.Duration, error) {
		var lat []time.Duration
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return lat, nil
			case <-tick.C:
			}
			d, err := appendOne(i)
			if err != nil {
				return lat, err
			}
			lat = append(lat, d)
		}
	}

	var pruneRes []app.PruneResult
	var pruneErr error
	var elapsed time.Duration
	var during []time.Duration
	var probeErr error
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		during, probeErr = probe(done)
	}()
	loadDuring := loadAverage()
	t := time.Now()
	pruneRes, pruneErr = a.Prune(ctx, app.PruneOptions{AccountID: account}, nil)
	elapsed = time.Since(t)
	close(done)
	wg.Wait()
	if pruneErr != nil {
		return pruneErr
	}
	if probeErr != nil {
		return probeErr
	}
	// Idle, for as long as the prune took (at least 10 s), right after.
	idleStop := make(chan struct{})
	time.AfterFunc(max(elapsed, 10*time.Second), func() { close(idleStop) })
	loadIdle := loadAverage()
	idle, err := probe(idleStop)
	if err != nil {
		return err
	}
	var removed int64
	var batches int
	for _, r := range pruneRes {
		removed += r.Removed()
		batches += r.Batches
	}
	fmt.Fprintf(e.stdout, "pruned %d of %d events in %d batches of at most %d in %s: %.0f events/s (load %s)\n",
		removed, n, batches, batch, elapsed.Round(time.Millisecond), float64(removed)/elapsed.Seconds(), loadDuring)
	fmt.Fprintf(e.stdout, "one-event appends to the same account, p50/p99 ms: idle %s (%d appends, load %s), during the prune %s (%d appends); p99 ratio %.2f\n",
		percentiles(idle), len(idle), loadIdle, percentiles(during), len(during), p99(during)/p99(idle))
	rep, err := db.VerifyLog(ctx, account, signer.VerifierKey())
	if err != nil {
		return err
	}
	if rep.Failure != nil {
		return fmt.Errorf("the pruned log does not verify: %v", rep.Failure)
	}
	fmt.Fprintf(e.stdout, "the log verifies from seq %d: %d events, %d checkpoints checked\n", rep.Pruned+1, rep.CheckedEvents, rep.CheckedCheckpoints)
	return nil
}

// p99 returns the 99th percentile of sorted ds, in milliseconds.
func p99(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	return float64(ds[int(0.99*float64(len(ds)-1))]) / float64(time.Millisecond)
}
