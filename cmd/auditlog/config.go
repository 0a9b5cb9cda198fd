package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// settings collects the configuration flags of a subcommand. Flags are
// applied after the environment and the .env file are read, so a flag wins
// over an environment variable, which wins over the .env file.
type settings struct {
	envFile string
	dev     bool
	apply   []func(*config.Config) error
	cfg     config.Config
}

// newFlagSet returns a FlagSet for a subcommand, with the flags that every
// database subcommand shares.
func newFlagSet(e *env, name, synopsis string) (*flag.FlagSet, *settings) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	st := &settings{}
	fs.StringVar(&st.envFile, "env-file", ".env", "read settings from this dotenv `file` when it exists")
	st.stringFlag(fs, "database-url", "database `URL` (env DATABASE_URL; default sqlite:///audit_logs.db)",
		func(c *config.Config, v string) error { c.DatabaseURL = v; return nil })
	st.stringFlag(fs, "log-level", "log `level`: debug, info, warn or error (env LOG_LEVEL; default info)",
		func(c *config.Config, v string) error { c.LogLevel = v; return nil })
	fs.BoolVar(&st.dev, "dev", false, "development mode (env AUDITLOG_ENV=development): SECRET_KEY may be unset")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: auditlog %s [flags]\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs, st
}

// stringFlag registers a flag whose value is applied to the configuration
// after the environment has been read.
func (st *settings) stringFlag(fs *flag.FlagSet, name, usage string, set func(*config.Config, string) error) {
	fs.Func(name, usage, func(v string) error {
		st.apply = append(st.apply, func(c *config.Config) error { return set(c, v) })
		return nil
	})
}

// intFlag is stringFlag for a whole number.
func (st *settings) intFlag(fs *flag.FlagSet, name, usage string, set func(*config.Config, int)) {
	fs.Func(name, usage, func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("want a whole number")
		}
		st.apply = append(st.apply, func(c *config.Config) error { set(c, n); return nil })
		return nil
	})
}

// parse parses args and builds the configuration: defaults, then the .env
// file, then the environment, then the flags. It returns flag.ErrHelp when
// args asked for help (the usage has then been printed).
func (st *settings) parse(e *env, fs *flag.FlagSet, args []string) error {
	if err := st.parseFlags(fs, args); err != nil {
		return err
	}
	return st.load(e)
}

// parseFlags is parse's first half: the flags alone. A command that needs
// the configuration only in some modes calls it, then load when it does.
func (st *settings) parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "auditlog %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// load builds the configuration: defaults, then the .env file, then the
// environment, then the flags parsed.
func (st *settings) load(e *env) error {
	lookup, err := config.Environment(st.envFile, e.lookupEnv)
	if err != nil {
		return err
	}
	if st.cfg, err = config.FromEnv(lookup); err != nil {
		return err
	}
	for _, apply := range st.apply {
		if err := apply(&st.cfg); err != nil {
			return err
		}
	}
	if st.dev {
		st.cfg.Env = config.Development
	}
	return st.cfg.Validate()
}

// secretKey returns the configured secret key or, in development, a random
// one, with a warning that sessions will not outlive the process.
func secretKey(cfg config.Config, log *slog.Logger) []byte {
	if cfg.SecretKey != "" {
		return []byte(cfg.SecretKey)
	}
	b := make([]byte, 32)
	rand.Read(b)
	log.Warn("SECRET_KEY is not set; using a random key for this run, so sessions end when the process stops (development only)")
	return []byte(hex.EncodeToString(b))
}

func newLogger(e *env, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by Config.Validate
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: l}))
}

// openStore opens the database, which applies pending migrations, and logs
// the migrations it applied and those a newer binary applied.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*sqlstore.DB, error) {
	db, err := sqlstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	for _, name := range db.Applied() {
		log.Info("applied migration", "name", name)
	}
	warnUnknownMigrations(log, db)
	return db, nil
}

// openLog opens the store for a command that appends events, with the
// signer of its checkpoints (see checkpointSigner). The caller closes the
// store.
func openLog(ctx context.Context, cfg config.Config, log *slog.Logger) (*sqlstore.DB, *tlog.Signer, error) {
	db, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	signer, err := checkpointSigner(ctx, cfg, db, log)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, signer, nil
}

// operatorApp opens the log and the application layer for a command an
// operator runs against the database. secret keys what the app derives
// (token hashes, sealed secrets); nil draws a random one, for a command that
// derives nothing that outlives it. closeAll records what the app still
// has queued, then closes the store.
func operatorApp(ctx context.Context, cfg config.Config, log *slog.Logger, secret []byte) (a *app.App, closeAll func(), err error) {
	db, signer, err := openLog(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if secret == nil {
		b := make([]byte, 32)
		rand.Read(b)
		secret = []byte(hex.EncodeToString(b))
	}
	a = app.New(app.Deps{Store: db, Signer: signer, Hasher: password.NewHasher(password.OWASP), Config: cfg, Logger: log, SecretKey: secret})
	return a, func() { closeApp(a, log); db.Close() }, nil
}

// checkpointSigner returns the signer of SIGNING_KEY or, when none is set,
// of the key kept in the database, which it generates and stores on first
// use. Only the commands that append events call it (through openLog, or
// init-db --sample); commands that only read use storedSigner.
func checkpointSigner(ctx context.Context, cfg config.Config, db *sqlstore.DB, log *slog.Logger) (*tlog.Signer, error) {
	skey := cfg.SigningKey
	if skey == "" {
		var created bool
		var err error
		if skey, created, err = db.CheckpointKey(ctx, keyName(cfg.LogName)); err != nil {
			return nil, fmt.Errorf("checkpoint signing key: %w", err)
		}
		if created {
			log.Info("generated a checkpoint signing key and stored it in the database; set SIGNING_KEY to keep it outside")
		}
	}
	signer, err := newSigner(skey, cfg.PreviousVerifierKeys)
	if err != nil {
		return nil, err
	}
	// Note since when this key signs (GET /api/verifier-key shows it).
	if err := db.RecordSigningKey(ctx, signer.VerifierKey()); err != nil {
		return nil, fmt.Errorf("record the signing key: %w", err)
	}
	return signer, nil
}

// keyName returns the name of a signing key to generate: LOG_NAME, or
// when that is left at its default a name of this deployment's own,
// auditlog-<12 random hex digits>. The name begins every checkpoint's
// origin, so two deployments never sign checkpoints of the same origin
// (a checkpoint of one could otherwise be shown as the other's). A key
// already stored keeps its name: changing it would change every origin.
func keyName(logName string) string {
	if logName != config.DefaultLogName {
		return logName
	}
	b := make([]byte, 6)
	rand.Read(b) // never fails
	return config.DefaultLogName + "-" + hex.EncodeToString(b)
}

// errNoSigningKey is storedSigner's answer when there is no key to read.
var errNoSigningKey = errors.New("no signing key yet: run auditlog serve once, or set SIGNING_KEY")

// storedSigner returns the signer of SIGNING_KEY or, when none is set, of
// the key kept in the database, opened with open. It never creates a key:
// without one it returns errNoSigningKey.
func storedSigner(ctx context.Context, cfg config.Config, open func() (*sqlstore.DB, error)) (*tlog.Signer, error) {
	if cfg.SigningKey != "" {
		return newSigner(cfg.SigningKey, cfg.PreviousVerifierKeys)
	}
	db, err := open()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	skey, err := db.StoredCheckpointKey(ctx)
	if errors.Is(err, audit.ErrNotFound) {
		return nil, errNoSigningKey
	} else if err != nil {
		return nil, fmt.Errorf("checkpoint signing key: %w", err)
	}
	return newSigner(skey, cfg.PreviousVerifierKeys)
}

// newSigner returns the signer of skey that also accepts the checkpoints of
// the previous verifier keys (PREVIOUS_VERIFIER_KEYS).
func newSigner(skey string, previous []string) (*tlog.Signer, error) {
	signer, err := tlog.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("SIGNING_KEY: %w", err)
	}
	if signer, err = signer.WithPrevious(previous); err != nil {
		return nil, fmt.Errorf("PREVIOUS_VERIFIER_KEYS: %w", err)
	}
	return signer, nil
}
