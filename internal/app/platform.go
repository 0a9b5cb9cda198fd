package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Platform keys look like plk_0123456789ab_<43 base64url characters>: the
// layout of API keys under a type of their own, so that neither is ever
// taken for the other. An operator creates them (auditlog platform-key);
// no request can.
const platformKeyType = "plk_"

// Errors of platform keys.
var (
	errBadPlatformKey = audit.Errorf(audit.EUNAUTHORIZED, "Invalid or revoked platform key.")
	// errPlatformKeyHere: a platform key on a route of one account's keys
	// and sessions.
	errPlatformKeyHere = audit.Errorf(audit.EFORBIDDEN, "A platform key works on the platform routes (/api/platform/…) only; this route takes an account's API key or session.")
	// ErrPlatformKeyNotFound means no platform key has the ID.
	ErrPlatformKeyNotFound = audit.Errorf(audit.ENOTFOUND, "Platform key not found.")
	errNeedsPlatformKey    = audit.Errorf(audit.EFORBIDDEN, "This endpoint needs a platform key (Authorization: Bearer plk_…).")
	errBothAccountRefs     = audit.FieldError("account_id", "name the account by account_id or by external_id, not both.")
	errNoAccountRef        = audit.FieldError("account_id", "account_id or external_id is required: the account this acts on.")
)

// externalIDPattern is what an external ID may hold: the characters of
// common ID formats, as an event_id.
var externalIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:\-]+$`)

// AuthenticatePlatformKey returns the principal of a platform key, checked
// against its stored hash and read from the database on every request, so
// a revoked key fails at once in every process. The principal names no
// account: PlatformAccount scopes it to the one a request names.
func (a *App) AuthenticatePlatformKey(ctx context.Context, key string) (*Principal, error) {
	prefix, ok := keyPrefix(key, platformKeyType)
	if !ok {
		return nil, errBadPlatformKey
	}
	k, err := a.store.PlatformKeyByPrefix(ctx, prefix)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return nil, errBadPlatformKey
	case err != nil:
		return nil, err
	}
	if !keyMatches(key, k.SecretHash) || k.Revoked() {
		return nil, errBadPlatformKey
	}
	if now := a.now().UTC(); now.Sub(k.LastUsedAt) >= touchEvery {
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := a.store.TouchPlatformKey(ctx, k.ID, now); err != nil {
				a.log.WarnContext(ctx, "could not record platform key use", "key", k.Prefix, "err", err)
			}
		}()
	}
	return &Principal{Platform: k}, nil
}

// CreatePlatformKey creates a platform key: the operator's operation
// (auditlog platform-key create), which no request can reach. createdBy
// names the operator's command. It returns the key itself, stored only as
// a hash, to show now or never.
func (a *App) CreatePlatformKey(ctx context.Context, createdBy, name string, scopes []string) (string, *audit.PlatformKey, error) {
	key, prefix, hash := newSecretKey(platformKeyType)
	k := &audit.PlatformKey{Name: name, Prefix: prefix, SecretHash: hash, Scopes: scopes, CreatedBy: createdBy}
	if err := k.Validate(); err != nil {
		return "", nil, err
	}
	if err := a.store.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreatePlatformKey(ctx, k) }); err != nil {
		return "", nil, err
	}
	return key, k, nil
}

// PlatformKeys lists every platform key, revoked ones too (the operator's).
func (a *App) PlatformKeys(ctx context.Context) ([]*audit.PlatformKey, error) {
	return a.store.PlatformKeys(ctx)
}

// RevokePlatformKey revokes a platform key (the operator's); it stops
// working at once in every process.
func (a *App) RevokePlatformKey(ctx context.Context, id int64) (*audit.PlatformKey, error) {
	var k *audit.PlatformKey
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		var err error
		k, err = tx.RevokePlatformKey(ctx, id)
		return err
	})
	if err != nil {
		return nil, notFoundAs(err, ErrPlatformKeyNotFound)
	}
	return k, nil
}

// AccountRef names an account: by its ID or by the platform's external ID,
// one of the two.
type AccountRef struct {
	ID         int64
	ExternalID string
}

// check fails unless exactly one of the two is set.
func (r AccountRef) check() error {
	switch {
	case r.ID != 0 && r.ExternalID != "":
		return errBothAccountRefs
	case r.ID == 0 && r.ExternalID == "":
		return errNoAccountRef
	case r.ID < 0:
		return audit.FieldError("account_id", "account_id must be a positive number.")
	}
	return nil
}

// PlatformAccount returns the account ref names and p scoped to it: the
// principal every operation of a platform key on one account takes, which
// records what it does in that account as actor platform_key. p must be a
// platform key's principal; an account that does not exist is
// ErrAccountNotFound.
func (a *App) PlatformAccount(ctx context.Context, p *Principal, ref AccountRef) (*Principal, *audit.Account, error) {
	if p == nil || p.Platform == nil {
		return nil, nil, errNeedsPlatformKey
	}
	if err := ref.check(); err != nil {
		return nil, nil, err
	}
	var acct *audit.Account
	var err error
	if ref.ID != 0 {
		acct, err = a.store.Account(ctx, ref.ID)
	} else {
		acct, err = a.store.AccountByExternalID(ctx, ref.ExternalID)
	}
	if err != nil {
		return nil, nil, notFoundAs(err, ErrAccountNotFound)
	}
	return &Principal{AccountID: acct.ID, Platform: p.Platform}, acct, nil
}

// LookUpAccount returns the account ref names, for a platform key holding
// accounts:read.
func (a *App) LookUpAccount(ctx context.Context, p *Principal, ref AccountRef) (*audit.Account, error) {
	if p == nil || p.Platform == nil {
		return nil, errNeedsPlatformKey
	}
	if !p.Platform.Has(audit.PlatformScopeAccountsRead) {
		return nil, errPlatformScope
	}
	_, acct, err := a.PlatformAccount(ctx, p, ref)
	return acct, err
}

// NewPlatformAccount is what a platform key creates: an account for one of
// the platform's merchants, named by the platform's own ID for it, with an
// owner when the merchant's people are to sign in to the console too.
type NewPlatformAccount struct {
	Name       string
	Domain     string
	ExternalID string
	// Owner, when its OwnerEmail is set, is the account's first owner,
	// under the rules of sign-up; else the account has no users.
	Owner NewAccount
}

// CreatePlatformAccount creates an account for a platform key holding
// accounts:write, with its external ID (unique: ErrExternalIDTaken), and
// records account_created in it (and user_created for an owner), acted by
// the platform key, in one transaction.
func (a *App) CreatePlatformAccount(ctx context.Context, p *Principal, c Client, in NewPlatformAccount) (*audit.Account, *audit.User, error) {
	if p == nil || p.Platform == nil {
		return nil, nil, errNeedsPlatformKey
	}
	if !p.Platform.Has(audit.PlatformScopeAccountsWrite) {
		return nil, nil, errPlatformScope
	}
	in.ExternalID = strings.TrimSpace(in.ExternalID)
	switch {
	case in.ExternalID == "":
		return nil, nil, audit.FieldError("external_id", "external_id is required: the platform's own ID of the merchant.")
	case len(in.ExternalID) > audit.MaxExternalIDLen || !externalIDPattern.MatchString(in.ExternalID):
		return nil, nil, audit.FieldError("external_id", "external_id must be 1 to %d letters, digits and . _ : - characters.", audit.MaxExternalIDLen)
	}
	var owner *audit.User
	acct := &audit.Account{Name: in.Name, Domain: in.Domain, ExternalID: in.ExternalID}
	if in.Owner.OwnerEmail != "" {
		in.Owner.Name, in.Owner.Domain = in.Name, in.Domain
		var err error
		if acct, owner, err = a.newAccount(in.Owner); err != nil {
			return nil, nil, err
		}
		acct.ExternalID = in.ExternalID
		if owner.PasswordHash, err = a.hasher.Hash(ctx, in.Owner.OwnerPassword); err != nil {
			return nil, nil, fmt.Errorf("hash owner password: %w", err)
		}
	} else {
		acct.Normalize()
		if err := acct.Validate(); err != nil {
			return nil, nil, err
		}
	}
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.AccountByExternalID(ctx, acct.ExternalID); err == nil {
			return fmt.Errorf("app: create platform account: %w", audit.ErrExternalIDTaken)
		} else if !errors.Is(err, audit.ErrNotFound) {
			return err
		}
		inUse, err := tx.EmailDomainInUse(ctx, acct.Domain)
		if err != nil {
			return err
		}
		if inUse {
			return fmt.Errorf("app: create platform account: domain %s has users: %w", acct.Domain, audit.ErrDomainTaken)
		}
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		by := &Principal{AccountID: acct.ID, Platform: p.Platform}
		entries := []entry{{accountResource(acct.ID), audit.ActionAccountCreated,
			fmt.Sprintf("Account %q created for domain %s with external ID %s", acct.Name, acct.Domain, acct.ExternalID)}}
		if owner != nil {
			owner.AccountID = acct.ID
			if err := tx.CreateUser(ctx, owner); err != nil {
				if errors.Is(err, audit.ErrEmailTaken) {
					return fmt.Errorf("app: create platform account: %w", audit.ErrDomainTaken)
				}
				return err
			}
			entries = append(entries, entry{userResource(owner), audit.ActionUserCreated, fmt.Sprintf("Created user %s with role %s", owner.Email, owner.Role)})
		}
		return a.record(ctx, tx, by, c, entries...)
	})
	if err != nil {
		return nil, nil, err
	}
	return acct, owner, nil
}

// PlatformEvent is one event a platform key sends, with the account it
// goes to.
type PlatformEvent struct {
	Account AccountRef
	Event   ingest.EventInput
}

// PlatformIngest records events a platform key holding events:write sends
// to the accounts each names, all or none: in one request to the
// group-commit writer, so that the events of every account commit in one
// transaction, each account's idempotency (event_id) and log kept as
// Ingest keeps them. Every problem of every event, an unknown account
// included, is reported together in an *ingest.InvalidError. The results
// are in request order.
func (a *App) PlatformIngest(ctx context.Context, p *Principal, ins []PlatformEvent) ([]audit.Appended, error) {
	if p == nil || p.Platform == nil {
		return nil, errNeedsPlatformKey
	}
	if !p.Platform.Has(audit.PlatformScopeEventsWrite) {
		return nil, errPlatformScope
	}
	who := make([]*Principal, len(ins))
	var problems []ingest.Problem
	byRef := map[AccountRef]*Principal{}
	for i, in := range ins {
		if err := in.Account.check(); err != nil {
			problems = append(problems, ingest.Problem{Index: i, Field: audit.ErrorField(err), Message: audit.ErrorMessage(err)})
			continue
		}
		scoped, ok := byRef[in.Account]
		if !ok {
			var err error
			scoped, _, err = a.PlatformAccount(ctx, p, in.Account)
			switch {
			case errors.Is(err, ErrAccountNotFound):
				scoped = nil
			case err != nil:
				return nil, err
			}
			byRef[in.Account] = scoped
		}
		if scoped == nil {
			field, msg := "account_id", fmt.Sprintf("no account %d.", in.Account.ID)
			if in.Account.ExternalID != "" {
				field, msg = "external_id", fmt.Sprintf("no account has external_id %q.", in.Account.ExternalID)
			}
			problems = append(problems, ingest.Problem{Index: i, Field: field, Message: msg})
			continue
		}
		who[i] = scoped
	}
	events := make([]ingest.EventInput, len(ins))
	for i := range ins {
		events[i] = ins[i].Event
	}
	prepared, err := a.prepareEvents(ctx, who, events, problems)
	if err != nil {
		return nil, err
	}
	return a.write(ctx, prepared)
}

// accountsOf returns the distinct accounts of who, in first-seen order,
// skipping nil.
func accountsOf(who []*Principal) []int64 {
	var ids []int64
	for _, p := range who {
		if p != nil && !slices.Contains(ids, p.AccountID) {
			ids = append(ids, p.AccountID)
		}
	}
	return ids
}
