package app

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
)

// Principal is who performs an operation: a signed-in user (User and
// Session), a platform service holding an API key (APIKey) or a platform
// key (Platform), or a reader of the embeddable viewer (Viewer). Surfaces
// get one from AuthenticateSession, AuthenticateKey,
// AuthenticatePlatformKey or AuthenticateViewer.
type Principal struct {
	// AccountID is the account acted on. A platform key's principal has
	// none (0) until PlatformAccount names one for a request.
	AccountID int64
	User      *audit.User
	Session   *audit.Session
	APIKey    *audit.APIKey
	// Platform is the platform key acting, which may act on any account
	// within its scopes (audit.PlatformScopeFor), one account per
	// operation.
	Platform *audit.PlatformKey
	// Viewer, when set, is an embedded viewer's session: read-only, on
	// one account, narrowed to its grant's search and features.
	Viewer *ViewerGrant
	// MFAEnrolmentDue is set for an owner or admin without MFA in an
	// account that requires it: such a session may only perform the
	// operations that need no permission (sign-out, MFA enrolment,
	// password change).
	MFAEnrolmentDue bool
	// Operator, when set, names an operator acting on the account with
	// direct access to its database (the auditlog command line), who may
	// do what an owner may and is recorded as a system actor by that name.
	// Only OperatorPrincipal makes one: no request can.
	Operator string
}

// OperatorPrincipal returns an operator acting on an account from the
// command line, named by what they run (such as "auditlog export").
func OperatorPrincipal(accountID int64, name string) *Principal {
	return &Principal{AccountID: accountID, Operator: name}
}

// Client is where a request came from, as the audit trail and the
// sessions table record it. Make one with NewClient, which makes its text
// safe to store on every engine: a client controls these bytes (a header,
// a proxy's X-Forwarded-For), and one request's bytes must never poison
// the account's log or fail the request.
type Client struct {
	ip, userAgent string
}

// Bounds of a Client's text, in bytes: an IPv6 address with a zone fits,
// and the longest user agents seen in the wild are a few hundred bytes.
const (
	maxClientIPLen  = 64
	maxUserAgentLen = 512
)

// NewClient returns the origin of a request. Its text is made storable
// by construction, the one rule for text that enters an event from a
// request's headers: invalid UTF-8 and control characters (including NUL)
// become U+FFFD, and text past the bound is cut at a character boundary.
// The event then commits, stores and exports exactly these characters.
func NewClient(ip, userAgent string) Client {
	return Client{ip: cleanText(ip, maxClientIPLen), userAgent: cleanText(userAgent, maxUserAgentLen)}
}

// IP returns the client's IP address as recorded.
func (c Client) IP() string { return c.ip }

// UserAgent returns the client's User-Agent as recorded.
func (c Client) UserAgent() string { return c.userAgent }

// cleanText returns s as valid UTF-8 without control characters, each
// invalid byte sequence or control character replaced by U+FFFD, cut to at
// most max bytes at a character boundary.
func cleanText(s string, max int) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		for _, r := range s { // ranging decodes invalid bytes as utf8.RuneError
			if unicode.IsControl(r) {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// Errors of authentication and authorization.
var (
	// ErrUnauthorized means no valid credentials were presented: no
	// session, an unknown or expired one, or a deactivated user's.
	ErrUnauthorized = audit.Errorf(audit.EUNAUTHORIZED, "Authentication required.")

	errForbidden      = audit.Errorf(audit.EFORBIDDEN, "Your role does not allow this action.")
	errNeedsUser      = audit.Errorf(audit.EFORBIDDEN, "This endpoint needs a signed-in user, not an API key.")
	errKeyScope       = audit.Errorf(audit.EFORBIDDEN, "The API key's scopes do not allow this action.")
	errPlatformScope  = audit.Errorf(audit.EFORBIDDEN, "The platform key's scopes do not allow this action.")
	errNeedsAccount   = audit.Errorf(audit.EINVALID, "Name the account this request acts on.")
	errViewerReadOnly = audit.Errorf(audit.EFORBIDDEN, "The viewer only reads the audit log.")

	// ErrMFAEnrolment refuses a user whose account requires MFA of their
	// role and who has none yet (its message names the API route that
	// enrols; the console words it its own way).
	ErrMFAEnrolment = audit.Errorf(audit.EMFAREQUIRED, "This account requires MFA of its owners and admins: enrol with POST /api/auth/mfa/setup to continue.")

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
	case p.Platform != nil:
		switch scope := audit.PlatformScopeFor(perm); {
		case scope == "" || !p.Platform.Has(scope):
			return errPlatformScope
		case p.AccountID == 0:
			return errNeedsAccount
		}
		return nil
	case p.Viewer != nil:
		// A viewer reads only through authorizeRead and authorizeFeature,
		// which narrow what it sees; every other operation refuses it.
		return errViewerReadOnly
	case p.Operator != "" && p.User == nil && p.APIKey == nil:
		return nil
	case p.User != nil && p.MFAEnrolmentDue:
		return ErrMFAEnrolment
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
	if p.Operator != "" && p.User == nil && p.APIKey == nil {
		e.ActorType, e.ActorName = audit.ActorSystem, p.Operator
		return
	}
	if p.User != nil {
		e.SetUserActor(p.User)
		e.User = p.User // so the answer names the user as a read would
		return
	}
	if p.Platform != nil {
		e.ActorType, e.ActorID, e.ActorName = audit.ActorPlatformKey, p.Platform.Prefix, p.Platform.Name
		return
	}
	if p.Viewer != nil {
		e.ActorType, e.ActorID, e.ActorName = ActorViewer, p.Viewer.ID, p.Viewer.CreatedBy
		return
	}
	e.ActorType, e.ActorID, e.ActorName, e.APIKeyID = audit.ActorAPIKey, p.APIKey.Prefix, p.APIKey.Name, p.APIKey.ID
}
