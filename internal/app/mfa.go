package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/totp"
)

// MFA settings.
const (
	// MFASignInTTL is how long a sign-in that passed the password step
	// waits for its code.
	MFASignInTTL = 5 * time.Minute
	// mfaMaxAttempts is how many wrong codes end a pending sign-in.
	mfaMaxAttempts = 5
	// recoveryCodeCount recovery codes are issued when MFA is enabled.
	recoveryCodeCount = 10
	// recoveryCodeLen characters of base32: 80 random bits each.
	recoveryCodeLen = 16
	// maxMFATokenLen bounds the pending sign-in token a client may send.
	maxMFATokenLen = 128
)

// Errors of the MFA operations.
var (
	errMFALoginExpired = audit.Errorf(audit.EUNAUTHORIZED, "This sign-in is unknown or has expired: sign in again with your password.")
	errMFABadCode      = &audit.Error{Code: audit.EUNAUTHORIZED, Field: "code", Message: "Invalid MFA code."}
	errMFAWrongCode    = &audit.Error{Code: audit.EFORBIDDEN, Field: "code", Message: "The code is not valid: enter the current code from your authenticator app, or an unused recovery code."}
	// ErrMFANotEnrolling means ConfirmMFA found no pending enrolment (its
	// message names the API route that starts one; the console words it
	// its own way).
	ErrMFANotEnrolling = audit.Errorf(audit.ECONFLICT, "No MFA enrolment is pending: start with POST /api/auth/mfa/setup.")
	errMFANotEnabled   = audit.Errorf(audit.ECONFLICT, "MFA is not enabled.")
	errMFAEnabled      = audit.Errorf(audit.ECONFLICT, "MFA is already enabled: disable it before enrolling another authenticator.")
	// ErrMFAChanged means the pending enrolment changed while ConfirmMFA
	// checked its code (its message names the API route, as
	// ErrMFANotEnrolling's).
	ErrMFAChanged     = audit.Errorf(audit.ECONFLICT, "The enrolment changed meanwhile: start again with POST /api/auth/mfa/setup.")
	errMFAStillNeeded = audit.Errorf(audit.EMFAREQUIRED, "This account requires MFA of its owners and admins, so it cannot be turned off.")
)

// MFASetup is a started TOTP enrolment: the secret to put into an
// authenticator app, as base32 text, as an otpauth URI, and as a QR code
// (PNG) of the URI.
type MFASetup struct {
	Secret    string
	URI       string
	QRCodePNG []byte
}

// StartMFASetup starts TOTP enrolment for p, who confirms with their
// password (so a stolen session cannot bind the attacker's authenticator).
// MFA is on only once ConfirmMFA has seen a first code. The password check
// draws from the account's login bucket; a wrong password is recorded as
// login_failed.
func (a *App) StartMFASetup(ctx context.Context, p *Principal, c Client, password string) (*MFASetup, error) {
	if err := p.RequireUser(); err != nil {
		return nil, err
	}
	if err := requirePassword("password", password); err != nil {
		return nil, err
	}
	if err := a.limitOwnAttempt(ctx, p.User); err != nil {
		return nil, err
	}
	if m, err := a.store.UserMFA(ctx, p.User.AccountID, p.User.ID); err == nil && m.Enabled {
		return nil, errMFAEnabled
	} else if err != nil && !errors.Is(err, audit.ErrNotFound) {
		return nil, err
	}
	if err := a.checkPassword(ctx, p, c, password, "password", "Failed MFA set-up: wrong password"); err != nil {
		return nil, err
	}
	secret := totp.NewSecret()
	uri := totp.URI(a.cfg.LogName, p.User.Email, secret)
	png, err := totp.QRCodePNG(uri)
	if err != nil {
		return nil, fmt.Errorf("mfa qr code: %w", err)
	}
	sealed := a.keys.SealMFASecret(p.User.AccountID, p.User.ID, secret)
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.PutPendingMFA(ctx, &audit.MFA{AccountID: p.User.AccountID, UserID: p.User.ID, Secret: sealed}); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{userResource(p.User), audit.ActionMFAEnrollmentStarted, "Started MFA enrolment (authenticator app)"})
	})
	switch {
	case errors.Is(err, audit.ErrMFAEnabled):
		return nil, errMFAEnabled // enabled meanwhile
	case err != nil:
		return nil, err
	}
	return &MFASetup{Secret: totp.Encode(secret), URI: uri, QRCodePNG: png}, nil
}

// ConfirmMFA turns p's pending enrolment on once they send a current code,
// and returns single-use recovery codes, to be shown only now. The attempt
// draws from the account's login bucket.
func (a *App) ConfirmMFA(ctx context.Context, p *Principal, c Client, rawCode string) (recoveryCodes []string, err error) {
	code, err := a.ownCode(ctx, p, rawCode)
	if err != nil {
		return nil, err
	}
	m, err := a.store.UserMFA(ctx, p.User.AccountID, p.User.ID)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return nil, ErrMFANotEnrolling
	case err != nil:
		return nil, err
	case m.Enabled:
		return nil, errMFAEnabled
	}
	secret, err := a.openMFASecret(ctx, m)
	if err != nil {
		return nil, err
	}
	step, ok := totp.Match(secret, code, a.now(), m.LastStep)
	if !ok || secret == nil {
		return nil, errMFAWrongCode
	}
	codes, hashes := newRecoveryCodes()
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.EnableMFA(ctx, m.AccountID, m.UserID, m.Secret, step, hashes); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{userResource(p.User), audit.ActionMFAEnabled,
			fmt.Sprintf("Enabled MFA (authenticator app) with %d recovery codes", len(codes))})
	})
	switch {
	case errors.Is(err, audit.ErrMFAChanged):
		return nil, ErrMFAChanged
	case err != nil:
		return nil, err
	}
	return codes, nil
}

// DisableMFA turns p's MFA off, given a fresh authenticator code or an
// unused recovery code. An account that requires MFA of p's role refuses.
// The attempt draws from the account's login bucket; a wrong code is
// recorded as login_failed.
func (a *App) DisableMFA(ctx context.Context, p *Principal, c Client, rawCode string) error {
	code, err := a.ownCode(ctx, p, rawCode)
	if err != nil {
		return err
	}
	if required, err := a.mfaKept(ctx, p.User); err != nil {
		return err
	} else if required {
		return errMFAStillNeeded
	}
	m, err := a.store.UserMFA(ctx, p.User.AccountID, p.User.ID)
	switch {
	case errors.Is(err, audit.ErrNotFound) || err == nil && !m.Enabled:
		return errMFANotEnabled
	case err != nil:
		return err
	}
	secret, err := a.openMFASecret(ctx, m)
	if err != nil {
		return err
	}
	var wrong bool
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		ok, via, err := a.useCode(ctx, tx, m, secret, code)
		if err != nil {
			return err
		}
		if wrong = !ok; wrong {
			return a.record(ctx, tx, p, c, entry{userResource(p.User), audit.ActionLoginFailed, "Failed MFA disable: wrong code"})
		}
		if err := tx.DeleteMFA(ctx, m.AccountID, m.UserID); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{userResource(p.User), audit.ActionMFADisabled, "Disabled MFA, confirmed with " + via})
	})
	switch {
	case err != nil:
		return err
	case wrong:
		return errMFAWrongCode
	}
	return nil
}

// mfaKept reports whether u's account requires MFA of u's role, so that
// u may not turn it off.
func (a *App) mfaKept(ctx context.Context, u *audit.User) (bool, error) {
	if !u.Role.MFARequired() {
		return false, nil
	}
	return a.store.RequireMFA(ctx, u.AccountID)
}

// MFAStatus is a user's own two-factor state.
type MFAStatus struct {
	// Enabled is set once an enrolment was confirmed.
	Enabled bool
	// Kept is set when the account requires MFA of the user's role:
	// DisableMFA then refuses.
	Kept bool
}

// UserMFAStatus returns p's own MFA state, for a page that offers to
// enrol or to turn MFA off. Like the other MFA operations it needs a
// signed-in user and no permission, so a user whose enrolment is due can
// read it.
func (a *App) UserMFAStatus(ctx context.Context, p *Principal) (*MFAStatus, error) {
	if err := p.RequireUser(); err != nil {
		return nil, err
	}
	var st MFAStatus
	m, err := a.store.UserMFA(ctx, p.User.AccountID, p.User.ID)
	switch {
	case errors.Is(err, audit.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		st.Enabled = m.Enabled
	}
	if st.Kept, err = a.mfaKept(ctx, p.User); err != nil {
		return nil, err
	}
	return &st, nil
}

// startMFASignIn starts the MFA step of a sign-in whose password was right,
// when the user has MFA enabled: it stores a pending sign-in and returns
// its token. It returns nil when the user has no MFA.
func (a *App) startMFASignIn(ctx context.Context, user *audit.User) (*SignIn, error) {
	m, err := a.store.UserMFA(ctx, user.AccountID, user.ID)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case !m.Enabled:
		return nil, nil
	}
	token := newToken()
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		return tx.CreateMFAChallenge(ctx, &audit.MFAChallenge{
			TokenHash: a.keys.MFALoginHash(token), AccountID: user.AccountID, UserID: user.ID, ExpiresAt: tx.Now().Add(MFASignInTTL),
		})
	})
	if err != nil {
		return nil, err
	}
	return &SignIn{User: user, MFAToken: token, MFAExpiresIn: MFASignInTTL}, nil
}

// MFAVerification is what the second step of an MFA sign-in takes.
type MFAVerification struct {
	// Token names the pending sign-in (SignIn.MFAToken).
	Token string
	// Code is the authenticator's code or a recovery code, as typed.
	Code string
	// OldToken is the session token the client held before, if any.
	OldToken string
}

// VerifyMFA is the second step of an MFA sign-in. It draws from the client
// IP's and the account's login buckets, allows mfaMaxAttempts wrong codes
// per pending sign-in (each recorded as login_failed), and on success
// starts the session exactly as a one-step sign-in does.
func (a *App) VerifyMFA(ctx context.Context, c Client, in MFAVerification) (*SignIn, error) {
	if in.Token == "" || len(in.Token) > maxMFATokenLen {
		return nil, errMFALoginExpired
	}
	code, err := parseCode(in.Code)
	if err != nil {
		return nil, err
	}
	if err := a.draw(ctx, a.ipLimit(c)); err != nil {
		return nil, err
	}
	hash := a.keys.MFALoginHash(in.Token)
	ch, err := a.store.MFAChallenge(ctx, hash)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return nil, errMFALoginExpired
	case err != nil:
		return nil, err
	case !a.now().Before(ch.ExpiresAt):
		return nil, errMFALoginExpired
	}
	user, err := a.store.User(ctx, ch.AccountID, ch.UserID)
	if err != nil {
		return nil, err
	}
	if err := a.limitSignIn(ctx, c, user.Email, a.accountLimit(user.Email)); err != nil {
		return nil, err
	}
	m, err := a.store.UserMFA(ctx, user.AccountID, user.ID)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return nil, errMFALoginExpired // MFA was turned off meanwhile
	case err != nil:
		return nil, err
	case !m.Enabled:
		return nil, errMFALoginExpired
	}
	secret, err := a.openMFASecret(ctx, m)
	if err != nil {
		return nil, err
	}
	by := userPrincipal(user)
	var token string
	var wrong bool
	err = a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		ch, err := tx.MFAChallengeForUpdate(ctx, hash)
		if err != nil {
			if errors.Is(err, audit.ErrNotFound) {
				return errMFALoginExpired // used or ended meanwhile
			}
			return err
		}
		ok, via, err := a.useCode(ctx, tx, m, secret, code)
		if err != nil {
			return err
		}
		if wrong = !ok || !user.IsActive; wrong {
			if err := tx.FailMFAChallenge(ctx, hash, ch.Attempts, mfaMaxAttempts); err != nil {
				return err
			}
			return a.record(ctx, tx, by, c, entry{userResource(user), audit.ActionLoginFailed, "Failed login attempt: wrong MFA code"})
		}
		if err := tx.DeleteMFAChallenge(ctx, hash); err != nil {
			return err
		}
		if token, err = a.startSession(ctx, tx, user, c, in.OldToken); err != nil {
			return err
		}
		return a.record(ctx, tx, by, c, entry{userResource(user), audit.ActionUserLogin, "User logged in successfully with MFA (" + via + ")"})
	})
	switch {
	case err != nil:
		return nil, err
	case wrong:
		return nil, errMFABadCode
	}
	return &SignIn{User: user, Token: token}, nil
}

// ownCode checks a signed-in user's MFA code and takes a try from their
// account's sign-in bucket, so codes cannot be guessed faster through
// these operations than through sign-in.
func (a *App) ownCode(ctx context.Context, p *Principal, raw string) (string, error) {
	if err := p.RequireUser(); err != nil {
		return "", err
	}
	code, err := parseCode(raw)
	if err != nil {
		return "", err
	}
	if err := a.limitOwnAttempt(ctx, p.User); err != nil {
		return "", err
	}
	return code, nil
}

// useCode accepts code for the enrolment m, in tx: a six-digit code must be
// the authenticator's code for a time step after the last one accepted (the
// step is then recorded, so the code cannot be replayed), and anything else
// must be one of the user's unused recovery codes (then marked used, and the
// use recorded). via says which kind of code it was.
func (a *App) useCode(ctx context.Context, tx *sqlstore.Tx, m *audit.MFA, secret []byte, code string) (ok bool, via string, err error) {
	if len(code) == totp.Digits {
		if secret == nil {
			return false, "", nil
		}
		step, match := totp.Match(secret, code, a.now(), m.LastStep)
		if !match {
			return false, "", nil
		}
		ok, err := tx.UseTOTPStep(ctx, m.AccountID, m.UserID, step)
		return ok, "authenticator code", err
	}
	ok, left, err := tx.UseRecoveryCode(ctx, m.AccountID, m.UserID, recoveryCodeHash(code))
	if err != nil || !ok {
		return false, "", err
	}
	return true, fmt.Sprintf("recovery code, %d left", left), nil
}

// openMFASecret decrypts m's secret. When SECRET_KEY changed since
// enrolment it returns nil, which no authenticator code matches; the user
// then signs in with a recovery code, and the operator learns why from the
// log.
func (a *App) openMFASecret(ctx context.Context, m *audit.MFA) ([]byte, error) {
	secret, err := a.keys.OpenMFASecret(m.AccountID, m.UserID, m.Secret)
	switch {
	case errors.Is(err, errSealKey):
		a.log.ErrorContext(ctx, "cannot open an MFA secret: was SECRET_KEY changed?", "user_id", m.UserID)
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("mfa secret of user %d: %w", m.UserID, err)
	}
	return secret, nil
}

// parseCode normalizes an MFA code as people type it: spaces and dashes
// are dropped and letters lower-cased. It must then be six digits or a
// recovery code's sixteen characters.
func parseCode(raw string) (string, error) {
	if raw == "" {
		return "", audit.FieldError("code", "code is required: the 6-digit code from your authenticator app, or a recovery code.")
	}
	if len(raw) > 64 {
		return "", audit.FieldError("code", "code must be a 6-digit code or a recovery code.")
	}
	code := strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(raw))
	isDigits := len(code) == totp.Digits && strings.Trim(code, "0123456789") == ""
	isRecovery := len(code) == recoveryCodeLen && strings.Trim(code, recoveryAlphabet) == ""
	if !isDigits && !isRecovery {
		return "", audit.FieldError("code", "code must be a 6-digit code or a recovery code.")
	}
	return code, nil
}

// recoveryAlphabet is lower-case RFC 4648 base32.
const recoveryAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// newRecoveryCodes returns fresh recovery codes, formatted for people
// (xxxx-xxxx-xxxx-xxxx), and the hashes the store keeps.
func newRecoveryCodes() (codes, hashes []string) {
	enc := base32.NewEncoding(recoveryAlphabet).WithPadding(base32.NoPadding)
	for range recoveryCodeCount {
		b := make([]byte, recoveryCodeLen*5/8)
		rand.Read(b)
		c := enc.EncodeToString(b)
		codes = append(codes, c[0:4]+"-"+c[4:8]+"-"+c[8:12]+"-"+c[12:16])
		hashes = append(hashes, recoveryCodeHash(c))
	}
	return codes, hashes
}

// recoveryCodeHash is what the store keeps of a normalized recovery code:
// its SHA-256. The codes carry 80 random bits, so a fast hash suffices.
func recoveryCodeHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}
