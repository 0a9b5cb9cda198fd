package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/seedimport"
	"github.com/auditlog/auditlog/internal/tlog"
)

func runImport(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "import", `Move merchants from the seed's Flask system: read its database (the tables
accounts, users and audit_logs) and bring every account, user and audit log
into the database this service uses (DATABASE_URL or --database-url).

--from takes the Flask system's SQLAlchemy URL: sqlite:///relative.db,
sqlite:////absolute.db, postgresql://… (or postgresql+psycopg2://…),
mysql://… (or mysql+pymysql://…). It is only read.

Accounts are matched by domain (or, with --account-map, to the accounts
named) and users by email, so running the import again adds only what is
new. Users keep their passwords: their Werkzeug
hashes are accepted at sign-in and replaced by argon2id at the first one.
Each audit log is appended to its account's verifiable log in the seed's
order, keeping its created_at. Everything is read and checked first: a row
this service refuses stops the import before anything is written, unless
--skip-invalid. Examples:

	auditlog import --from sqlite:////srv/flask/audit_logs.db --dry-run
	auditlog import --from postgresql://flask@db.internal/audit_logs`)
	from := fs.String("from", "", "the seed system's database `URL` (required)")
	dryRun := fs.Bool("dry-run", false, "read and check everything, report what would be imported, write nothing")
	skipInvalid := fs.Bool("skip-invalid", false, "import the valid rows and skip (and list) those this service refuses")
	accountMap := map[int64]int64{}
	fs.Func("account-map", "import seed accounts into existing accounts instead of matching by domain: `SEED=OURS[,SEED=OURS…]` (account IDs)", func(v string) error {
		for _, pair := range strings.Split(v, ",") {
			seed, ours, ok := strings.Cut(strings.TrimSpace(pair), "=")
			s, err1 := strconv.ParseInt(seed, 10, 64)
			o, err2 := strconv.ParseInt(ours, 10, 64)
			if !ok || err1 != nil || err2 != nil || s < 1 || o < 1 {
				return fmt.Errorf("%q: want SEED_ID=OUR_ID pairs such as 1=42,2=43", pair)
			}
			if _, dup := accountMap[s]; dup {
				return fmt.Errorf("seed account %d is mapped twice", s)
			}
			accountMap[s] = o
		}
		return nil
	})
	batch := fs.Int("batch", seedimport.DefaultBatch, "`events` appended per transaction")
	progress := fs.String("progress", "auto", "show progress: `auto` (a bar on a terminal, nothing otherwise), always or never")
	if err := st.parse(e, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	switch {
	case *from == "":
		return badUsage(e.stderr, "import", errors.New("--from: the seed system's database URL is required"))
	case *progress != "auto" && *progress != "always" && *progress != "never":
		return badUsage(e.stderr, "import", fmt.Errorf("--progress %q: want auto, always or never", *progress))
	case *batch < 1 || *batch > 100_000:
		return badUsage(e.stderr, "import", errors.New("--batch: want 1 to 100000 events per transaction"))
	}
	cfg := st.cfg
	log := newLogger(e, cfg.LogLevel)
	src, err := seedimport.OpenSource(ctx, *from)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer src.Close()
	var signer *tlog.Signer
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if !*dryRun {
		if signer, err = checkpointSigner(ctx, cfg, db, log); err != nil {
			return err
		}
	}
	o := seedimport.Options{DryRun: *dryRun, SkipInvalid: *skipInvalid, Batch: *batch, AccountMap: accountMap}
	var show *importProgress
	if *progress == "always" || (*progress == "auto" && isTerminal(e.stderr)) {
		show = &importProgress{w: e.stderr}
		o.Progress = show.set
	}
	sum, err := seedimport.Run(ctx, db, signer, src, o)
	show.finish(err == nil)
	if sum != nil {
		printImportSummary(e.stdout, sum, db.Describe())
	}
	if errors.Is(err, seedimport.ErrInvalidRows) {
		return fmt.Errorf("import: %w (pass --skip-invalid to import the others)", err)
	}
	if err != nil {
		if sum != nil && sum.NewEvents > 0 {
			fmt.Fprintln(e.stdout, "the batches written before the error are whole and verify; run the import again to add the rest")
		}
		return err
	}
	return nil
}

// printImportSummary writes what the import did, or would do.
func printImportSummary(w io.Writer, s *seedimport.Summary, target string) {
	fmt.Fprintf(w, "read %s: %s account(s), %s user(s), %s audit log(s)\n", s.Source,
		thousands(int64(s.SeedAccounts)), thousands(int64(s.SeedUsers)), thousands(s.SeedEvents))
	verb := "imported into"
	if s.DryRun {
		verb = "would import into"
	}
	if s.Nothing() && s.Invalid == 0 {
		fmt.Fprintf(w, "nothing new to import: every account, user and audit log is already in %s (nothing written)\n", target)
	} else {
		fmt.Fprintf(w, "%s %s: %s new account(s), %s new user(s), %s new event(s), %d account.imported event(s)\n", verb, target,
			thousands(int64(s.NewAccounts)), thousands(int64(s.NewUsers)), thousands(s.NewEvents), s.ImportEvents)
	}
	if s.KnownAccounts+s.KnownUsers > 0 || s.KnownEvents > 0 {
		fmt.Fprintf(w, "already there, left as they are: %s account(s), %s user(s), %s event(s)\n",
			thousands(int64(s.KnownAccounts)), thousands(int64(s.KnownUsers)), thousands(s.KnownEvents))
	}
	if s.FormerUsers > 0 {
		fmt.Fprintf(w, "%s event(s) name a user_id that is no user of their account: kept with the actor seed-user-<id> (type former_user)\n", thousands(s.FormerUsers))
	}
	if s.WeakHashes > 0 {
		fmt.Fprintf(w, "%d new user(s) have a PBKDF2 hash weaker than 600,000 iterations of SHA-256: it is replaced at their first sign-in\n", s.WeakHashes)
	}
	if s.Invalid > 0 {
		fmt.Fprintf(w, "%s row(s) refused by validation:\n", thousands(s.Invalid))
		for _, p := range s.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
		if int64(len(s.Problems)) < s.Invalid {
			fmt.Fprintf(w, "  … and %s more\n", thousands(s.Invalid-int64(len(s.Problems))))
		}
	}
	rate := float64(s.NewEvents) / max(s.Elapsed.Seconds(), 1e-3)
	fmt.Fprintf(w, "in %s (%s events/s)\n", s.Elapsed.Round(100*time.Millisecond), thousands(int64(rate)))
}

// importProgress shows the import's two passes (check, then write) as
// progress bars. A nil *importProgress shows nothing.
type importProgress struct {
	w     io.Writer
	phase string
	bar   *progressBar
}

func (p *importProgress) set(phase string, done, total int64) {
	if p.phase != phase {
		if p.bar != nil {
			p.bar.finish(true)
		}
		fmt.Fprintf(p.w, "%s:\n", map[string]string{"check": "checking the seed's audit logs", "write": "importing"}[phase])
		p.phase, p.bar = phase, newProgressBar(p.w)
		p.bar.start(total, false)
	}
	p.bar.set(done)
}

func (p *importProgress) finish(ok bool) {
	if p != nil && p.bar != nil {
		p.bar.finish(ok)
	}
}
