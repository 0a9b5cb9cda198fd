package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/witness"
)

// listFlag is a flag that may be repeated.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runWitness(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("witness", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	key := fs.String("key", "", "the witness's signer `key` from auditlog witness-keygen (default env WITNESS_KEY)")
	state := fs.String("state", "witness.db", "the SQLite `file` that keeps the last checkpoint cosigned for each log")
	listen := fs.String("listen", "127.0.0.1:7380", "`address` to listen on (port 0: any free port)")
	var logs listFlag
	fs.Var(&logs, "log", "verifier `key` of a service whose account logs to witness (repeat for several)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: auditlog witness --log LOG_KEY [--key KEY] [--state FILE] [--listen ADDR]

Run an independent witness (C2SP tlog-witness, cosignature/v1) of the logs
that LOG_KEY signs. It answers POST /add-checkpoint and cosigns a checkpoint
only when a consistency proof shows that it extends the last checkpoint it
cosigned for the same log (kept in FILE), so it never cosigns two histories
of one log. Run it apart from the service: its own machine, its own key.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	skey := *key
	if skey == "" {
		skey, _ = e.lookupEnv("WITNESS_KEY")
	}
	if skey == "" || len(logs) == 0 || fs.NArg() != 0 {
		fs.Usage()
		return usageError{errors.New("witness needs --log and a key (--key or WITNESS_KEY)")}
	}
	signer, err := witness.NewSigner(strings.TrimSpace(skey))
	if err != nil {
		return err
	}
	log := newLogger(e, "info")
	w, err := witness.Open(ctx, signer, *state, logs, log)
	if err != nil {
		return err
	}
	defer w.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(e.stdout, "witness %s listening on http://%s\n", signer.VerifierKey(), ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func runWitnessKeygen(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("witness-keygen", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	name := fs.String("name", "", "the witness's `name`, such as witness.example.org (required)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: auditlog witness-keygen --name NAME

Generate a witness key (cosignature/v1, Ed25519). Prints the secret key, to
give auditlog witness as WITNESS_KEY, and the public verifier key that
readers give auditlog verify --witness.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	if *name == "" {
		fs.Usage()
		return usageError{errors.New("witness-keygen needs --name")}
	}
	skey, vkey, err := witness.GenerateKey(*name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "WITNESS_KEY=%s\nwitness verifier key: %s\n", skey, vkey)
	return nil
}
