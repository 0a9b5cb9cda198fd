// Package seedimport moves a merchant from the seed's Flask system to this
// service: it reads the Flask system's database (its accounts, users and
// audit_logs tables, on SQLite, PostgreSQL or MySQL) and brings accounts,
// users with their password hashes, and every audit log into ours.
//
// Each seed account becomes one of ours, matched by domain; each user one
// of its users, matched by email; each audit log an event of the account's
// verifiable log, appended through the store's one write path in the
// seed's order (created_at, then id) with its original created_at, and the
// idempotency key "seed-<row id>". A run first reads and checks everything
// (a dry run stops there) and writes nothing when a row fails the
// service's validation, unless told to skip such rows. It then writes in
// batches, each one transaction: an interrupted run leaves whole batches,
// and running it again adds only the rows not yet imported. Each account
// that received anything records the import as an account.imported event.
package seedimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// EventIDPrefix begins the event ID of every imported audit log.
const EventIDPrefix = "seed-"

// ActionImported is the action of the event recording an import.
const ActionImported = "account.imported"

// DefaultBatch is how many events one transaction appends.
const DefaultBatch = 5000

// maxProblems bounds the problems a Summary lists (all are counted).
const maxProblems = 50

// Options says how to import.
type Options struct {
	// DryRun reads and checks everything and writes nothing.
	DryRun bool
	// SkipInvalid imports the rows that pass validation and skips the
	// others (listed in the summary); without it one invalid row stops the
	// import before anything is written.
	SkipInvalid bool
	// Batch is how many events each transaction appends (DefaultBatch
	// when 0).
	Batch int
	// AccountMap sends seed accounts to existing accounts of ours, by ID
	// (seed account ID → our account ID), instead of matching by domain:
	// for a merchant whose account here has another domain.
	AccountMap map[int64]int64
	// Progress, when set, is called with the phase ("check" or "write"),
	// the audit-log rows done in it and their total.
	Progress func(phase string, done, total int64)
}

// Problem is a source row that the service's validation refuses.
type Problem struct {
	Table   string // accounts, users or audit_logs
	ID      int64  // the row's id in the seed
	Message string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s id %d: %s", p.Table, p.ID, p.Message)
}

// Summary is what an import did, or for a dry run would do.
type Summary struct {
	Source string // the source, without a password
	// DryRun reports that nothing was written: a dry run, or an import
	// refused for invalid rows.
	DryRun bool
	// Seed rows read.
	SeedAccounts, SeedUsers int
	SeedEvents              int64
	// What was (or would be) written: new accounts, users and events, and
	// the account.imported events.
	NewAccounts, NewUsers int
	NewEvents             int64
	ImportEvents          int
	// Rows already imported by an earlier run (or, for users, present
	// already in the account), left as they are.
	KnownAccounts, KnownUsers int
	KnownEvents               int64
	// Rows refused by validation: Invalid counts them, Problems lists the
	// first of them.
	Invalid  int64
	Problems []Problem
	// WeakHashes counts the new users whose Werkzeug hash is weak
	// (password.Weak): replaced at their first sign-in.
	WeakHashes int
	// FormerUsers counts the events whose seed user_id names no user of
	// their account (kept with the external actor seed-user-<id>).
	FormerUsers int64
	Elapsed     time.Duration
}

// Nothing reports whether the import wrote (or would write) nothing.
func (s *Summary) Nothing() bool {
	return s.NewAccounts == 0 && s.NewUsers == 0 && s.NewEvents == 0
}

func (s *Summary) problem(table string, id int64, format string, args ...any) {
	s.Invalid++
	if len(s.Problems) < maxProblems {
		s.Problems = append(s.Problems, Problem{table, id, fmt.Sprintf(format, args...)})
	}
}

// ErrInvalidRows means the source holds rows the service refuses, and the
// import wrote nothing (Options.SkipInvalid imports the others).
var ErrInvalidRows = errors.New("the seed database holds rows this service refuses; nothing was written")

// account is one seed account's import.
type account struct {
	seed                         SeedAccount
	target                       *audit.Account // nil until created (always nil in a dry run for a new account)
	invalid                      bool
	known                        map[string]bool // event IDs imported before
	users                        map[int64]*audit.User
	newUsers, newEvents, skipped int64
	created                      bool
}

// Run imports src into db, signing the logs' checkpoints with signer.
func Run(ctx context.Context, db *sqlstore.DB, signer *tlog.Signer, src *Source, o Options) (*Summary, error) {
	start := time.Now()
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	sum := &Summary{Source: src.Safe, DryRun: o.DryRun}
	seedAccounts, err := src.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	seedUsers, err := src.Users(ctx)
	if err != nil {
		return nil, err
	}
	total, err := src.CountLogs(ctx)
	if err != nil {
		return nil, err
	}
	sum.SeedAccounts, sum.SeedUsers = len(seedAccounts), len(seedUsers)
	for seedID := range o.AccountMap {
		if !slices.ContainsFunc(seedAccounts, func(a SeedAccount) bool { return a.ID == seedID }) {
			return nil, fmt.Errorf("%w: account map: the seed has no account %d", ErrSource, seedID)
		}
	}
	accounts, err := plan(ctx, db, sum, seedAccounts, seedUsers, o.AccountMap)
	if err != nil {
		return nil, err
	}
	// The check: every audit log read and validated, nothing written.
	var done int64
	err = src.Logs(ctx, func(l *SeedLog) error {
		sum.SeedEvents++
		a := accounts[l.AccountID]
		switch {
		case a == nil:
			sum.problem("audit_logs", l.ID, "account_id %d names no account of the seed", l.AccountID)
		case a.invalid:
			sum.problem("audit_logs", l.ID, "its account %d is refused", l.AccountID)
		case a.known[EventIDPrefix+strconv.FormatInt(l.ID, 10)]:
			sum.KnownEvents++
		default:
			if _, msg := event(a, l, time.Now()); msg != "" {
				sum.problem("audit_logs", l.ID, "%s", msg)
			} else {
				sum.NewEvents++
				a.newEvents++
			}
		}
		done++
		if o.Progress != nil && done%1000 == 0 {
			o.Progress("check", done, total)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if o.Progress != nil {
		o.Progress("check", done, max(total, done))
	}
	for _, a := range accounts {
		if !a.invalid && (a.target == nil || a.newUsers > 0 || a.newEvents > 0) {
			sum.ImportEvents++
		}
	}
	sum.Elapsed = time.Since(start)
	if sum.Invalid > 0 && !o.SkipInvalid {
		sum.DryRun = true // checked only: the summary says what would be done
		return sum, ErrInvalidRows
	}
	if o.DryRun || sum.Nothing() {
		return sum, nil // a run with nothing new writes nothing
	}
	sum.NewAccounts, sum.NewUsers, sum.NewEvents, sum.ImportEvents = 0, 0, 0, 0
	if err := write(ctx, db, signer, src, o, sum, accounts, total); err != nil {
		sum.Elapsed = time.Since(start)
		return sum, err
	}
	sum.Elapsed = time.Since(start)
	if sum.NewEvents > 0 {
		if err := db.Analyze(ctx); err != nil {
			return sum, fmt.Errorf("import: refresh the planner's statistics: %w", err)
		}
	}
	return sum, nil
}

// plan validates the seed's accounts and users and matches them to ours:
// accounts by domain, users by email. It writes nothing.
func plan(ctx context.Context, db *sqlstore.DB, sum *Summary, seedAccounts []SeedAccount, seedUsers []SeedUser, accountMap map[int64]int64) (map[int64]*account, error) {
	accounts := make(map[int64]*account, len(seedAccounts))
	for _, sa := range seedAccounts {
		a := &account{seed: sa, users: map[int64]*audit.User{}}
		accounts[sa.ID] = a
		acct := &audit.Account{Name: strings.TrimSpace(sa.Name), Domain: audit.NormalizeDomain(sa.Domain)}
		if err := acct.Validate(); err != nil {
			a.invalid = true
			sum.problem("accounts", sa.ID, "%s", audit.ErrorMessage(err))
			continue
		}
		a.seed.Name, a.seed.Domain = acct.Name, acct.Domain
		var err error
		if ourID, ok := accountMap[sa.ID]; ok {
			a.target, err = db.Account(ctx, ourID)
			if errors.Is(err, audit.ErrNotFound) {
				return nil, fmt.Errorf("import: account map: no account %d in this database", ourID)
			}
		} else {
			err = db.Update(ctx, func(tx *sqlstore.Tx) error {
				var err error
				a.target, err = tx.AccountByDomain(ctx, acct.Domain)
				return err
			})
		}
		switch {
		case errors.Is(err, audit.ErrNotFound):
			a.target = nil
			sum.NewAccounts++
			a.known = map[string]bool{}
		case err != nil:
			return nil, fmt.Errorf("import: look up account %s: %w", acct.Domain, err)
		default:
			sum.KnownAccounts++
			if a.known, err = db.EventIDsWithPrefix(ctx, a.target.ID, EventIDPrefix); err != nil {
				return nil, fmt.Errorf("import: %w", err)
			}
		}
	}
	seen := map[string]int64{}
	for _, su := range seedUsers {
		a := accounts[su.AccountID]
		u := &audit.User{Email: su.Email, FirstName: su.FirstName, LastName: su.LastName, Role: audit.Role(su.Role),
			IsActive: su.IsActive, PasswordHash: su.PasswordHash, CreatedAt: su.CreatedAt}
		u.Normalize()
		var msg string
		if err := u.Validate(""); err != nil {
			msg = audit.ErrorMessage(err)
		}
		switch {
		case a == nil:
			msg = fmt.Sprintf("account_id %d names no account of the seed", su.AccountID)
		case a.invalid:
			msg = fmt.Sprintf("its account %d is refused", su.AccountID)
		case su.problem != "":
			msg = su.problem
		case msg == "" && seen[u.Email] != 0:
			msg = fmt.Sprintf("email %s is also user %d's", u.Email, seen[u.Email])
		}
		if msg != "" {
			sum.problem("users", su.ID, "%s", msg)
			continue
		}
		seen[u.Email] = su.ID
		existing, err := db.UserByEmail(ctx, u.Email)
		switch {
		case errors.Is(err, audit.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("import: look up user: %w", err)
		case a.target != nil && existing.AccountID == a.target.ID:
			sum.KnownUsers++
			a.users[su.ID] = existing
			continue
		default:
			sum.problem("users", su.ID, "email %s belongs to a user of another account of this service", u.Email)
			continue
		}
		if !password.ValidLegacy(u.PasswordHash) {
			sum.problem("users", su.ID, "password_hash is not a Werkzeug hash this service verifies (pbkdf2:sha256:N$salt$hex or scrypt:N:r:p$salt$hex)")
			continue
		}
		if password.Weak(u.PasswordHash) {
			sum.WeakHashes++
		}
		a.users[su.ID] = u
		a.newUsers++
		sum.NewUsers++
	}
	return accounts, nil
}

// event builds the event of a seed audit log in account a, checked by the
// API's validation; msg says why the row is refused.
func event(a *account, l *SeedLog, now time.Time) (e *audit.Event, msg string) {
	if l.problem != "" {
		return nil, l.problem
	}
	in := &ingest.EventInput{
		EventID: EventIDPrefix + strconv.FormatInt(l.ID, 10), Action: l.Action, ResourceType: l.ResourceType, ResourceID: l.ResourceID,
		Details: l.Details, IPAddress: strings.TrimSpace(l.IPAddress), UserAgent: l.UserAgent,
	}
	u := a.users[l.UserID]
	if l.UserID != 0 && u == nil {
		in.Actor = &ingest.ActorInput{ID: "seed-user-" + strconv.FormatInt(l.UserID, 10), Type: "former_user"}
	}
	e, problems := in.Validate(0, now)
	if len(problems) > 0 {
		return nil, problems[0].Message
	}
	switch {
	case u != nil:
		e.SetUserActor(u) // its ID is set once the user is written
	case l.UserID == 0:
		e.ActorType = audit.ActorSystem
	}
	e.CreatedAt = l.CreatedAt
	return e, ""
}

// write creates the accounts and users and appends the events.
func write(ctx context.Context, db *sqlstore.DB, signer *tlog.Signer, src *Source, o Options, sum *Summary, accounts map[int64]*account, total int64) error {
	// Accounts and their new users: one transaction per account.
	for _, sa := range sortedAccounts(accounts) {
		a := accounts[sa]
		if a.invalid || (a.target != nil && a.newUsers == 0) {
			continue
		}
		err := db.Update(ctx, func(tx *sqlstore.Tx) error {
			target := a.target
			if target == nil {
				target = &audit.Account{Name: a.seed.Name, Domain: a.seed.Domain, CreatedAt: a.seed.CreatedAt}
				if err := tx.CreateAccount(ctx, target); err != nil {
					return err
				}
			}
			for _, u := range a.users {
				if u.ID != 0 {
					continue // known
				}
				u.AccountID = target.ID
				if err := tx.CreateUser(ctx, u); err != nil {
					return fmt.Errorf("user %s: %w", u.Email, err)
				}
			}
			a.created = a.target == nil
			a.target = target
			return nil
		})
		if err != nil {
			return fmt.Errorf("import: account %s: %w", a.seed.Domain, err)
		}
		if a.created {
			sum.NewAccounts++
		}
		sum.NewUsers += int(a.newUsers)
	}
	// Events, in batches that may span accounts; each account's
	// account.imported follows its last event.
	batch := make([]*audit.Event, 0, o.Batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var appended []audit.Appended
		err := db.Update(ctx, func(tx *sqlstore.Tx) error {
			var err error
			appended, err = tx.AppendEvents(ctx, signer, batch...)
			return err
		})
		if err != nil {
			return fmt.Errorf("import: append events: %w", err)
		}
		for i, r := range appended {
			switch {
			case batch[i].Action == ActionImported && batch[i].EventID == "":
				sum.ImportEvents++
			case r.Replayed:
				sum.KnownEvents++
			default:
				sum.NewEvents++
			}
		}
		batch = batch[:0]
		return nil
	}
	add := func(e *audit.Event) error {
		batch = append(batch, e)
		if len(batch) >= o.Batch {
			return flush()
		}
		return nil
	}
	finished := map[int64]bool{}
	finish := func(a *account) error {
		finished[a.seed.ID] = true
		if a.target == nil || (!a.created && a.newUsers == 0 && a.newEvents == 0) {
			return nil
		}
		return add(importEvent(a, src.Safe))
	}
	var done int64
	var cur *account
	sum.KnownEvents, sum.FormerUsers = 0, 0
	err := src.Logs(ctx, func(l *SeedLog) error {
		a := accounts[l.AccountID]
		if cur != nil && a != cur {
			if err := finish(cur); err != nil {
				return err
			}
		}
		cur = a
		done++
		if o.Progress != nil && done%1000 == 0 {
			o.Progress("write", done, total)
		}
		if a == nil || a.invalid {
			return nil
		}
		id := EventIDPrefix + strconv.FormatInt(l.ID, 10)
		if a.known[id] {
			sum.KnownEvents++
			return nil
		}
		e, msg := event(a, l, time.Now())
		if msg != "" {
			return nil // counted by the check
		}
		e.AccountID = a.target.ID
		if e.ActorType == "former_user" {
			sum.FormerUsers++
		}
		if e.UserID != 0 {
			e.UserID = a.users[l.UserID].ID
		}
		return add(e)
	})
	if err != nil {
		return err
	}
	if cur != nil {
		if err := finish(cur); err != nil {
			return err
		}
	}
	for _, id := range sortedAccounts(accounts) {
		if a := accounts[id]; !finished[id] && !a.invalid {
			if err := finish(a); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if o.Progress != nil {
		o.Progress("write", done, max(total, done))
	}
	return nil
}

// importEvent is the account.imported event of account a.
func importEvent(a *account, source string) *audit.Event {
	verb := "Imported into this account"
	if a.created {
		verb = "Created this account by import"
	}
	meta, _ := json.Marshal(struct {
		Source        string `json:"source"`
		SeedAccountID int64  `json:"seed_account_id"`
		Users         int64  `json:"users"`
		Events        int64  `json:"events"`
	}{source, a.seed.ID, a.newUsers, a.newEvents})
	return &audit.Event{
		AccountID: a.target.ID, ActorType: audit.ActorSystem, ActorName: "auditlog import", Action: ActionImported,
		ResourceType: audit.ResourceAccount, ResourceID: strconv.FormatInt(a.target.ID, 10),
		Details:  fmt.Sprintf("%s from the seed system's database (%s, account %d): %d users, %d events", verb, source, a.seed.ID, a.newUsers, a.newEvents),
		Outcome:  audit.OutcomeSuccess,
		Metadata: meta,
	}
}

// sortedAccounts returns the seed account IDs in order.
func sortedAccounts(accounts map[int64]*account) []int64 {
	ids := make([]int64, 0, len(accounts))
	for id := range accounts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
