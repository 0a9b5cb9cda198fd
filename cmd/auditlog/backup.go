package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

func runBackup(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "backup", "Write a consistent copy of the SQLite database to a new FILE while the service\nruns (VACUUM INTO: writers go on). Check it with auditlog restore-check FILE.\nPostgreSQL and MySQL/MariaDB are backed up with their own tools\n(docs/operations.md#backups).")
	output := fs.String("output", "", "the backup `file` to create")
	if err := st.parse(e, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *output == "" {
		return badUsage(e.stderr, "backup", errors.New("--output FILE is required"))
	}
	src, err := sqlstore.ParseURL(st.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if src.Engine != sqlstore.SQLite {
		return sqlstore.ErrBackupEngine
	}
	db, err := openStore(ctx, st.cfg, newLogger(e, st.cfg.LogLevel))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, *output); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s\n", src.Safe, *output)
	return nil
}

func runRestoreCheck(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "restore-check", `Open a backup read-only and verify every account's log: each event against
its leaf, the tree recomputed from the leaves against the stored tree hashes
and the log head, and every checkpoint the backup holds (signature, origin,
root). With --checkpoints, checkpoints kept elsewhere (saved from
GET /api/audit-logs/checkpoint, or from witnesses) are checked against the
same recomputed trees. Give the backup as FILE (SQLite) or, for a restored
PostgreSQL or MySQL database, as --database-url. The exit status is 0 only
when every account verified. FILE comes after the flags.`)
	var keys, cpPaths listFlag
	fs.Var(&keys, "key", "verifier `key` of the checkpoints (repeat for previous keys; default: the keys the backup and SIGNING_KEY / PREVIOUS_VERIFIER_KEYS name)")
	fs.Var(&cpPaths, "checkpoints", "`file or directory` of checkpoints kept elsewhere: signed notes, or the JSON of GET /api/audit-logs/checkpoint (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	switch fs.NArg() {
	case 0:
	case 1:
		st.apply = append(st.apply, func(c *config.Config) error { c.DatabaseURL = "sqlite:///" + absPath(fs.Arg(0)); return nil })
	default:
		return badUsage(e.stderr, "restore-check", errors.New("want at most one FILE"))
	}
	if err := st.load(e); err != nil {
		return err
	}
	db, err := sqlstore.OpenReadOnly(ctx, st.cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("open the backup: %w", err)
	}
	defer db.Close()
	if len(keys) == 0 {
		if keys, err = backupKeys(ctx, st.cfg, db); err != nil {
			return err
		}
	}
	kept, err := readCheckpoints(cpPaths)
	if err != nil {
		return err
	}
	ids, err := db.LoggedAccounts(ctx)
	if err != nil {
		return fmt.Errorf("list the backup's accounts: %w", err)
	}
	var failed, events, checked int64
	fail := func(format string, args ...any) {
		failed++
		fmt.Fprintf(e.stdout, "FAILED: "+format+"\n", args...)
	}
	byAccount := map[int64][]tlog.SignedCheckpoint{}
	for _, k := range kept {
		c, err := tlog.OpenCheckpointAny(k.note, keys)
		if err != nil {
			fail("%s: a checkpoint not signed by the log's verifier keys: %v", k.from, err)
			continue
		}
		id, ok := accountOfOrigin(c.Origin, tlog.KeyName(keys[0]))
		if !ok {
			fail("%s: checkpoint of another log (%s)", k.from, c.Origin)
			continue
		}
		byAccount[id] = append(byAccount[id], tlog.SignedCheckpoint{Size: c.Size, Root: c.Root, Note: k.note})
	}
	for _, id := range ids {
		extra, newer := byAccount[id], 0
		delete(byAccount, id)
		if len(extra) > 0 {
			cp, err := db.Checkpoint(ctx, id, 0)
			var size int64
			if err == nil {
				size = cp.Size
			} else if !errors.Is(err, audit.ErrNotFound) {
				return fmt.Errorf("account %d: %w", id, err)
			}
			var within []tlog.SignedCheckpoint
			for _, c := range extra {
				if c.Size <= size {
					within = append(within, c)
				} else {
					newer++
				}
			}
			extra = within
		}
		rep, err := db.VerifyLogAgainst(ctx, id, extra, keys[0], keys[1:]...)
		switch {
		case errors.Is(err, audit.ErrNotFound):
			fail("account %d: no log head: the backup lacks the account's log", id)
			continue
		case err != nil:
			return fmt.Errorf("account %d: %w", id, err)
		case rep.Failure != nil:
			fail("account %d: %v", id, rep.Failure)
			continue
		}
		events += rep.CheckedEvents
		checked += rep.CheckedCheckpoints
		if newer > 0 {
			fmt.Fprintf(e.stdout, "account %d: %d kept checkpoints are newer than the backup (%d events): not checked\n", id, newer, rep.TreeSize)
		}
	}
	for id, cs := range byAccount {
		fail("account %d: %d kept checkpoints, but the backup has no such account", id, len(cs))
	}
	if failed > 0 {
		fmt.Fprintf(e.stdout, "FAILED: %d problems in %d accounts' logs\n", failed, len(ids))
		return errVerifyFailed
	}
	fmt.Fprintf(e.stdout, "OK: %d accounts, %d events and %d checkpoints (%d kept elsewhere) verified with %s\n",
		len(ids), events, checked, len(kept), keys[0])
	return nil
}

// backupKeys returns the verifier keys that check a backup's checkpoints:
// SIGNING_KEY's (or the key the backup stores) and PREVIOUS_VERIFIER_KEYS,
// then every key the backup noted it signed with.
func backupKeys(ctx context.Context, cfg config.Config, db *sqlstore.DB) ([]string, error) {
	skey := cfg.SigningKey
	if skey == "" {
		var err error
		if skey, err = db.StoredCheckpointKey(ctx); errors.Is(err, audit.ErrNotFound) {
			return nil, errors.New("the backup holds no signing key and SIGNING_KEY is unset: give the verifier keys with --key")
		} else if err != nil {
			return nil, fmt.Errorf("checkpoint signing key: %w", err)
		}
	}
	signer, err := newSigner(skey, cfg.PreviousVerifierKeys)
	if err != nil {
		return nil, err
	}
	keys := signer.VerifierKeys()
	noted, err := db.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for k := range noted {
		if !slices.Contains(keys, k) && tlog.KeyName(k) == signer.Name() {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// keptCheckpoint is a signed checkpoint note read from a file.
type keptCheckpoint struct {
	from string // file name
	note []byte
}

// readCheckpoints reads the signed checkpoint notes of the files and of
// the files in the directories named.
func readCheckpoints(paths []string) ([]keptCheckpoint, error) {
	var out []keptCheckpoint
	for _, p := range paths {
		files := []string{p}
		if fi, err := os.Stat(p); err != nil {
			return nil, err
		} else if fi.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			files = files[:0]
			for _, en := range entries {
				if !en.IsDir() {
					files = append(files, filepath.Join(p, en.Name()))
				}
			}
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			notes := parseNotes(b)
			if len(notes) == 0 {
				return nil, fmt.Errorf("%s: no checkpoint found (want signed notes, or the JSON of GET /api/audit-logs/checkpoint)", f)
			}
			for _, n := range notes {
				out = append(out, keptCheckpoint{from: f, note: n})
			}
		}
	}
	return out, nil
}

// parseNotes finds signed checkpoint notes in b: JSON objects (one, or
// one per line) with a "checkpoint" member, as GET
// /api/audit-logs/checkpoint answers, or notes one after another, each its
// text, a blank line and its signature lines ("— name sig").
func parseNotes(b []byte) [][]byte {
	var notes [][]byte
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(t))
		for {
			var v struct {
				Checkpoint string `json:"checkpoint"`
			}
			if err := dec.Decode(&v); err != nil {
				break
			}
			if v.Checkpoint != "" {
				notes = append(notes, []byte(v.Checkpoint))
			}
		}
		return notes
	}
	var cur []string
	inSigs := false
	flush := func() {
		if inSigs {
			notes = append(notes, []byte(strings.Join(cur, "")))
		}
		cur, inSigs = nil, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case inSigs && strings.HasPrefix(line, "— "):
			cur = append(cur, line+"\n")
		case inSigs:
			flush()
			if line != "" {
				cur = append(cur, line+"\n")
			}
		case line == "" && len(cur) > 0:
			cur = append(cur, "\n")
			inSigs = true
		case line != "":
			cur = append(cur, line+"\n")
		}
	}
	flush()
	return notes
}

// accountOfOrigin returns the account of a checkpoint origin of the key
// named name ("<name>/accounts/<id>").
func accountOfOrigin(origin, name string) (int64, bool) {
	rest, ok := strings.CutPrefix(origin, name+"/accounts/")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0 && strconv.FormatInt(id, 10) == rest
}

// absPath returns p made absolute, for a sqlite:/// URL.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
