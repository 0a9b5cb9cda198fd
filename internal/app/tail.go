package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
)

// A live tail shows an account's events as they commit (package live
// delivers them; the JSON API's GET /api/audit-logs/stream is its
// surface). The rules are here: who may open one (those who may list the
// events: owners and admins, or an API key with events:read), what it
// selects (the list's filters and search), and that whoever opened it must
// still be allowed as long as it stays open: RecheckTail, which a surface
// calls every few seconds, fails once the session has ended or expired,
// the user was deactivated or lost the role, or the API key was revoked.

// TailRequest asks for a live tail of the caller's account.
type TailRequest struct {
	// Filter and Search select the events, as in EventQuery.
	Filter audit.EventFilter
	Search string
	// Resume asks first for every matching event with seq above After
	// (events the client missed), then for the live ones.
	Resume bool
	After  int64
}

// Tail is an open live tail.
type Tail struct {
	// AccountID is the account whose events the tail shows.
	AccountID int64
	// Query selects the events: the filter and the search; zero for every
	// event.
	Query *query.Query
	// Key names what Query selects: tails with the same key see the same
	// events, so a surface may read them once for all.
	Key string
	// Resume and After are the request's.
	Resume bool
	After  int64
	// Alerts says that the tail also carries the account's alerts as they
	// are raised, whatever Query selects: for owners and admins (a
	// signed-in user), not for API keys.
	Alerts bool

	principal  *Principal
	credential string
}

// ErrTailEnded is returned by RecheckTail (with code EUNAUTHORIZED) when
// the credential that opened a tail no longer authenticates.
var ErrTailEnded = audit.Errorf(audit.EUNAUTHORIZED, "The session or API key that opened the stream is no longer valid.")

// OpenTail checks that p may watch the account's events live and returns
// the tail that req asks for. credential is what authenticated p (the
// session token or the API key): RecheckTail authenticates it again. A
// search that does not parse is an *audit.Error with field "q".
func (a *App) OpenTail(ctx context.Context, p *Principal, credential string, req TailRequest) (*Tail, error) {
	if err := p.Authorize(audit.PermViewAuditLogs); err != nil {
		return nil, err
	}
	if p.Session == nil && p.APIKey == nil {
		return nil, ErrUnauthorized
	}
	if req.Resume && req.After < 0 {
		return nil, audit.FieldError("after_seq", "after_seq must be a whole number, 0 or more.")
	}
	now := a.now().UTC().Truncate(time.Microsecond)
	search, err := query.Parse(req.Search, now)
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return nil, qe.AuditError()
		}
		return nil, err
	}
	q := query.FromFilter(req.Filter).And(search)
	t := &Tail{AccountID: p.AccountID, Query: q, Resume: req.Resume, After: req.After, Alerts: p.User != nil,
		principal: p, credential: credential}
	if !q.IsZero() {
		t.Key = q.String()
		if relative(search) {
			// Relative times were resolved against now: only tails
			// opened at the same instant select the same events.
			t.Key += " @" + strconv.FormatInt(now.UnixMicro(), 10)
		}
	}
	return t, nil
}

// relative reports whether q has a created clause, whose bounds may have
// been resolved against the time of parsing.
func relative(q *query.Query) bool {
	for _, c := range q.Clauses {
		if c.Field == query.FieldCreated {
			return true
		}
	}
	return false
}

// RecheckTail fails when whoever opened t may no longer watch: the session
// ended, expired or its user was deactivated (ErrTailEnded, code
// EUNAUTHORIZED), the API key was revoked (the same), or the user's role no
// longer allows it (code EFORBIDDEN or EMFAREQUIRED). Other errors (the
// database could not be reached) are internal: the tail may carry on and
// check again later.
//
// Tails opened with the same credential (a tool's API key, a browser's
// tabs) share one check for recheckShare: a thousand tails of one key
// cost one lookup a second instead of a thousand every few seconds.
func (a *App) RecheckTail(ctx context.Context, t *Tail) error {
	var p *Principal
	var err error
	switch {
	case t.principal.Session != nil:
		p, err = a.recheck(t.credential, func() (*Principal, error) { return a.AuthenticateSession(ctx, t.credential) })
		if err == nil && (p.User.ID != t.principal.User.ID || p.AccountID != t.AccountID) {
			err = ErrUnauthorized
		}
	case t.principal.APIKey != nil:
		p, err = a.recheck(t.credential, func() (*Principal, error) { return a.authenticateKey(ctx, t.credential, false) })
		if err == nil && p.AccountID != t.AccountID {
			err = ErrUnauthorized
		}
	default:
		return ErrTailEnded
	}
	if c := audit.ErrorCode(err); c == audit.EUNAUTHORIZED {
		return ErrTailEnded
	} else if err != nil {
		return err
	}
	return p.Authorize(audit.PermViewAuditLogs)
}

// recheckShare is how long the outcome of checking a tail's credential
// serves the other tails of the same credential.
const recheckShare = time.Second

// recheckEntry is a credential's last check.
type recheckEntry struct {
	at  time.Time
	p   *Principal
	err error
}

// recheckCache holds the recent checks of the tails' credentials, keyed
// by the SHA-256 of the credential, so that no secret sits in the map.
type recheckCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]recheckEntry
}

// recheck returns the outcome of check for credential, shared with the
// other tails of the credential for recheckShare. Only outcomes that say
// something of the credential are shared (it is valid, or it is not), not
// an internal error.
func (a *App) recheck(credential string, check func() (*Principal, error)) (*Principal, error) {
	now := time.Now()
	key := sha256.Sum256([]byte(credential))
	c := &a.rechecks
	c.mu.Lock()
	if e, ok := c.m[key]; ok && now.Sub(e.at) < recheckShare {
		c.mu.Unlock()
		return e.p, e.err
	}
	c.mu.Unlock()
	p, err := check()
	if audit.ErrorCode(err) == audit.EINTERNAL {
		return p, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10_000 {
		c.m = map[[sha256.Size]byte]recheckEntry{} // bounded: dropping entries only costs a lookup
	}
	c.m[key] = recheckEntry{at: now, p: p, err: err}
	return p, err
}
