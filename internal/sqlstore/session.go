package sqlstore

import (
	"context"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// CreateSession stores a new session; its times are the transaction's.
func (tx *Tx) CreateSession(ctx context.Context, s *audit.Session) error {
	s.CreatedAt, s.LastSeenAt = tx.now, tx.now
	_, err := tx.exec(ctx, `INSERT INTO sessions (token_hash, account_id, user_id, created_at, last_seen_at, expires_at, ip_address, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.TokenHash, s.AccountID, s.UserID, tx.db.t(s.CreatedAt), tx.db.t(s.LastSeenAt), tx.db.t(s.ExpiresAt), s.IPAddress, s.UserAgent)
	return tx.db.wrap(err, "insert session")
}

// DeleteSession deletes the session with the given token hash, if any.
func (tx *Tx) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := tx.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	return tx.db.wrap(err, "delete session")
}

// TouchSession records that the session was used at the given time.
func (db *DB) TouchSession(ctx context.Context, tokenHash string, at time.Time) error {
	_, err := db.wr.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, db.t(at), tokenHash)
	return db.wrap(err, "touch session")
}

// DeleteExpiredSessions deletes sessions past their absolute expiry or idle
// since before idleCutoff, and returns how many it deleted.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now, idleCutoff time.Time) (int64, error) {
	res, err := db.wr.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?`, db.t(now), db.t(idleCutoff))
	if err != nil {
		return 0, db.wrap(err, "delete expired sessions")
	}
	n, _ := res.RowsAffected()
	return n, nil
}
