package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/auditlog/auditlog/internal/app"
)

// runPrune removes the events older than each account's retention period
// now (app.Prune), as serve does every PRUNE_INTERVAL.
func runPrune(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "prune", `Remove the events older than each account's retention period now, as serve
does every PRUNE_INTERVAL (docs/retention.md):

  auditlog prune [--account ID] [--dry-run]

Each account's oldest events go, as a prefix of its log, in transactions of
at most PRUNE_BATCH events; the tree hashes stay, so every proof of the rest
and every export keeps verifying, and each prune is recorded in the account's
log as a retention.pruned event. It rests after each batch nineteen times as
long as the batch took, so that the appends of a running server keep their
latency: it removes some 2,000 events a second on PostgreSQL, 300 to 500 on
SQLite. One process prunes at a time: while another holds the retention
lease, prune exits with an error and removes nothing. It prints one line per
account it pruned.`)
	accountID := fs.Int64("account", 0, "prune only the account with this `ID`")
	dryRun := fs.Bool("dry-run", false, "report what would be removed, and remove nothing")
	if err := st.parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := st.load(e); err != nil {
		return err
	}
	cfg := st.cfg
	log := newLogger(e, cfg.LogLevel)
	a, closeAll, err := operatorApp(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer closeAll()
	verb := "removed"
	if *dryRun {
		verb = "would remove"
	}
	var total int64
	start := time.Now()
	res, err := a.Prune(ctx, app.PruneOptions{AccountID: *accountID, DryRun: *dryRun}, func(r app.PruneResult) {
		total += r.Removed()
		line := fmt.Sprintf("account %d: %s %d events", r.AccountID, verb, r.Removed())
		if r.Removed() > 0 {
			line += fmt.Sprintf(" (seq %d to %d, created before %s, retention %d days)", r.From, r.To, r.Cutoff.Format(time.RFC3339), r.Days)
		}
		if r.RecordedTo >= r.RecordedFrom {
			line += fmt.Sprintf("; recorded seq %d to %d as retention.pruned", r.RecordedFrom, r.RecordedTo)
		}
		if !*dryRun && r.Removed() > 0 {
			line += fmt.Sprintf(" in %d batches, %s (%.0f events/s)", r.Batches, r.Elapsed.Round(time.Millisecond), float64(r.Removed())/r.Elapsed.Seconds())
		}
		fmt.Fprintln(e.stdout, line)
	})
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(e.stdout, "%d accounts, %d events %s in %s\n", len(res), total, verb, time.Since(start).Round(time.Millisecond))
	return nil
}
