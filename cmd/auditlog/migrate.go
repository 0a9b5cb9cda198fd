package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
)

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "migrate", "Apply every pending schema migration to the database, then exit.\nMigrations also run at every start of serve and init-db.")
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
	fmt.Fprintf(e.stdout, "schema of %s is up to date\n", db.Describe())
	return nil
}
