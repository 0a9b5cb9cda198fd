package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

const mfaColumns = `account_id, user_id, secret, enabled, last_step, created_at, enabled_at`

func scanMFA(row scanner) (*audit.MFA, error) {
	m := &audit.MFA{}
	var enabledAt time.Time
	if err := row.Scan(&m.AccountID, &m.UserID, &m.Secret, &m.Enabled, &m.LastStep, timeValue{&m.CreatedAt}, timeValue{&enabledAt}); err != nil {
		return nil, err
	}
	m.EnabledAt = enabledAt
	return m, nil
}

// UserMFA returns the user's TOTP enrolment, pending or enabled, or
// audit.ErrNotFound when there is none.
func (db *DB) UserMFA(ctx context.Context, accountID, userID int64) (*audit.MFA, error) {
	m, err := scanMFA(db.rd.queryRow(ctx, `SELECT `+mfaColumns+` FROM user_mfa WHERE account_id = ? AND user_id = ?`, accountID, userID))
	return m, db.wrap(err, "select user mfa")
}

// PutPendingMFA starts (or restarts) the user's enrolment with a new sealed
// secret. It returns audit.ErrMFAEnabled when the user already has MFA
// enabled.
func (tx *Tx) PutPendingMFA(ctx context.Context, m *audit.MFA) error {
	m.CreatedAt, m.Enabled, m.LastStep = tx.now, false, 0
	cur, err := scanMFA(tx.queryRow(ctx, `SELECT `+mfaColumns+` FROM user_mfa WHERE account_id = ? AND user_id = ?`+tx.db.dialect.forUpdate, m.AccountID, m.UserID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.exec(ctx, `INSERT INTO user_mfa (account_id, user_id, secret, enabled, last_step, created_at) VALUES (?, ?, ?, ?, 0, ?)`,
			m.AccountID, m.UserID, m.Secret, false, tx.db.t(tx.now))
		return tx.db.wrap(err, "insert user mfa")
	case err != nil:
		return tx.db.wrap(err, "select user mfa")
	case cur.Enabled:
		return audit.ErrMFAEnabled
	}
	_, err = tx.exec(ctx, `UPDATE user_mfa SET secret = ?, last_step = 0, created_at = ? WHERE account_id = ? AND user_id = ?`,
		m.Secret, tx.db.t(tx.now), m.AccountID, m.UserID)
	return tx.db.wrap(err, "update user mfa")
}

// EnableMFA turns the user's pending enrolment with the given sealed secret
// on, records step as used, and replaces the user's recovery codes with
// codeHashes. It returns audit.ErrMFAChanged when no such pending
// enrolment exists (it was enabled or restarted meanwhile).
func (tx *Tx) EnableMFA(ctx context.Context, accountID, userID int64, secret string, step int64, codeHashes []string) error {
	res, err := tx.exec(ctx, `UPDATE user_mfa SET enabled = ?, last_step = ?, enabled_at = ? WHERE account_id = ? AND user_id = ? AND secret = ? AND enabled = ?`,
		true, step, tx.db.t(tx.now), accountID, userID, secret, false)
	if err != nil {
		return tx.db.wrap(err, "enable mfa")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return audit.ErrMFAChanged
	}
	if _, err := tx.exec(ctx, `DELETE FROM mfa_recovery_codes WHERE account_id = ? AND user_id = ?`, accountID, userID); err != nil {
		return tx.db.wrap(err, "delete recovery codes")
	}
	for _, h := range codeHashes {
		if _, err := tx.exec(ctx, `INSERT INTO mfa_recovery_codes (account_id, user_id, code_hash, created_at) VALUES (?, ?, ?, ?)`,
			accountID, userID, h, tx.db.t(tx.now)); err != nil {
			return tx.db.wrap(err, "insert recovery code")
		}
	}
	return nil
}

// UseTOTPStep records that a code of time step step was accepted for the
// user, and reports whether it may be: only a step after the last one
// accepted may, so each code works once, even when two requests race.
func (tx *Tx) UseTOTPStep(ctx context.Context, accountID, userID, step int64) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE user_mfa SET last_step = ? WHERE account_id = ? AND user_id = ? AND enabled = ? AND last_step < ?`,
		step, accountID, userID, true, step)
	if err != nil {
		return false, tx.db.wrap(err, "use totp step")
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseRecoveryCode marks the user's unused recovery code with the given hash
// as used, and reports whether there was one and how many unused codes are
// left.
func (tx *Tx) UseRecoveryCode(ctx context.Context, accountID, userID int64, codeHash string) (ok bool, left int, err error) {
	res, err := tx.exec(ctx, `UPDATE mfa_recovery_codes SET used_at = ? WHERE account_id = ? AND user_id = ? AND code_hash = ? AND used_at IS NULL`,
		tx.db.t(tx.now), accountID, userID, codeHash)
	if err != nil {
		return false, 0, tx.db.wrap(err, "use recovery code")
	}
	n, _ := res.RowsAffected()
	err = tx.queryRow(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes WHERE account_id = ? AND user_id = ? AND used_at IS NULL`, accountID, userID).Scan(&left)
	return n == 1, left, tx.db.wrap(err, "count recovery codes")
}

// RecoveryCodesLeft returns how many unused recovery codes the user has.
func (db *DB) RecoveryCodesLeft(ctx context.Context, accountID, userID int64) (int, error) {
	var n int
	err := db.rd.queryRow(ctx, `SELECT COUNT(*) FROM mfa_recovery_codes WHERE account_id = ? AND user_id = ? AND used_at IS NULL`, accountID, userID).Scan(&n)
	return n, db.wrap(err, "count recovery codes")
}

// DeleteMFA removes the user's enrolment and recovery codes.
func (tx *Tx) DeleteMFA(ctx context.Context, accountID, userID int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM mfa_recovery_codes WHERE account_id = ? AND user_id = ?`, accountID, userID); err != nil {
		return tx.db.wrap(err, "delete recovery codes")
	}
	_, err := tx.exec(ctx, `DELETE FROM user_mfa WHERE account_id = ? AND user_id = ?`, accountID, userID)
	return tx.db.wrap(err, "delete user mfa")
}

const challengeColumns = `token_hash, account_id, user_id, created_at, expires_at, attempts`

func scanChallenge(row scanner) (*audit.MFAChallenge, error) {
	c := &audit.MFAChallenge{}
	if err := row.Scan(&c.TokenHash, &c.AccountID, &c.UserID, timeValue{&c.CreatedAt}, timeValue{&c.ExpiresAt}, &c.Attempts); err != nil {
		return nil, err
	}
	return c, nil
}

// CreateMFAChallenge stores a login waiting for its MFA code; its creation
// time is the transaction's.
func (tx *Tx) CreateMFAChallenge(ctx context.Context, c *audit.MFAChallenge) error {
	c.CreatedAt = tx.now
	_, err := tx.exec(ctx, `INSERT INTO mfa_challenges (`+challengeColumns+`) VALUES (?, ?, ?, ?, ?, 0)`,
		c.TokenHash, c.AccountID, c.UserID, tx.db.t(c.CreatedAt), tx.db.t(c.ExpiresAt))
	return tx.db.wrap(err, "insert mfa challenge")
}

// MFAChallenge returns the pending login with the given token hash, or
// audit.ErrNotFound. Expiry is the caller's to check.
func (db *DB) MFAChallenge(ctx context.Context, tokenHash string) (*audit.MFAChallenge, error) {
	c, err := scanChallenge(db.rd.queryRow(ctx, `SELECT `+challengeColumns+` FROM mfa_challenges WHERE token_hash = ?`, tokenHash))
	return c, db.wrap(err, "select mfa challenge")
}

// MFAChallengeForUpdate is MFAChallenge in the transaction, locking the row,
// so that two requests with one token take turns and only one can use it.
func (tx *Tx) MFAChallengeForUpdate(ctx context.Context, tokenHash string) (*audit.MFAChallenge, error) {
	c, err := scanChallenge(tx.queryRow(ctx, `SELECT `+challengeColumns+` FROM mfa_challenges WHERE token_hash = ?`+tx.db.dialect.forUpdate, tokenHash))
	return c, tx.db.wrap(err, "select mfa challenge")
}

// FailMFAChallenge counts a wrong code against the pending login and
// deletes it once it has had maxAttempts wrong codes; attempts is the
// count before this one.
func (tx *Tx) FailMFAChallenge(ctx context.Context, tokenHash string, attempts, maxAttempts int) error {
	if attempts+1 >= maxAttempts {
		return tx.DeleteMFAChallenge(ctx, tokenHash)
	}
	_, err := tx.exec(ctx, `UPDATE mfa_challenges SET attempts = ? WHERE token_hash = ?`, attempts+1, tokenHash)
	return tx.db.wrap(err, "count mfa failure")
}

// DeleteMFAChallenge deletes the pending login with the given token hash.
func (tx *Tx) DeleteMFAChallenge(ctx context.Context, tokenHash string) error {
	_, err := tx.exec(ctx, `DELETE FROM mfa_challenges WHERE token_hash = ?`, tokenHash)
	return tx.db.wrap(err, "delete mfa challenge")
}

// DeleteExpiredMFAChallenges deletes pending logins that expired by now and
// returns how many it deleted.
func (db *DB) DeleteExpiredMFAChallenges(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.wr.exec(ctx, `DELETE FROM mfa_challenges WHERE expires_at <= ?`, db.t(now))
	if err != nil {
		return 0, db.wrap(err, "delete expired mfa challenges")
	}
	n, _ := res.RowsAffected()
	return n, nil
}
