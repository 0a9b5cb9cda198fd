package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// createAccountAgent is the user agent that the events of an account made
// by the operator carry.
const createAccountAgent = "auditlog create-account"

func runCreateAccount(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "create-account", `Create an account and its owner, as POST /api/accounts does, from the operator's
side: with no sign-up rate limit, and also when public sign-up is turned off
(PUBLIC_SIGNUP=false). The same rules hold: the owner's email must be an
address at the account's domain, and the domain must not be taken.

The owner's password is read from --owner-password-file (the first line; use
/dev/stdin to pipe it), or else generated and printed once.`)
	name := fs.String("name", "", "the account's `name`, such as \"My Store\" (required)")
	domain := fs.String("domain", "", "the account's `domain`, such as my-store.com (required)")
	email := fs.String("owner-email", "", "the owner's `email`, at the domain (required)")
	first := fs.String("owner-first-name", "", "the owner's first `name`")
	last := fs.String("owner-last-name", "", "the owner's last `name`")
	pwFile := fs.String("owner-password-file", "", "read the owner's password from the first line of this `file`")
	if err := st.parse(e, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	pw, generated, err := passwordFromFile(*pwFile)
	if err != nil {
		return fmt.Errorf("create-account: owner password: %w", err)
	}
	cfg := st.cfg
	log := newLogger(e, cfg.LogLevel)
	a, closeAll, err := operatorApp(ctx, cfg, log, secretKey(cfg, log))
	if err != nil {
		return err
	}
	defer closeAll()
	acct, owner, err := a.CreateAccount(ctx, app.NewClient("", createAccountAgent), app.NewAccount{
		Name: *name, Domain: *domain, OwnerEmail: *email, OwnerPassword: pw, OwnerFirstName: *first, OwnerLastName: *last,
	})
	if err != nil {
		return accountError(err)
	}
	fmt.Fprintf(e.stdout, "created account %d %q (%s) with owner %s (user %d)\n", acct.ID, acct.Name, acct.Domain, owner.Email, owner.ID)
	if generated {
		fmt.Fprintf(e.stdout, "owner password (shown once; the owner should change it after signing in): %s\n", pw)
	}
	return nil
}

// flagOf names, for each input of app.CreateAccount, its flag.
var flagOf = map[string]string{
	"name": "--name", "domain": "--domain", "owner_email": "--owner-email", "owner_password": "--owner-password-file",
	"owner_first_name": "--owner-first-name", "owner_last_name": "--owner-last-name",
}

// accountError says what was wrong with the account to create, naming the
// flag at fault; internal errors keep their chain.
func accountError(err error) error {
	code := audit.ErrorCode(err)
	if code == audit.EINTERNAL {
		return fmt.Errorf("create-account: %w", err)
	}
	msg := audit.ErrorMessage(err)
	if f, ok := flagOf[audit.ErrorField(err)]; ok {
		return fmt.Errorf("create-account: %s: %s", f, msg)
	}
	if errors.Is(err, audit.ErrDomainTaken) {
		return fmt.Errorf("create-account: --domain: %s", msg)
	}
	return fmt.Errorf("create-account: %s", msg)
}

// passwordFromFile returns the first line of the file at path, or, when path
// is empty, a new random password (generated true) to show once.
func passwordFromFile(path string) (pw string, generated bool, err error) {
	if path == "" {
		return rand.Text(), true, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false, err
	}
	pw, _, _ = strings.Cut(string(b), "\n")
	return strings.TrimSuffix(pw, "\r"), false, nil
}
