package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditlog/auditlog/internal/generate"
	"github.com/auditlog/auditlog/internal/password"
)

func runGenerate(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "generate", `Fill the database with realistic ecommerce audit events: orders, payments,
refunds, inventory, prices, customers, staff sign-ins and the rare sensitive
changes (payout destinations, staff roles, settings), spread over --span
up to now, oldest first. Every event is checked by the API's validation and
appended through the one write path, so the logs are verifiable as if the
events had been sent to the API.

With --accounts M (default 1), it creates M accounts, each with an owner
and staff: the first gets --largest-share of the events, the others share
the rest unevenly (the k-th in proportion to 1/k). It prints how to sign in
as the owner of the largest. With --account ID, it adds the events to an
existing account (such as the sample account of init-db --sample), its
users acting as staff.

The same --seed makes the same events; run again with another seed to add
more. Examples:

	auditlog generate --events 1000000 --accounts 100
	auditlog generate --events 50000 --account 1 --span 30d`)
	events := fs.Int64("events", 0, "how many `events` to write in all (required)")
	accounts := fs.Int("accounts", 1, "how many new `accounts` to create")
	accountID := fs.Int64("account", 0, "add the events to this existing account `ID` instead of creating accounts")
	share := fs.Float64("largest-share", generate.DefaultLargestShare, "the `fraction` of the events that the largest account gets")
	span := fs.String("span", "365d", "how far back the events reach: a `duration` such as 365d, 12h or 90m")
	seed := fs.Uint64("seed", 1, "the `seed` that the events are drawn from")
	batch := fs.Int("batch", generate.DefaultBatch, "`events` appended per transaction")
	writers := fs.Int("writers", 0, "how many accounts to write at once, each on its own `connection` (default: one per CPU, at least 2, on PostgreSQL and MySQL; 1 on SQLite)")
	pwFile := fs.String("password-file", "", "read the new accounts' users' password from the first line of this `file` (default: generate one and print it)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to `file`")
	progress := fs.String("progress", "auto", "show progress: `auto` (a bar on a terminal, a line every 10 s otherwise), always (a bar) or never")
	if err := st.parse(e, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	spanDur, err := parseSpan(*span)
	if err != nil {
		return fmt.Errorf("generate: --span %q: %v", *span, err)
	}
	switch {
	case *progress != "auto" && *progress != "always" && *progress != "never":
		return fmt.Errorf("generate: --progress %q: want auto, always or never", *progress)
	case *batch < 1: // 0 would mean the default to generate.Run
		return fmt.Errorf("generate: --batch: want 1 to %d events per transaction", generate.MaxBatch)
	case *share <= 0:
		return errors.New("generate: --largest-share: want a fraction above 0 and at most 1")
	case set["writers"] && *writers < 1: // 0 would mean the default to generate.Run
		return fmt.Errorf("generate: --writers: want 1 to %d writers", generate.MaxWriters)
	}
	o := generate.Options{
		Events: *events, Accounts: *accounts, AccountID: *accountID, LargestShare: *share, Span: spanDur, Seed: *seed, Batch: *batch,
		Writers: *writers,
	}
	if *accountID != 0 {
		if set["accounts"] {
			return errors.New("generate: --accounts: give either --accounts (new accounts) or --account (an existing one), not both")
		}
		o.Accounts = 0
	}
	pw, generated := "", false
	if o.AccountID == 0 {
		var err error
		if pw, generated, err = passwordFromFile(*pwFile); err != nil {
			return fmt.Errorf("generate: --password-file: %w", err)
		}
		o.Password, o.Hasher = pw, password.NewHasher(password.OWASP)
	}
	if err := o.Validate(); err != nil { // before the database is opened (and a signing key made)
		return optionError(err)
	}
	var show *generateProgress
	if *progress != "never" {
		show = newGenerateProgress(e.stderr, *events, *progress == "always" || isTerminal(e.stderr))
		o.Progress = show.set
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg := st.cfg
	log := newLogger(e, cfg.LogLevel)
	db, signer, err := openLog(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := generate.Run(ctx, db, signer, o)
	show.finish(err == nil)
	if err != nil {
		if res != nil && res.Written > 0 {
			fmt.Fprintf(e.stdout, "wrote %s events before stopping; each batch was committed whole, so the logs verify\n", thousands(res.Written))
		}
		return optionError(err)
	}
	rate := float64(res.Written+res.Replayed) / max(res.Elapsed.Seconds(), 1e-3)
	fmt.Fprintf(e.stdout, "wrote %s events to %d account(s) of %s in %s (%s events/s, %s a minute)\n", thousands(res.Written), len(res.Accounts),
		db.Describe(), res.Elapsed.Round(100*time.Millisecond), thousands(int64(rate)), thousands(int64(rate*60)))
	if res.Replayed > 0 {
		fmt.Fprintf(e.stdout, "%s events were already there from an earlier run of --seed %d (pass another seed to add new ones)\n", thousands(res.Replayed), *seed)
	}
	top := res.Accounts[0]
	if o.AccountID != 0 {
		fmt.Fprintf(e.stdout, "account %d %q (%s) received %s events; its users sign in as before\n", top.ID, top.Name, top.Domain, thousands(top.Events))
		return nil
	}
	fmt.Fprintf(e.stdout, "largest account: %d %q (%s), %s events\n", top.ID, top.Name, top.Domain, thousands(top.Events))
	if len(res.Accounts) > 1 {
		last := res.Accounts[len(res.Accounts)-1]
		fmt.Fprintf(e.stdout, "other accounts: %d to %d, %s down to %s events each\n", res.Accounts[1].ID, last.ID, thousands(res.Accounts[1].Events), thousands(last.Events))
	}
	fmt.Fprintf(e.stdout, "sign in as the owner of the largest account: %s", top.Owner)
	if generated {
		fmt.Fprintf(e.stdout, " with password %s (every generated user has it; shown once)\n", pw)
	} else {
		fmt.Fprintf(e.stdout, " with the password of --password-file\n")
	}
	return nil
}

// optionError names the flag of an option generate refused.
func optionError(err error) error {
	var oe *generate.OptionError
	if errors.As(err, &oe) {
		return fmt.Errorf("generate: --%s", oe.Error())
	}
	return err
}

// parseSpan reads a duration, also in days: 365d, 1.5d, 12h, 90m.
func parseSpan(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n <= 0 || n > 100*365 {
			return 0, errors.New("want a positive number of days such as 365d")
		}
		return time.Duration(n * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("want a positive duration such as 365d, 12h or 90m")
	}
	return d, nil
}

// generateProgress shows the generator's progress: the export's bar on a
// terminal, a plain line every generateLineEvery otherwise. A nil
// *generateProgress shows nothing.
type generateProgress struct {
	bar   *progressBar
	w     io.Writer
	total int64
	begin time.Time
	mu    sync.Mutex
	last  time.Time
	done  int64
}

// generateLineEvery is how often the plain progress line is written.
const generateLineEvery = 10 * time.Second

func newGenerateProgress(w io.Writer, total int64, bar bool) *generateProgress {
	p := &generateProgress{w: w, total: total, begin: time.Now()}
	p.last = p.begin
	if bar {
		p.bar = newProgressBar(w)
		p.bar.start(total, false)
	}
	return p
}

func (p *generateProgress) set(done int64) {
	if p.bar != nil {
		p.bar.set(done)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	if now := time.Now(); now.Sub(p.last) >= generateLineEvery {
		p.last = now
		p.line(now)
	}
}

func (p *generateProgress) line(now time.Time) {
	rate := float64(p.done) / max(now.Sub(p.begin).Seconds(), 1e-3)
	fmt.Fprintf(p.w, "generate: %s of %s events (%.0f%%), %s events/s\n", thousands(p.done), thousands(p.total), 100*float64(p.done)/float64(max(p.total, 1)), thousands(int64(rate)))
}

func (p *generateProgress) finish(ok bool) {
	if p == nil {
		return
	}
	if p.bar != nil {
		p.bar.finish(ok)
	}
}
