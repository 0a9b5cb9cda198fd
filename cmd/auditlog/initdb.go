package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sample"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

func runInitDB(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "init-db", "Create or update the database schema. With --sample, also load the sample data:\nthe \"Sample Ecommerce Store\" account (sample-store.com), its four users and\n100 audit events from the last 30 days. Running it again changes nothing.")
	withSample := fs.Bool("sample", false, "load the sample data")
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
	if *withSample {
		signer, err := checkpointSigner(ctx, st.cfg, db, log)
		if err != nil {
			return err
		}
		return loadSample(ctx, e, db, signer, password.NewHasher(password.OWASP))
	}
	return nil
}

// loadSample loads the sample data and says what it did.
func loadSample(ctx context.Context, e *env, db *sqlstore.DB, signer *tlog.Signer, hasher *password.Hasher) error {
	created, err := sample.Load(ctx, db, signer, hasher, time.Now())
	if err != nil {
		return fmt.Errorf("load sample data: %w", err)
	}
	if !created {
		fmt.Fprintf(e.stdout, "sample data already present (account %s)\n", sample.AccountDomain)
		return nil
	}
	fmt.Fprintf(e.stdout, "loaded sample data: account %q (%s), %d events; sign in as:\n", sample.AccountName, sample.AccountDomain, sample.EventCount)
	for _, u := range sample.Users {
		fmt.Fprintf(e.stdout, "  %-16s %-26s password %s\n", u.Role, u.Email, u.Password)
	}
	return nil
}
