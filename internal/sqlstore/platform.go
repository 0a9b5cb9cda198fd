package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
)

const platformKeyColumns = `id, name, prefix, secret_hash, scopes, created_by, created_at, last_used_at, revoked_at`

func scanPlatformKey(s scanner) (*audit.PlatformKey, error) {
	k := &audit.PlatformKey{}
	var scopes string
	err := s.Scan(&k.ID, &k.Name, &k.Prefix, &k.SecretHash, &scopes, &k.CreatedBy,
		timeValue{&k.CreatedAt}, timeValue{&k.LastUsedAt}, timeValue{&k.RevokedAt})
	if err != nil {
		return nil, err
	}
	k.Scopes = strings.Fields(scopes)
	return k, nil
}

// CreatePlatformKey stores a new platform key and sets its ID and
// CreatedAt.
func (tx *Tx) CreatePlatformKey(ctx context.Context, k *audit.PlatformKey) error {
	k.CreatedAt = tx.now
	id, err := tx.insert(ctx, `INSERT INTO platform_keys (name, prefix, secret_hash, scopes, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		k.Name, k.Prefix, k.SecretHash, strings.Join(k.Scopes, " "), k.CreatedBy, tx.db.t(k.CreatedAt))
	if err != nil {
		return tx.db.wrap(err, "insert platform key")
	}
	k.ID = id
	return nil
}

// RevokePlatformKey revokes the platform key with the given ID, if it is
// not revoked yet, and returns it; audit.ErrNotFound when there is none.
func (tx *Tx) RevokePlatformKey(ctx context.Context, id int64) (*audit.PlatformKey, error) {
	if _, err := tx.exec(ctx, `UPDATE platform_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		tx.db.t(tx.now), id); err != nil {
		return nil, tx.db.wrap(err, "revoke platform key")
	}
	k, err := scanPlatformKey(tx.queryRow(ctx, `SELECT `+platformKeyColumns+` FROM platform_keys WHERE id = ?`, id))
	return k, tx.db.wrap(err, "select platform key")
}

// PlatformKeys returns every platform key, newest first, revoked ones
// included.
func (db *DB) PlatformKeys(ctx context.Context) ([]*audit.PlatformKey, error) {
	return selectAll(ctx, db, "select platform keys", scanPlatformKey,
		`SELECT `+platformKeyColumns+` FROM platform_keys ORDER BY id DESC`)
}

// PlatformKeyByPrefix returns the platform key with the given prefix, or
// audit.ErrNotFound. Like APIKeyByPrefix, it sees the latest commit, so a
// revocation counts at once in every process.
func (db *DB) PlatformKeyByPrefix(ctx context.Context, prefix string) (*audit.PlatformKey, error) {
	k, err := scanPlatformKey(db.rd.queryRow(ctx, `SELECT `+platformKeyColumns+` FROM platform_keys WHERE prefix = ?`, prefix))
	return k, db.wrap(err, "select platform key by prefix")
}

// TouchPlatformKey records that the platform key was used at the given
// time.
func (db *DB) TouchPlatformKey(ctx context.Context, id int64, at time.Time) error {
	_, err := db.wr.exec(ctx, `UPDATE platform_keys SET last_used_at = ? WHERE id = ?`, db.t(at), id)
	return db.wrap(err, "touch platform key")
}

// RecordViews reports whether the account records audit_log.viewed when
// its embedded viewer is opened (the default).
func (db *DB) RecordViews(ctx context.Context, accountID int64) (bool, error) {
	var rec bool
	err := db.rd.queryRow(ctx, `SELECT record_views FROM account_settings WHERE account_id = ?`, accountID).Scan(&rec)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	return rec, db.wrap(err, "select account settings")
}

// SetRecordViews sets whether the account records audit_log.viewed, and
// returns the previous setting.
func (tx *Tx) SetRecordViews(ctx context.Context, accountID int64, record bool) (before bool, err error) {
	err = tx.queryRow(ctx, `SELECT record_views FROM account_settings WHERE account_id = ?`+tx.db.dialect.forUpdate, accountID).Scan(&before)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.exec(ctx, `INSERT INTO account_settings (account_id, require_mfa, record_views, updated_at) VALUES (?, ?, ?, ?)`,
			accountID, false, record, tx.db.t(tx.now))
		return true, tx.db.wrap(err, "insert account settings")
	case err != nil:
		return false, tx.db.wrap(err, "select account settings")
	}
	_, err = tx.exec(ctx, `UPDATE account_settings SET record_views = ?, updated_at = ? WHERE account_id = ?`, record, tx.db.t(tx.now), accountID)
	return before, tx.db.wrap(err, "update account settings")
}

// ViewerToken is a stored grant of the embeddable viewer (package app
// explains each field). Only hashes of the token and of the session it
// was exchanged for are kept.
type ViewerToken struct {
	AccountID   int64
	TokenHash   []byte
	SessionHash []byte // nil until exchanged
	Query       string
	Features    []string
	Origins     []string
	Theme       string
	CreatedBy   string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time // zero until exchanged
}

const viewerTokenColumns = `account_id, token_hash, session_hash, fixed_query, features, origins, theme, created_by, created_at, expires_at, used_at`

func scanViewerToken(s scanner) (*ViewerToken, error) {
	v := &ViewerToken{}
	var features, origins string
	err := s.Scan(&v.AccountID, &v.TokenHash, &v.SessionHash, &v.Query, &features, &origins, &v.Theme, &v.CreatedBy,
		timeValue{&v.CreatedAt}, timeValue{&v.ExpiresAt}, timeValue{&v.UsedAt})
	if err != nil {
		return nil, err
	}
	v.Features, v.Origins = strings.Fields(features), strings.Fields(origins)
	return v, nil
}

// CreateViewerToken stores a new viewer token; CreatedAt is the
// transaction's time.
func (tx *Tx) CreateViewerToken(ctx context.Context, v *ViewerToken) error {
	v.CreatedAt = tx.now
	_, err := tx.exec(ctx, `INSERT INTO viewer_tokens (account_id, token_hash, fixed_query, features, origins, theme, created_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.AccountID, v.TokenHash, v.Query, strings.Join(v.Features, " "), strings.Join(v.Origins, " "), v.Theme, v.CreatedBy,
		tx.db.t(v.CreatedAt), tx.db.t(v.ExpiresAt))
	return tx.db.wrap(err, "insert viewer token")
}

// ExchangeViewerToken marks the account's token as used and binds the
// session to it, once: it returns the token, or audit.ErrNotFound when the
// token is unknown, already used or expired at now (the app's clock).
func (tx *Tx) ExchangeViewerToken(ctx context.Context, accountID int64, tokenHash, sessionHash []byte, now time.Time) (*ViewerToken, error) {
	res, err := tx.exec(ctx, `UPDATE viewer_tokens SET used_at = ?, session_hash = ?
		WHERE account_id = ? AND token_hash = ? AND used_at IS NULL AND expires_at > ?`,
		tx.db.t(tx.now), sessionHash, accountID, tokenHash, tx.db.t(now))
	if err != nil {
		return nil, tx.db.wrap(err, "use viewer token")
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return nil, tx.db.wrap(err, "use viewer token")
		}
		return nil, audit.ErrNotFound
	}
	v, err := scanViewerToken(tx.queryRow(ctx, `SELECT `+viewerTokenColumns+` FROM viewer_tokens WHERE account_id = ? AND token_hash = ?`,
		accountID, tokenHash))
	return v, tx.db.wrap(err, "select viewer token")
}

// ViewerSession returns the token whose exchange made the account's
// session with the given hash, or audit.ErrNotFound. The caller checks
// its expiry.
func (db *DB) ViewerSession(ctx context.Context, accountID int64, sessionHash []byte) (*ViewerToken, error) {
	v, err := scanViewerToken(db.rd.queryRow(ctx, `SELECT `+viewerTokenColumns+` FROM viewer_tokens WHERE account_id = ? AND session_hash = ?`,
		accountID, sessionHash))
	return v, db.wrap(err, "select viewer session")
}

// DeleteExpiredViewerTokens deletes the viewer tokens that expired by now,
// exchanged or not (a viewer's session ends when its token would have), and
// returns how many it deleted.
func (db *DB) DeleteExpiredViewerTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.wr.exec(ctx, `DELETE FROM viewer_tokens WHERE expires_at <= ?`, db.t(now))
	if err != nil {
		return 0, db.wrap(err, "delete expired viewer tokens")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// EventMatches reports whether the account's event id matches q: how a
// narrowed reader is refused an event outside its search, by the same SQL
// as the listing.
func (db *DB) EventMatches(ctx context.Context, accountID, id int64, q *query.Query) (bool, error) {
	where, args := db.where(accountID, q, false)
	var n int64
	err := db.rd.queryRow(ctx, `SELECT COUNT(*) FROM events e`+where+` AND e.id = ?`, append(args, id)...).Scan(&n)
	return n > 0, db.wrap(err, "match event")
}
