package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
	"github.com/auditlog/auditlog/internal/witness"
)

// errVerifyFailed is returned when an export does not verify; the reason has
// been printed.
var errVerifyFailed = errors.New("verification failed")

func runVerify(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	key := fs.String("key", "", "the service's verifier `key` (name+hash+key), from GET /api/verifier-key or auditlog verifier-key")
	var witnesses listFlag
	fs.Var(&witnesses, "witness", "verifier `key` of a witness whose cosignature the checkpoint must carry (repeat for several)")
	quorum := fs.Int("witness-quorum", 0, "how many of the --witness keys must have cosigned (default: all of them)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: auditlog verify --key KEY [--witness WKEY ... [--witness-quorum N]] FILE

Check an audit-log export (GET /api/audit-logs/export) offline: no database,
no network. It checks the checkpoint's signature with KEY, every event's data
against its leaf, and that the events are the whole log up to the checkpoint
(complete exports) or each in the log (filtered exports, by inclusion proof).
FILE may be - for standard input. The exit status is 0 only when every check
passed. With --witness, the checkpoint must also carry valid cosignatures of
at least N of the witnesses (auditlog witness): they vouch that it extends
every checkpoint of the log they cosigned before, which the file alone
cannot show.

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
	if *key == "" || fs.NArg() != 1 {
		fs.Usage()
		return usageError{errors.New("verify needs --key and one FILE")}
	}
	policy := witness.Policy{Quorum: *quorum}
	for _, w := range witnesses {
		v, err := witness.NewVerifier(w)
		if err != nil {
			return badUsage(e.stderr, "verify", fmt.Errorf("--witness: %w", err))
		}
		policy.Witnesses = append(policy.Witnesses, v)
	}
	if policy.Quorum == 0 {
		policy.Quorum = len(policy.Witnesses)
	}
	if policy.Quorum < 0 || policy.Quorum > len(policy.Witnesses) {
		return badUsage(e.stderr, "verify", fmt.Errorf("--witness-quorum %d: want between 1 and the %d witnesses given", *quorum, len(policy.Witnesses)))
	}
	var r io.Reader = os.Stdin
	name := fs.Arg(0)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	rep, err := export.Verify(r, strings.TrimSpace(*key))
	var fail *export.Failure
	if errors.As(err, &fail) {
		fmt.Fprintf(e.stdout, "FAILED: %s: %v\n", name, fail)
		return errVerifyFailed
	} else if err != nil {
		return err
	}
	if len(policy.Witnesses) > 0 {
		if _, err := policy.Check([]byte(rep.Checkpoint), strings.TrimSpace(*key)); err != nil {
			fmt.Fprintf(e.stdout, "FAILED: %s: the checkpoint does not meet the witness policy: %v\n", name, err)
			return errVerifyFailed
		}
	}
	fmt.Fprintf(e.stdout, "OK: %s\n", name)
	fmt.Fprintf(e.stdout, "  The checkpoint is signed by %s: the log %s held %d events with root %s.\n", *key, rep.Origin, rep.TreeSize, rep.Root)
	switch {
	case rep.Complete && rep.FirstSeq > 1:
		fmt.Fprintf(e.stdout, "  Pruned: retention removed the events with seq 1 to %d (by %s); the file carries the tree hashes that stand for them.\n", rep.FirstSeq-1, rep.PrunedAt)
		fmt.Fprintf(e.stdout, "  Proved: the file holds every event kept, seq %d to %d (%d events), in log order, unaltered: with those hashes they give the signed root.\n", rep.FirstSeq, rep.TreeSize, rep.Events)
	case rep.Complete:
		fmt.Fprintf(e.stdout, "  Proved: the file holds every one of those %d events, in log order, unaltered.\n", rep.Events)
	default:
		if rep.FirstSeq > 1 {
			fmt.Fprintf(e.stdout, "  Pruned: retention removed the events with seq 1 to %d (by %s).\n", rep.FirstSeq-1, rep.PrunedAt)
		}
		fmt.Fprintf(e.stdout, "  Proved: each of the %d events in the file is in that log, at its seq, unaltered (filter: %s).\n", rep.Events, formatFilter(rep.Filter))
		fmt.Fprintln(e.stdout, "  Not proved: that the file holds every event matching the filter (a filtered export cannot show what it left out).")
	}
	if rep.Erased > 0 {
		fmt.Fprintf(e.stdout, "  %d events had their personal data erased; they were checked by their commitments alone.\n", rep.Erased)
	}
	if len(policy.Witnesses) > 0 {
		fmt.Fprintf(e.stdout, "  Cosigned by at least %d of the %d witnesses given: each saw this checkpoint extend every checkpoint of the log it cosigned before.\n", policy.Quorum, len(policy.Witnesses))
		fmt.Fprintln(e.stdout, "  Not proved: that this checkpoint is the log's latest.")
		return nil
	}
	fmt.Fprintln(e.stdout, "  Not proved: that this checkpoint is the log's latest, or the one others saw. Compare it with checkpoints you")
	fmt.Fprintln(e.stdout, "  kept before (GET /api/audit-logs/consistency proves a newer log extends an older one), or require")
	fmt.Fprintln(e.stdout, "  witnesses' cosignatures (--witness).")
	return nil
}

func formatFilter(m map[string]string) string {
	var parts []string
	known := []string{"q", "user_id", "action", "resource_type", "start_date", "end_date"}
	add := func(k, v string) {
		if v == "" || strings.ContainsAny(v, " \t\"") {
			v = strconv.Quote(v)
		}
		parts = append(parts, k+"="+v)
	}
	for _, k := range known {
		if v, ok := m[k]; ok {
			add(k, v)
		}
	}
	// A parameter this version does not know (from a newer service) is
	// still shown: the file's selection is what the header says.
	var other []string
	for k := range m {
		if !slices.Contains(known, k) {
			other = append(other, k)
		}
	}
	slices.Sort(other)
	for _, k := range other {
		add(k, m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

func runVerifierKey(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "verifier-key", "Print the public key that verifies this service's checkpoints and exports:\nthe value to give auditlog verify --key, also served at GET /api/verifier-key.\nIt is the key of SIGNING_KEY or, when that is unset, the key stored in the\ndatabase; it never creates one, and fails when there is none yet.")
	if err := st.parse(e, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	signer, err := storedSigner(ctx, st.cfg, func() (*sqlstore.DB, error) {
		return openStore(ctx, st.cfg, newLogger(e, st.cfg.LogLevel))
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, signer.VerifierKey())
	return nil
}

func runKeygen(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	name := fs.String("name", "", "key `name`, which names the service in checkpoint origins, such as audit.example.com (default auditlog-<12 random hex digits>)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: auditlog keygen [--name NAME]

Generate a checkpoint signing key. Prints two lines: the secret signer key,
to set as SIGNING_KEY (keep it outside the database), and the public
verifier key that auditlog verify --key takes.

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
		*name = keyName(config.DefaultLogName)
	}
	skey, vkey, err := tlog.GenerateKey(*name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "SIGNING_KEY=%s\nverifier key: %s\n", skey, vkey)
	return nil
}
