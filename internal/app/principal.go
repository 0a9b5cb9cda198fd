package app

import (
	"github.com/auditlog/auditlog/internal/audit"
)

// Principal is who performs an operation: a signed-in user (User and
// Session) or a platform service holding an API key (APIKey). Surfaces get
// one from AuthenticateSession or AuthenticateKey.
type Principal struct {
	AccountID int64
	User      *audit.User
	Session   *audit.Session
	APIKey    *audit.APIKey
	// MFAEnrolmentDue is set for an owner or admin without MFA in an
	// account that requires it: such a session may only perform the
	// operations that need no permission (sign-out, MFA enrolment,
	// password change).
	MFAEnrolmentDue bool
}

// Client is where a request came from, as the audit trail records it.
type Client struct {
	IP        string
	UserAgent string
}

// Errors of authentication and authorization.
var (
	// ErrUnauthorized means no valid credentials were presented: no
	// session, an unknown or expired one, or a deactivated user's.
	ErrUnauthorized = audit.Errorf(audit.EUNAUTHORIZED, "Authentication required.")

	errForbidden    = audit.Errorf(audit.EFORBIDDEN, "Your role does not allow this action.")
	errNeedsUser    = audit.Errorf(audit.EFORBIDDEN, "This endpoint needs a signed-in user, not an API key.")
	errKeyScope     = audit.Errorf(audit.EFORBIDDEN, "The API key's scopes do not allow this action.")
	errMFAEnrolment = audit.Errorf(audit.EMFAREQUIRED, "This account requires MFA of its owners and admins: enrol with POST /api/auth/mfa/setup to continue.")

	// ErrAccountNotFound means the account is not the caller's: whether
	// it exists is not revealed.
	ErrAccountNotFound = audit.Errorf(audit.ENOTFOUND, "Account not found.")
)

// userPrincipal is u acting on their own behalf before they hold a session
// (signing in, creating their account).
func userPrincipal(u *audit.User) *Principal {
	return &Principal{AccountID: u.AccountID, User: u}
}

// RequireUser fails unless p is a signed-in user: operations that concern
// a person (sign-out, password, MFA) refuse API keys.
func (p *Principal) RequireUser() error {
	if p == nil || p.User == nil {
		return errNeedsUser
	}
	return nil
}

// Authorize fails unless p may exercise perm: a user whose role has it
// (and who is not held back by a due MFA enrolment), or an API key holding
// the scope that grants it (see audit.ScopeFor).
func (p *Principal) Authorize(perm audit.Permission) error {
	switch {
	case p == nil:
		return ErrUnauthorized
	case p.User != nil && p.MFAEnrolmentDue:
		return errMFAEnrolment
	case p.User != nil && !p.User.Role.Can(perm):
		return errForbidden
	case p.User == nil && (p.APIKey == nil || audit.ScopeFor(perm) == "" || !p.APIKey.Has(audit.ScopeFor(perm))):
		return errKeyScope
	}
	return nil
}

// OwnAccount fails with not-found unless id is p's account: whether another
// account exists is never revealed.
func (p *Principal) OwnAccount(id int64) error {
	if p == nil || id != p.AccountID {
		return ErrAccountNotFound
	}
	return nil
}

// setActor records p as the event's actor: the user, or the API key (by
// its prefix and name) when a service acts.
func (p *Principal) setActor(e *audit.Event) {
	if p.User != nil {
		e.SetUserActor(p.User)
		return
	}
	e.ActorType, e.ActorID, e.ActorName, e.APIKeyID = audit.ActorAPIKey, p.APIKey.Prefix, p.APIKey.Name, p.APIKey.ID
}
