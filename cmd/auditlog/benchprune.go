package main

import (
	"context"
	"fmt"
	"sync"
	"syscall"
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
// retention, and prunes it (about half the events) with a's settings
// (with account set, it generates nothing and prunes that account, which
// auditlog generate --span 365d loaded with n events),
// reporting the events removed per second. Meanwhile, and for as long
// before the prune (idle), one-event appends to the same account measure
// what the prune costs ingest: each append waits for the account's log
// head, which a prune batch holds for its last statement, and on SQLite
// for the one writer, which a batch holds until it gives way (PruneBatch);
// the bench reports that wait apart, with the process's CPU time.
func benchPrune(ctx context.Context, e *env, db *sqlstore.DB, signer *tlog.Signer, a *app.App, n, account int64, batch int) error {
	if account == 0 {
		fmt.Fprintf(e.stdout, "prune bench on %s: generating %d events over 365 days (load %s)\n", db.Describe(), n, loadAverage())
		start := time.Now()
		res, err := generate.Run(ctx, db, signer, generate.Options{
			Events: n, Accounts: 1, Span: 365 * 24 * time.Hour, Password: "bench-password-1",
			Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
		})
		if err != nil {
			return err
		}
		account = res.Accounts[0].ID
		fmt.Fprintf(e.stdout, "generated in %s; account %d\n", time.Since(start).Round(time.Second), account)
	} else {
		fmt.Fprintf(e.stdout, "prune bench on %s: account %d, loaded before (load %s)\n", db.Describe(), account, loadAverage())
	}
	days := 182
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error {
		_, err := tx.SetRetentionDays(ctx, account, &days)
		return err
	}); err != nil {
		return err
	}
	// appendOne appends one event and returns how long it took, and of
	// that how long it waited for the transaction to begin (the writer).
	appendOne := func(i int) (total, wait time.Duration, err error) {
		t := time.Now()
		err = db.Update(ctx, func(tx *sqlstore.Tx) error {
			wait = time.Since(t)
			_, err := tx.AppendEvents(ctx, signer, &audit.Event{AccountID: account, Action: "bench.probe", ResourceType: "probe", ResourceID: fmt.Sprint(i)})
			return err
		})
		return time.Since(t), wait, err
	}
	// probe appends one event at a time, 20 a second, until stop closes.
	probe := func(stop <-chan struct{}) (probeRun, error) {
		var r probeRun
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return r, nil
			case <-tick.C:
			}
			d, w, err := appendOne(i)
			if err != nil {
				return r, err
			}
			r.total, r.wait = append(r.total, d), append(r.wait, w)
		}
	}

	var pruneRes []app.PruneResult
	var pruneErr error
	var elapsed time.Duration
	var during probeRun
	var probeErr error
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		during, probeErr = probe(done)
	}()
	loadDuring := loadAverage()
	t, cpu := time.Now(), processCPU()
	pruneRes, pruneErr = a.Prune(ctx, app.PruneOptions{AccountID: account}, nil)
	elapsed, cpu = time.Since(t), processCPU()-cpu
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
	var batches, yielded int
	for _, r := range pruneRes {
		removed += r.Removed()
		batches += r.Batches
		yielded += r.Yielded
	}
	fmt.Fprintf(e.stdout, "pruned %d of %d events in %d batches of at most %d (%d attempts rolled back for an append) in %s: %.0f events/s; this process's CPU time %s (load %s)\n",
		removed, n, batches, batch, yielded, elapsed.Round(time.Millisecond), float64(removed)/elapsed.Seconds(), cpu.Round(time.Millisecond), loadDuring)
	fmt.Fprintf(e.stdout, "one-event appends to the same account, p50/p99 ms: idle %s (%d appends, load %s), during the prune %s (%d appends); p99 ratio %.2f\n",
		percentiles(idle.total), len(idle.total), loadIdle, percentiles(during.total), len(during.total), p99(during.total)/p99(idle.total))
	fmt.Fprintf(e.stdout, "of which waiting for the transaction to begin, p50/p99 ms: idle %s, during the prune %s\n",
		percentiles(idle.wait), percentiles(during.wait))
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

// probeRun is what the probe appends measured: each one's time, and of it
// the time it waited for its transaction to begin.
type probeRun struct{ total, wait []time.Duration }

// processCPU returns the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// p99 returns the 99th percentile of sorted ds, in milliseconds.
func p99(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	return float64(ds[int(0.99*float64(len(ds)-1))]) / float64(time.Millisecond)
}
