package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "migrate", "Apply every pending schema migration to the database, name each one applied,\nthen exit. Migrations also run whenever a command opens the database (serve,\ninit-db). It creates no signing key.")
	if err := st.parse(e, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log := newLogger(e, st.cfg.LogLevel)
	db, err := openStore(ctx, st.cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, name := range db.Applied() {
		fmt.Fprintf(e.stdout, "applied %s\n", name)
	}
	fmt.Fprintf(e.stdout, "schema of %s is up to date\n", db.Describe())
	return nil
}
