package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// touchEvery limits how often a session's last-use time is written: a busy
// client then costs one write a minute, not one per request. For idle
// timeouts under ten minutes the interval shrinks to a tenth of the timeout,
// so a session in use never idles out, and one left alone ends at most a
// tenth of its idle timeout early.
const touchEvery = time.Minute

// touchInterval returns how stale a session's recorded last use may get.
func touchInterval(idle time.Duration) time.Duration { return min(touchEvery, idle/10) }

// tokenLen is the length of a session or MFA sign-in token: 256 random
// bits in base64url.
const tokenLen = 43

// errBadCredentials is the one answer to a failed password step, whatever
// failed.
var errBadCredentials = audit.Errorf(audit.EUNAUTHORIZED, "Invalid email or password.")

// Credentials are what the password step of a sign-in takes.
type Credentials struct {
	Email    string
	Password string
	// OldToken is the session token the client held before, if any: that
	// session ends when a new one starts, so a planted cookie is worth
	// nothing.
	OldToken string
}

// SignIn is an accepted sign-in step: either a new session (Token) or,
// for a user with MFA after the password step, a pending sign-in that
// VerifyMFA completes (MFAToken).
type SignIn struct {
	User *audit.User
	// Token is the new session's token, for the client to present (the
	// session cookie); "" when MFAToken is set.
	Token string
	// MFAToken names the pending sign-in; it expires after MFAExpiresIn.
	MFAToken     string
	MFAExpiresIn time.Duration
}

// Login signs a user in with email and password. A wrong password, an
// unknown email and a deactivated user all get the same error after the
// same amount of hashing and the same queries, so neither the answer nor
// its timing reveals which accounts exist. Failures for a known email are
// recorded as login_failed in the background (recordLater), so that the
// write does not lengthen the answer.
// Attempts draw from the client IP's and the account's login buckets before
// any hashing. For a user with MFA the right password starts the second
// step (VerifyMFA) instead of a session.
func (a *App) Login(ctx context.Context, c Client, in Credentials) (*SignIn, error) {
	email := audit.NormalizeEmail(in.Email)
	switch {
	case email == "":
		return nil, audit.FieldError("email", "email is required.")
	case in.Password == "":
		return nil, audit.FieldError("password", "password is required.")
	case utf8.RuneCountInString(email) > audit.MaxEmailLen:
		return nil, audit.FieldError("email", "email must be at most %d characters.", audit.MaxEmailLen)
	case len(in.Password) > audit.MaxPasswordBytes:
		return nil, audit.FieldError("password", "password must be at most %d bytes.", audit.MaxPasswordBytes)
	}
	if err := a.limitSignIn(ctx, c, email, a.ipLimit(c), a.accountLimit(email)); err != nil {
		return nil, err
	}
	var user *audit.User
	if audit.ValidateText("email", email, audit.MaxEmailLen, true) == nil {
		// No stored email holds invalid UTF-8 or a control character
		// (ValidateEmail refuses them), and some engines refuse such
		// bytes in a query: such an email is unknown without asking.
		var err error
		if user, err = a.store.UserByEmail(ctx, email); err != nil && !errors.Is(err, audit.ErrNotFound) {
			return nil, err
		}
	}
	hash := ""
	if user != nil {
		hash = user.PasswordHash
	}
	ok, err := a.hasher.Verify(ctx, in.Password, hash)
	if err != nil {
		return nil, fmt.Errorf("verify password: %w", err)
	}
	if user == nil {
		return nil, errBadCredentials
	}
	if !ok || !user.IsActive {
		reason := "Failed login attempt: wrong password"
		if ok {
			reason = "Failed login attempt: user is deactivated"
		}
		// Recorded in the background: writing it here would make this
		// answer slower than the unknown email's, which records nothing.
		if err := a.recordLater(ctx, userPrincipal(user), c, entry{userResource(user), audit.ActionLoginFailed, reason}); err != nil {
			return nil, err
		}
		return nil, errBadCredentials
	}
	if err := a.upgradePasswordHash(ctx, user, in.Password); err != nil {
		return nil, err
	}
	if pending, err := a.startMFASignIn(ctx, user); pending != nil || err != nil {
		return pending, err
	}
	var token string
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if token, err = a.startSession(ctx, tx, user, c, in.OldToken); err != nil {
			return err
		}
		return a.record(ctx, tx, userPrincipal(user), c, entry{userResource(user), audit.ActionUserLogin, "User logged in successfully"})
	})
	if err != nil {
		return nil, err
	}
	return &SignIn{User: user, Token: token}, nil
}

// Logout ends p's session: it is deleted, so a copy of its token stops
// working too.
func (a *App) Logout(ctx context.Context, p *Principal, c Client) error {
	if err := p.RequireUser(); err != nil {
		return err
	}
	return a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.DeleteSession(ctx, p.Session.TokenHash); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{userResource(p.User), audit.ActionUserLogout, "User logged out"})
	})
}

// startSession is the one way a session starts (sign-in, MFA sign-in,
// password change): it ends the session of oldToken, if any, and stores a
// new one for user in tx, and returns its token.
func (a *App) startSession(ctx context.Context, tx *sqlstore.Tx, user *audit.User, c Client, oldToken string) (string, error) {
	if isToken(oldToken) {
		if err := tx.DeleteSession(ctx, a.keys.SessionHash(oldToken)); err != nil {
			return "", err
		}
	}
	token := newToken()
	err := tx.CreateSession(ctx, &audit.Session{
		TokenHash: a.keys.SessionHash(token), UserID: user.ID, AccountID: user.AccountID,
		ExpiresAt: tx.Now().Add(a.cfg.SessionMaxAge), IPAddress: c.ip, UserAgent: c.userAgent,
	})
	return token, err
}

// AuthenticateSession returns the principal of the session with token. It
// fails with ErrUnauthorized when the token is unknown, the session has
// expired (idle or absolute), or the user has been deactivated. Use is
// recorded at most every touchInterval, so a session in use stays alive.
func (a *App) AuthenticateSession(ctx context.Context, token string) (*Principal, error) {
	if !isToken(token) {
		return nil, ErrUnauthorized
	}
	hash := a.keys.SessionHash(token)
	sess, user, mfaEnabled, requireMFA, err := a.store.SessionPrincipal(ctx, hash)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return nil, ErrUnauthorized
	case err != nil:
		return nil, err
	}
	now := a.now().UTC()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= a.cfg.SessionIdle || !user.IsActive {
		return nil, ErrUnauthorized
	}
	if now.Sub(sess.LastSeenAt) >= touchInterval(a.cfg.SessionIdle) {
		if err := a.store.TouchSession(ctx, hash, now); err != nil {
			a.log.WarnContext(ctx, "could not record session use", "err", err)
		}
	}
	return &Principal{
		AccountID: user.AccountID, User: user, Session: sess,
		MFAEnrolmentDue: requireMFA && user.Role.MFARequired() && !mfaEnabled,
	}, nil
}

// newToken returns a fresh session or sign-in token: 256 random bits,
// base64url.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand documents it)
	return base64.RawURLEncoding.EncodeToString(b)
}

// isToken reports whether s has the form of a token newToken makes. Only
// such strings are ever hashed with Keys.SessionHash.
func isToken(s string) bool {
	return len(s) == tokenLen && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == ""
}

// upgradePasswordHash replaces a user's legacy hash (a Werkzeug hash of an
// account imported from the seed's system) by an argon2id hash of the
// password that has just been verified against it, so that the legacy
// hash lives only until the user's first successful sign-in. A password
// changed meanwhile is left as it is.
func (a *App) upgradePasswordHash(ctx context.Context, user *audit.User, pw string) error {
	if !password.NeedsRehash(user.PasswordHash) {
		return nil
	}
	hash, err := a.hasher.Hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("rehash password: %w", err)
	}
	var done bool
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		done, err = tx.UpgradePasswordHash(ctx, user.AccountID, user.ID, user.PasswordHash, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("upgrade password hash: %w", err)
	}
	if done {
		user.PasswordHash = hash
		a.log.Info("replaced a legacy password hash by argon2id at sign-in", "account_id", user.AccountID, "user_id", user.ID)
	}
	return nil
}
