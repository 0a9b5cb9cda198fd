package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"text/tabwriter"

	"github.com/auditlog/auditlog/internal/sqlstore"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "migrate", "Apply every pending schema migration to the database, name each one applied,\nthen exit. Migrations also run whenever a command opens the database (serve,\ninit-db). It creates no signing key. With --status it applies nothing and lists\nevery migration: applied, pending, or unknown (applied by a newer binary).\nWith --recount-actors it then rebuilds every account's week and month actor\ncounts from the per-day ones: run it once after a rolling upgrade to 0017.")
	status := fs.Bool("status", false, "list applied, pending and unknown migrations; apply nothing")
	recount := fs.Bool("recount-actors", false, "after migrating, rebuild each account's week and month actor counts (event_actor_counts) from its per-day ones")
	if err := st.parse(e, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log := newLogger(e, st.cfg.LogLevel)
	if *status {
		return migrationStatus(ctx, e, st.cfg.DatabaseURL)
	}
	db, err := openStore(ctx, st.cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, name := range db.Applied() {
		fmt.Fprintf(e.stdout, "applied %s\n", name)
	}
	fmt.Fprintf(e.stdout, "schema of %s is up to date\n", db.Describe())
	if *recount {
		return recountActors(ctx, e, db)
	}
	return nil
}

// recountActors rebuilds the week and month actor counts of every account
// from its per-day actor counts, one transaction per account
// (Tx.RecountActorCounts): processes of the release before migration 0017
// appended to the per-day rows only.
func recountActors(ctx context.Context, e *env, db *sqlstore.DB) error {
	accounts, err := db.LogPrunes(ctx)
	if err != nil {
		return err
	}
	var rows int64
	for _, a := range accounts {
		var n int64
		err := db.Update(ctx, func(tx *sqlstore.Tx) (err error) {
			n, err = tx.RecountActorCounts(ctx, a.AccountID)
			return err
		})
		if err != nil {
			return fmt.Errorf("recount the actor counts of account %d: %w", a.AccountID, err)
		}
		rows += n
	}
	fmt.Fprintf(e.stdout, "recounted the week and month actor counts of %d accounts: %d rows\n", len(accounts), rows)
	return nil
}

// migrationStatus prints one line per migration, known to this binary or
// recorded in the database, and a summary line; it changes nothing.
func migrationStatus(ctx context.Context, e *env, databaseURL string) error {
	db, err := sqlstore.OpenWith(ctx, databaseURL, sqlstore.OpenOptions{NoMigrate: true})
	if err != nil {
		return err
	}
	defer db.Close()
	ms, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	count := map[sqlstore.MigrationState]int{}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "MIGRATION\tSTATE\tAPPLIED AT")
	for _, m := range ms {
		count[m.State]++
		state := string(m.State)
		if m.State == sqlstore.MigrationUnknown {
			state += " (applied by a newer binary)"
		}
		at := m.AppliedAt
		if at == "" {
			at = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", m.Name, state, at)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d applied, %d pending, %d unknown\n", db.Describe(),
		count[sqlstore.MigrationApplied], count[sqlstore.MigrationPending], count[sqlstore.MigrationUnknown])
	return nil
}

// warnUnknownMigrations logs, once at open, the migrations a newer binary
// applied to the database. Under the one-release rule (docs/upgrades.md)
// the schema stays compatible with this binary, which is what lets old and
// new processes serve side by side during a rolling upgrade; the warning
// says the rollout must finish.
func warnUnknownMigrations(log *slog.Logger, db *sqlstore.DB) {
	if unknown := db.Unknown(); len(unknown) > 0 {
		log.Warn("the database has migrations this binary does not know, applied by a newer version; finish the upgrade of every process",
			"unknown", unknown)
	}
}
