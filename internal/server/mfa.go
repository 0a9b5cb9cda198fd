package server

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/totp"
)

// MFA settings.
const (
	// mfaChallengeTTL is how long a login that passed the password step
	// waits for its code.
	mfaChallengeTTL = 5 * time.Minute
	// mfaMaxAttempts is how many wrong codes end a pending login.
	mfaMaxAttempts = 5
	// recoveryCodeCount recovery codes are issued when MFA is enabled.
	recoveryCodeCount = 10
	// recoveryCodeLen characters of base32: 80 random bits each.
	recoveryCodeLen = 16
)

// Errors of the MFA endpoints.
var (
	errMFALoginExpired = audit.Errorf(audit.EUNAUTHORIZED, "This sign-in is unknown or has expired: sign in again with your password.")
	errMFABadCode      = &audit.Error{Code: audit.EUNAUTHORIZED, Field: "code", Message: "Invalid MFA code."}
	errMFAWrongCode    = &audit.Error{Code: audit.EFORBIDDEN, Field: "code", Message: "The code is not valid: enter the current code from your authenticator app, or an unused recovery code."}
	errMFANotEnrolling = audit.Errorf(audit.ECONFLICT, "No MFA enrolment is pending: start with POST /api/auth/mfa/setup.")
	errMFANotEnabled   = audit.Errorf(audit.ECONFLICT, "MFA is not enabled.")
	errMFAEnabled      = audit.Errorf(audit.ECONFLICT, "MFA is already enabled: disable it before enrolling another authenticator.")
	errMFAStillNeeded  = audit.Errorf(audit.EMFAREQUIRED, "This account requires MFA of its owners and admins, so it cannot be turned off.")
	errMFAEnrolment    = audit.Errorf(audit.EMFAREQUIRED, "This account requires MFA of its owners and admins: enrol with POST /api/auth/mfa/setup to continue.")
)

type mfaSetupRequest struct {
	Password string `json:"password"`
}

type mfaCodeRequest struct {
	Code string `json:"code"`
}

type mfaVerifyRequest struct {
	MFAToken string `json:"mfa_token"`
	Code     string `json:"code"`
}

// mfaSetup starts TOTP enrolment for the caller, who confirms with their
// password (so a stolen session cannot bind the attacker's authenticator).
// It returns the secret, its otpauth URI and a QR code of the URI; MFA is
// on only once mfaConfirm has seen a first code.
func (s *Server) mfaSetup(w http.ResponseWriter, r *http.Request) error {
	var req mfaSetupRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requirePassword("password", req.Password); err != nil {
		return err
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	if err := s.rateLimit(w, r, s.accountLimit(p.User.Email)); err != nil {
		return err
	}
	if m, err := s.store.UserMFA(ctx, p.User.AccountID, p.User.ID); err == nil && m.Enabled {
		return errMFAEnabled
	} else if err != nil && !errors.Is(err, audit.ErrNotFound) {
		return err
	}
	if err := s.checkPassword(r, p.User, req.Password, "password", "Failed MFA set-up: wrong password"); err != nil {
		return err
	}
	secret := totp.NewSecret()
	uri := totp.URI(s.cfg.LogName, p.User.Email, secret)
	png, err := totp.QRCodePNG(uri)
	if err != nil {
		return err
	}
	sealed := s.sealMFASecret(p.User, secret)
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.PutPendingMFA(ctx, &audit.MFA{AccountID: p.User.AccountID, UserID: p.User.ID, Secret: sealed}); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, s.userEvent(r, p.User, p.User, audit.ActionMFAEnrollmentStarted, "Started MFA enrolment (authenticator app)"))
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"message":     "Scan the QR code (or type the secret) into an authenticator app, then confirm with its current code at POST /api/auth/mfa/confirm.",
		"secret":      totp.Encode(secret),
		"otpauth_uri": uri,
		"qr_code":     "data:image/png;base64," + base64.StdEncoding.EncodeToString(png),
	})
}

// mfaConfirm turns the caller's pending enrolment on once they send a
// current code, and returns ten single-use recovery codes, shown only now.
func (s *Server) mfaConfirm(w http.ResponseWriter, r *http.Request) error {
	code, err := s.readOwnCode(w, r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	m, err := s.store.UserMFA(ctx, p.User.AccountID, p.User.ID)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return errMFANotEnrolling
	case err != nil:
		return err
	case m.Enabled:
		return errMFAEnabled
	}
	secret, err := s.openMFASecret(m)
	if err != nil {
		return err
	}
	step, ok := totp.Match(secret, code, s.now(), m.LastStep)
	if !ok || secret == nil {
		return errMFAWrongCode
	}
	codes, hashes := newRecoveryCodes()
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		ok, err := tx.EnableMFA(ctx, m.AccountID, m.UserID, m.Secret, step, hashes)
		if err != nil {
			return err
		}
		if !ok {
			return audit.Errorf(audit.ECONFLICT, "The enrolment changed meanwhile: start again with POST /api/auth/mfa/setup.")
		}
		return s.appendEvents(ctx, tx, s.userEvent(r, p.User, p.User, audit.ActionMFAEnabled,
			fmt.Sprintf("Enabled MFA (authenticator app) with %d recovery codes", len(codes))))
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"message":        "MFA is enabled. Keep the recovery codes somewhere safe: each works once, and they are not shown again.",
		"recovery_codes": codes,
	})
}

// mfaDisable turns the caller's MFA off, given a fresh authenticator code
// or an unused recovery code. An account that requires MFA of the caller's
// role refuses.
func (s *Server) mfaDisable(w http.ResponseWriter, r *http.Request) error {
	code, err := s.readOwnCode(w, r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	if p.User.Role.MFARequired() {
		required, err := s.store.RequireMFA(ctx, p.User.AccountID)
		if err != nil {
			return err
		}
		if required {
			return errMFAStillNeeded
		}
	}
	m, err := s.store.UserMFA(ctx, p.User.AccountID, p.User.ID)
	switch {
	case errors.Is(err, audit.ErrNotFound) || err == nil && !m.Enabled:
		return errMFANotEnabled
	case err != nil:
		return err
	}
	secret, err := s.openMFASecret(m)
	if err != nil {
		return err
	}
	var wrong bool
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		ok, via, err := s.useCode(ctx, tx, m, secret, code)
		if err != nil {
			return err
		}
		if wrong = !ok; wrong {
			return s.appendEvents(ctx, tx, s.userEvent(r, p.User, p.User, audit.ActionLoginFailed, "Failed MFA disable: wrong code"))
		}
		if err := tx.DeleteMFA(ctx, m.AccountID, m.UserID); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, s.userEvent(r, p.User, p.User, audit.ActionMFADisabled, "Disabled MFA, confirmed with "+via))
	})
	switch {
	case err != nil:
		return err
	case wrong:
		return errMFAWrongCode
	}
	return writeJSON(w, http.StatusOK, map[string]string{"message": "MFA is disabled."})
}

// secondFactor starts the MFA step of a login whose password was right,
// when the user has MFA enabled: it stores a pending login and answers with
// its token instead of a session. It reports whether it did.
func (s *Server) secondFactor(w http.ResponseWriter, r *http.Request, user *audit.User) (bool, error) {
	ctx := r.Context()
	m, err := s.store.UserMFA(ctx, user.AccountID, user.ID)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case !m.Enabled:
		return false, nil
	}
	token := newToken()
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		return tx.CreateMFAChallenge(ctx, &audit.MFAChallenge{
			TokenHash: s.tokenHash(token), AccountID: user.AccountID, UserID: user.ID, ExpiresAt: tx.Now().Add(mfaChallengeTTL),
		})
	})
	if err != nil {
		return false, err
	}
	return true, writeJSON(w, http.StatusOK, map[string]any{
		"message":      "Password accepted. Send the code from your authenticator app (or a recovery code) with mfa_token to POST /api/auth/mfa/verify.",
		"mfa_required": true,
		"mfa_token":    token,
		"expires_in":   int(mfaChallengeTTL / time.Second),
	})
}

// mfaVerify is the second step of an MFA login: the pending login's token
// and a code. It draws from the client IP's and the account's login
// buckets, allows mfaMaxAttempts wrong codes per pending login, and on
// success starts the session exactly as a one-step login does.
func (s *Server) mfaVerify(w http.ResponseWriter, r *http.Request) error {
	var req mfaVerifyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.MFAToken == "":
		return audit.FieldError("mfa_token", "mfa_token is required: it is returned by POST /api/auth/login.")
	case len(req.MFAToken) > 128:
		return errMFALoginExpired
	}
	code, err := parseCode(req.Code)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.rateLimit(w, r, s.ipLimit(r)); err != nil {
		return err
	}
	hash := s.tokenHash(req.MFAToken)
	ch, err := s.store.MFAChallenge(ctx, hash)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return errMFALoginExpired
	case err != nil:
		return err
	case !s.now().Before(ch.ExpiresAt):
		return errMFALoginExpired
	}
	user, err := s.store.User(ctx, ch.AccountID, ch.UserID)
	if err != nil {
		return err
	}
	if err := s.rateLimit(w, r, s.accountLimit(user.Email)); err != nil {
		if audit.ErrorCode(err) == audit.ERATELIMITED {
			s.auditThrottled(r, user.Email)
		}
		return err
	}
	m, err := s.store.UserMFA(ctx, user.AccountID, user.ID)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return errMFALoginExpired // MFA was turned off meanwhile
	case err != nil:
		return err
	case !m.Enabled:
		return errMFALoginExpired
	}
	secret, err := s.openMFASecret(m)
	if err != nil {
		return err
	}
	token, old := newToken(), s.cookieHash(r)
	var wrong bool
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		ch, err := tx.MFAChallengeForUpdate(ctx, hash)
		if err != nil {
			if errors.Is(err, audit.ErrNotFound) {
				return errMFALoginExpired // used or ended meanwhile
			}
			return err
		}
		ok, via, err := s.useCode(ctx, tx, m, secret, code)
		if err != nil {
			return err
		}
		if wrong = !ok || !user.IsActive; wrong {
			if err := tx.FailMFAChallenge(ctx, hash, ch.Attempts, mfaMaxAttempts); err != nil {
				return err
			}
			return s.appendEvents(ctx, tx, s.userEvent(r, user, user, audit.ActionLoginFailed, "Failed login attempt: wrong MFA code"))
		}
		if err := tx.DeleteMFAChallenge(ctx, hash); err != nil {
			return err
		}
		if old != "" {
			if err := tx.DeleteSession(ctx, old); err != nil {
				return err
			}
		}
		if err := s.createSession(ctx, tx, r, user, token); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, s.userEvent(r, user, user, audit.ActionUserLogin, "User logged in successfully with MFA ("+via+")"))
	})
	switch {
	case err != nil:
		return err
	case wrong:
		return errMFABadCode
	}
	s.setCookie(w, token)
	return writeJSON(w, http.StatusOK, map[string]any{"message": "Login successful", "user": userJSON(user)})
}

// useCode accepts code for the enrolment m, in tx: a six-digit code must be
// the authenticator's code for a time step after the last one accepted (the
// step is then recorded, so the code cannot be replayed), and anything else
// must be one of the user's unused recovery codes (then marked used, and the
// use recorded). via says which kind of code it was.
func (s *Server) useCode(ctx context.Context, tx *sqlstore.Tx, m *audit.MFA, secret []byte, code string) (ok bool, via string, err error) {
	if len(code) == totp.Digits {
		if secret == nil {
			return false, "", nil
		}
		step, match := totp.Match(secret, code, s.now(), m.LastStep)
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

// mfaKey is the AES-256 key that seals TOTP secrets at rest, derived from
// the secret key, so a copy of the database alone yields no secret.
func (s *Server) mfaKey() cipher.AEAD {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("auditlog mfa secret v1"))
	block, _ := aes.NewCipher(m.Sum(nil)) // a 32-byte key never fails
	aead, _ := cipher.NewGCM(block)
	return aead
}

// mfaAAD binds a sealed secret to its user, so a row copied onto another
// user does not open.
func mfaAAD(accountID, userID int64) []byte {
	return []byte("account " + strconv.FormatInt(accountID, 10) + " user " + strconv.FormatInt(userID, 10))
}

// sealMFASecret encrypts a TOTP secret for u with AES-GCM: "v1:" and the
// base64 of nonce and ciphertext.
func (s *Server) sealMFASecret(u *audit.User, secret []byte) string {
	aead := s.mfaKey()
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return "v1:" + base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, secret, mfaAAD(u.AccountID, u.ID)))
}

// openMFASecret decrypts m's secret. When SECRET_KEY changed since
// enrolment it returns nil, which no authenticator code matches; the user
// then signs in with a recovery code.
func (s *Server) openMFASecret(m *audit.MFA) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(m.Secret, "v1:"))
	aead := s.mfaKey()
	if err != nil || !strings.HasPrefix(m.Secret, "v1:") || len(raw) < aead.NonceSize() {
		return nil, fmt.Errorf("mfa secret of user %d is malformed", m.UserID)
	}
	secret, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], mfaAAD(m.AccountID, m.UserID))
	if err != nil {
		// Not fatal for the request: no TOTP code matches, but recovery
		// codes still work. Logged so that the operator learns why.
		s.log.Error("cannot open an MFA secret: was SECRET_KEY changed?", "user_id", m.UserID)
		return nil, nil
	}
	return secret, nil
}

// requirePassword checks that a password field of a re-authentication is
// present and within the length limit.
func requirePassword(field, pw string) error {
	switch {
	case pw == "":
		return audit.FieldError(field, "%s is required.", field)
	case len(pw) > audit.MaxPasswordBytes:
		return audit.FieldError(field, "%s must be at most %d bytes.", field, audit.MaxPasswordBytes)
	}
	return nil
}

// cookieHash returns the stored hash of the session cookie the request
// carries, or "".
func (s *Server) cookieHash(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return s.tokenHash(c.Value)
	}
	return ""
}

// createSession stores a new session for user under token, in tx.
func (s *Server) createSession(ctx context.Context, tx *sqlstore.Tx, r *http.Request, user *audit.User, token string) error {
	return tx.CreateSession(ctx, &audit.Session{
		TokenHash: s.tokenHash(token), UserID: user.ID, AccountID: user.AccountID,
		ExpiresAt: tx.Now().Add(s.cfg.SessionMaxAge), IPAddress: s.clientIP(r), UserAgent: r.UserAgent(),
	})
}

// readOwnCode reads the signed-in caller's MFA code from the body and takes
// a try from their account's sign-in bucket, so codes cannot be guessed
// faster through these routes than through sign-in.
func (s *Server) readOwnCode(w http.ResponseWriter, r *http.Request) (string, error) {
	var req mfaCodeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return "", err
	}
	code, err := parseCode(req.Code)
	if err != nil {
		return code, err
	}
	if err := s.rateLimit(w, r, s.accountLimit(principalFrom(r.Context()).User.Email)); err != nil {
		return code, err
	}
	return code, nil
}
