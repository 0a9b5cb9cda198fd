// Command auditlog is the audit-log service: one binary that serves the API,
// applies schema migrations and loads sample data. Run "auditlog help" for
// the subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var u usageError
		switch {
		case errors.As(err, &u):
			os.Exit(2) // the usage has been printed
		case !errors.Is(err, errVerifyFailed): // whose reason has been printed
			fmt.Fprintln(os.Stderr, "auditlog:", err)
		}
		os.Exit(1)
	}
}

// usageError is an error already reported with usage text.
type usageError struct{ error }

// badUsage reports err on w, as the flag package reports a flag it cannot
// parse, and returns it as a usageError: for a flag that parsed but whose
// value the command refuses, so that the user is told why it exits 2.
func badUsage(w io.Writer, command string, err error) error {
	fmt.Fprintf(w, "auditlog %s: %v\n", command, err)
	return usageError{err}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// env is what every subcommand gets from its caller.
type env struct {
	lookupEnv func(string) (string, bool)
	stdout    io.Writer
	stderr    io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP API (migrates the schema first)", runServe},
		{"migrate", "apply pending schema migrations and exit", runMigrate},
		{"init-db", "create the schema and, with --sample, the seed's sample data", runInitDB},
		{"create-account", "create an account and its owner (also when public sign-up is off)", runCreateAccount},
		{"platform-key", "create, list or revoke the platform's keys (platform-key create --name NAME --scopes SCOPES)", runPlatformKey},
		{"verifier-key", "print the public key that verifies checkpoints and exports", runVerifierKey},
		{"export", "export an account's audit log as NDJSON, CSV or PDF, from the database or the API", runExport},
		{"erase", "erase one person's personal data from an account's events (the proofs stay valid)", runErase},
		{"verify", "check an audit-log export offline: auditlog verify --key KEY FILE", runVerify},
		{"backup", "write a consistent copy of a SQLite database while the service runs", runBackup},
		{"restore-check", "verify every account's log in a backup or a restored database", runRestoreCheck},
		{"import", "import accounts, users and audit logs from the seed's Flask system (import --from URL)", runImport},
		{"prune", "remove the events older than each account's retention period now", runPrune},
		{"keygen", "generate a checkpoint signing key for SIGNING_KEY", runKeygen},
		{"witness", "run an independent witness that cosigns checkpoints (C2SP tlog-witness)", runWitness},
		{"witness-keygen", "generate a witness key (WITNESS_KEY) and print its verifier key", runWitnessKeygen},
		{"generate", "fill the database with realistic ecommerce events, for demos and load tests", runGenerate},
		{"bench", "load the ingest API over loopback and report events/s and latency", runBench},
		{"help", "show help for auditlog or one of its commands", runHelp},
	}
}

// run is the whole program: it parses args, runs one subcommand and returns
// its error. Tests call it directly.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) error {
	e := &env{lookupEnv: lookupEnv, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return usageError{errors.New("no command")}
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(stderr, "auditlog: unknown command %q\n\n", name)
	usage(stderr)
	return usageError{fmt.Errorf("unknown command %q", name)}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `auditlog records who did what in each merchant account, and serves that
audit trail over a JSON API.

Usage:

	auditlog <command> [flags]

Commands:

`)
	for _, c := range commands() {
		fmt.Fprintf(w, "\t%-14s  %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "auditlog <command> -h" for a command's flags. Settings come from flags,
then environment variables, then a .env file in the working directory.
`)
}

func runHelp(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		usage(e.stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] && c.name != "help" {
			return c.run(ctx, &env{lookupEnv: e.lookupEnv, stdout: e.stdout, stderr: e.stdout}, []string{"-h"})
		}
	}
	return fmt.Errorf("help: unknown command %q", args[0])
}
