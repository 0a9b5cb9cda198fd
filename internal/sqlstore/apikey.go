package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

const apiKeyColumns = `id, account_id, name, prefix, secret_hash, scopes, created_by, created_at, last_used_at, revoked_at`

func scanAPIKey(s scanner) (*audit.APIKey, error) {
	k := &audit.APIKey{}
	var scopes string
	var createdBy sql.NullInt64
	err := s.Scan(&k.ID, &k.AccountID, &k.Name, &k.Prefix, &k.SecretHash, &scopes, &createdBy,
		timeValue{&k.CreatedAt}, timeValue{&k.LastUsedAt}, timeValue{&k.RevokedAt})
	if err != nil {
		return nil, err
	}
	k.Scopes, k.CreatedBy = strings.Fields(scopes), createdBy.Int64
	return k, nil
}

// CreateAPIKey stores a new key and sets its ID and CreatedAt.
func (tx *Tx) CreateAPIKey(ctx context.Context, k *audit.APIKey) error {
	k.CreatedAt = tx.now
	id, err := tx.insert(ctx, `INSERT INTO api_keys (account_id, name, prefix, secret_hash, scopes, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.AccountID, k.Name, k.Prefix, k.SecretHash, strings.Join(k.Scopes, " "), nullable(k.CreatedBy), tx.db.t(k.CreatedAt))
	if err != nil {
		return tx.db.wrap(err, "insert api key")
	}
	k.ID = id
	return nil
}

// RevokeAPIKey revokes the account's key with the given ID, if it is not
// revoked yet, and returns it. It returns audit.ErrNotFound when the account
// has no such key.
func (tx *Tx) RevokeAPIKey(ctx context.Context, accountID, id int64) (*audit.APIKey, error) {
	if _, err := tx.exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE account_id = ? AND id = ? AND revoked_at IS NULL`,
		tx.db.t(tx.now), accountID, id); err != nil {
		return nil, tx.db.wrap(err, "revoke api key")
	}
	k, err := scanAPIKey(tx.queryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE account_id = ? AND id = ?`, accountID, id))
	return k, tx.db.wrap(err, "select api key")
}

// APIKeys returns the account's keys, newest first, revoked ones included.
func (db *DB) APIKeys(ctx context.Context, accountID int64) ([]*audit.APIKey, error) {
	rows, err := db.rd.query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE account_id = ? ORDER BY id DESC`, accountID)
	if err != nil {
		return nil, db.wrap(err, "select api keys")
	}
	defer rows.Close()
	keys := []*audit.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, db.wrap(err, "scan api key")
		}
		keys = append(keys, k)
	}
	return keys, db.wrap(rows.Err(), "select api keys")
}

// APIKeyByPrefix returns the key with the given prefix, in any account (the
// prefix is unique), or audit.ErrNotFound. Every read sees the latest commit
// (SQLite's readers too, in WAL mode), so a revocation by any process
// counts at once.
func (db *DB) APIKeyByPrefix(ctx context.Context, prefix string) (*audit.APIKey, error) {
	k, err := scanAPIKey(db.rd.queryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = ?`, prefix))
	return k, db.wrap(err, "select api key by prefix")
}

// TouchAPIKey records that the key was used at the given time.
func (db *DB) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	_, err := db.wr.exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, db.t(at), id)
	return db.wrap(err, "touch api key")
}

// UsersByID returns the account's users among ids, keyed by ID. IDs of
// other accounts' users are simply absent.
func (db *DB) UsersByID(ctx context.Context, accountID int64, ids []int64) (map[int64]*audit.User, error) {
	out := map[int64]*audit.User{}
	if len(ids) == 0 {
		return out, nil
	}
	args := []any{accountID}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := db.rd.query(ctx, `SELECT `+userColumns+` FROM users u WHERE u.account_id = ? AND u.id IN (?`+
		strings.Repeat(", ?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, db.wrap(err, "select users by id")
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, db.wrap(err, "scan user")
		}
		out[u.ID] = u
	}
	return out, db.wrap(rows.Err(), "select users by id")
}
