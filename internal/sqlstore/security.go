package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
)

// SessionPrincipal returns the session with the given token hash, its user,
// whether that user has MFA enabled and whether the user's account requires
// MFA, in one query: authentication reads it on every request. It returns
// audit.ErrNotFound when there is no such session; expiry is the caller's to
// check. On SQLite the row comes packed into one value, as listings read
// events (exportrow.go); a row that does not unpack is read again column by
// column.
func (db *DB) SessionPrincipal(ctx context.Context, tokenHash string) (s *audit.Session, u *audit.User, mfaEnabled, requireMFA bool, err error) {
	if db.packedReads() {
		var row string
		err := db.rd.queryRow(ctx, `SELECT `+packedSessionColumn+sessionPrincipalFrom, true, tokenHash).Scan(&row)
		if err != nil {
			return nil, nil, false, false, db.wrap(err, "select session")
		}
		if s, u, mfaEnabled, requireMFA, ok := unpackSession(row); ok {
			return s, u, mfaEnabled, requireMFA, nil
		}
		db.packedFallbacks.Add(1)
	}
	row := db.rd.queryRow(ctx, `SELECT `+sessionPrincipalColumns+sessionPrincipalFrom, true, tokenHash)
	s, u = &audit.Session{}, &audit.User{}
	var mfaUser sql.NullInt64
	var req sql.NullBool
	err = row.Scan(&s.TokenHash, &s.AccountID, &s.UserID, timeValue{&s.CreatedAt}, timeValue{&s.LastSeenAt}, timeValue{&s.ExpiresAt}, &s.IPAddress, &s.UserAgent,
		&u.ID, &u.AccountID, &u.Email, &u.PasswordHash, &u.FirstName, &u.LastName, &u.Role, &u.IsActive, timeValue{&u.CreatedAt}, &mfaUser, &req)
	if err != nil {
		return nil, nil, false, false, db.wrap(err, "select session")
	}
	return s, u, mfaUser.Valid, req.Valid && req.Bool, nil
}

// The session lookup's columns and the rest of its query.
const (
	sessionPrincipalColumns = `s.token_hash, s.account_id, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.ip_address, s.user_agent, ` + userColumns + `, m.user_id, a.require_mfa`
	sessionPrincipalFrom    = `
		FROM sessions s JOIN users u ON u.id = s.user_id AND u.account_id = s.account_id
		LEFT JOIN user_mfa m ON m.account_id = u.account_id AND m.user_id = u.id AND m.enabled = ?
		LEFT JOIN account_settings a ON a.account_id = u.account_id
		WHERE s.token_hash = ?`
)

// packedSessionColumn packs sessionPrincipalColumns into one value, joined
// by the separator as packed events are: NULL (no MFA, no settings) as
// nothing.
var packedSessionColumn = "concat(" + strings.ReplaceAll(sessionPrincipalColumns, ", ", ", char(31), ") + ")"

// unpackSession reads a row of packedSessionColumn; ok is false when it
// does not unpack (a field holds the separator, or a value its column
// cannot hold).
func unpackSession(row string) (s *audit.Session, u *audit.User, mfaEnabled, requireMFA bool, ok bool) {
	var f [19]string
	for i := range f {
		if i == len(f)-1 {
			if strings.IndexByte(row, packedSeparator) >= 0 {
				return nil, nil, false, false, false
			}
			f[i] = row
			break
		}
		end := strings.IndexByte(row, packedSeparator)
		if end < 0 {
			return nil, nil, false, false, false
		}
		f[i], row = row[:end], row[end+1:]
	}
	s, u = &audit.Session{TokenHash: f[0], IPAddress: f[6], UserAgent: f[7]}, &audit.User{Email: f[10], PasswordHash: f[11], FirstName: f[12], LastName: f[13], Role: audit.Role(f[14])}
	var errs [12]error
	s.AccountID, errs[0] = strconv.ParseInt(f[1], 10, 64)
	s.UserID, errs[1] = strconv.ParseInt(f[2], 10, 64)
	errs[2] = setPackedTime(&s.CreatedAt, f[3])
	errs[3] = setPackedTime(&s.LastSeenAt, f[4])
	errs[4] = setPackedTime(&s.ExpiresAt, f[5])
	u.ID, errs[5] = strconv.ParseInt(f[8], 10, 64)
	u.AccountID, errs[6] = strconv.ParseInt(f[9], 10, 64)
	u.IsActive, errs[7] = strconv.ParseBool(f[15])
	errs[8] = setPackedTime(&u.CreatedAt, f[16])
	if f[18] != "" {
		requireMFA, errs[9] = strconv.ParseBool(f[18])
	}
	if errors.Join(errs[:]...) != nil || f[3] == "" || f[4] == "" || f[5] == "" || f[16] == "" {
		return nil, nil, false, false, false
	}
	return s, u, f[17] != "", requireMFA, true
}

// RequireMFA reports whether the account requires MFA of its owners and admins.
func (db *DB) RequireMFA(ctx context.Context, accountID int64) (bool, error) {
	var req bool
	err := db.rd.queryRow(ctx, `SELECT require_mfa FROM account_settings WHERE account_id = ?`, accountID).Scan(&req)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return req, db.wrap(err, "select account settings")
}

// SetRequireMFA sets whether the account requires MFA of its owners and
// admins, and returns the previous setting.
func (tx *Tx) SetRequireMFA(ctx context.Context, accountID int64, require bool) (before bool, err error) {
	err = tx.queryRow(ctx, `SELECT require_mfa FROM account_settings WHERE account_id = ?`+tx.db.dialect.forUpdate, accountID).Scan(&before)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.exec(ctx, `INSERT INTO account_settings (account_id, require_mfa, updated_at) VALUES (?, ?, ?)`, accountID, require, tx.db.t(tx.now))
		return false, tx.db.wrap(err, "insert account settings")
	case err != nil:
		return false, tx.db.wrap(err, "select account settings")
	}
	_, err = tx.exec(ctx, `UPDATE account_settings SET require_mfa = ?, updated_at = ? WHERE account_id = ?`, require, tx.db.t(tx.now), accountID)
	return before, tx.db.wrap(err, "update account settings")
}

// UserForUpdate returns the user with the given ID in the account, locking
// the row until the transaction ends.
func (tx *Tx) UserForUpdate(ctx context.Context, accountID, id int64) (*audit.User, error) {
	u, err := scanUser(tx.queryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.account_id = ? AND u.id = ?`+tx.db.dialect.forUpdate, accountID, id))
	return u, tx.db.wrap(err, "select user for update")
}

// ActiveOwners returns the IDs of the account's active owners, locking
// their rows, so that two concurrent changes cannot both remove the last
// owner: the second waits and then counts what the first left.
func (tx *Tx) ActiveOwners(ctx context.Context, accountID int64) ([]int64, error) {
	rows, err := tx.run.query(ctx, `SELECT id FROM users WHERE account_id = ? AND role = ? AND is_active = ? ORDER BY id`+tx.db.dialect.forUpdate,
		accountID, string(audit.RoleOwner), true)
	if err != nil {
		return nil, tx.db.wrap(err, "select owners")
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, tx.db.wrap(err, "scan owner")
		}
		ids = append(ids, id)
	}
	return ids, tx.db.wrap(rows.Err(), "select owners")
}

// UpdateUserAccess sets the user's role and whether it is active.
func (tx *Tx) UpdateUserAccess(ctx context.Context, accountID, id int64, role audit.Role, active bool) error {
	_, err := tx.exec(ctx, `UPDATE users SET role = ?, is_active = ? WHERE account_id = ? AND id = ?`, string(role), active, accountID, id)
	return tx.db.wrap(err, "update user")
}

// SetPasswordHash replaces the user's password hash.
func (tx *Tx) SetPasswordHash(ctx context.Context, accountID, id int64, hash string) error {
	_, err := tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE account_id = ? AND id = ?`, hash, accountID, id)
	return tx.db.wrap(err, "update password")
}

// UpgradePasswordHash replaces the user's password hash with hash if it
// is still old, and reports whether it did: a sign-in that verified a
// legacy hash never undoes a password change made meanwhile.
func (tx *Tx) UpgradePasswordHash(ctx context.Context, accountID, id int64, old, hash string) (bool, error) {
	res, err := tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE account_id = ? AND id = ? AND password_hash = ?`, hash, accountID, id, old)
	if err != nil {
		return false, tx.db.wrap(err, "upgrade password hash")
	}
	n, err := res.RowsAffected()
	return n == 1, tx.db.wrap(err, "upgrade password hash")
}

// DeleteUserSessions ends every session of the user, and every login of the
// user waiting for its MFA code, and returns how many sessions it ended.
func (tx *Tx) DeleteUserSessions(ctx context.Context, accountID, userID int64) (int64, error) {
	res, err := tx.exec(ctx, `DELETE FROM sessions WHERE account_id = ? AND user_id = ?`, accountID, userID)
	if err != nil {
		return 0, tx.db.wrap(err, "delete user sessions")
	}
	n, _ := res.RowsAffected()
	_, err = tx.exec(ctx, `DELETE FROM mfa_challenges WHERE account_id = ? AND user_id = ?`, accountID, userID)
	return n, tx.db.wrap(err, "delete user mfa challenges")
}

// RevokeUserAPIKeys revokes the account's unrevoked API keys that the user
// created, and returns how many it revoked.
func (tx *Tx) RevokeUserAPIKeys(ctx context.Context, accountID, userID int64) (int64, error) {
	res, err := tx.exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE account_id = ? AND created_by = ? AND revoked_at IS NULL`,
		tx.db.t(tx.now), accountID, userID)
	if err != nil {
		return 0, tx.db.wrap(err, "revoke user api keys")
	}
	n, _ := res.RowsAffected()
	return n, nil
}
