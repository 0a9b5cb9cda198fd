package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// What streams (docs/streams.md) keep: each stream's configuration, its
// cursor and retry state, and the lease of the process delivering it. Every
// statement names the account, but the delivery engines' search for the
// streams due (DueStreams), which serves every account at once.

const streamColumns = `account_id, id, name, type, url, secret, state, cursor_seq, failures, next_attempt_at,
	last_error, last_error_at, last_delivered_at, lease_owner, lease_until, created_by, created_at, updated_at`

func scanStream(s scanner) (*audit.Stream, error) {
	st := &audit.Stream{}
	var createdBy sql.NullInt64
	err := s.Scan(&st.AccountID, &st.ID, &st.Name, &st.Type, &st.URL, &st.Secret, &st.State, &st.Cursor, &st.Failures,
		timeValue{&st.NextAttemptAt}, &st.LastError, timeValue{&st.LastErrorAt}, timeValue{&st.LastDeliveredAt},
		&st.LeaseOwner, timeValue{&st.LeaseUntil}, &createdBy, timeValue{&st.CreatedAt}, timeValue{&st.UpdatedAt})
	if err != nil {
		return nil, err
	}
	st.CreatedBy = createdBy.Int64
	return st, nil
}

// optionalTime is a query argument for a nullable time: NULL when zero.
func (db *DB) optionalTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return db.t(t)
}

// CreateStream stores a new stream, with the ID, state and cursor it
// carries, due now, and sets its CreatedAt and UpdatedAt.
func (tx *Tx) CreateStream(ctx context.Context, s *audit.Stream) error {
	s.CreatedAt, s.UpdatedAt, s.NextAttemptAt = tx.now, tx.now, tx.now
	_, err := tx.exec(ctx, `INSERT INTO streams (`+streamColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.AccountID, s.ID, s.Name, s.Type, s.URL, s.Secret, s.State, s.Cursor, s.Failures, tx.db.t(s.NextAttemptAt),
		s.LastError, tx.db.optionalTime(s.LastErrorAt), tx.db.optionalTime(s.LastDeliveredAt), "", nil,
		nullable(s.CreatedBy), tx.db.t(s.CreatedAt), tx.db.t(s.UpdatedAt))
	return tx.db.wrap(err, "insert stream")
}

// StreamForUpdate returns the account's stream with the given ID, locking
// its row until the transaction ends, or audit.ErrNotFound.
func (tx *Tx) StreamForUpdate(ctx context.Context, accountID, id int64) (*audit.Stream, error) {
	s, err := scanStream(tx.queryRow(ctx, `SELECT `+streamColumns+` FROM streams WHERE account_id = ? AND id = ?`+tx.db.dialect.forUpdate, accountID, id))
	return s, tx.db.wrap(err, "select stream for update")
}

// SaveStream writes a stream's configuration and state (name, URL, secret,
// state, failures, next attempt) and sets its UpdatedAt. Leaving the active
// state, or changing where it delivers, ends the lease of the process that
// delivers it, whose next write then fails.
func (tx *Tx) SaveStream(ctx context.Context, s *audit.Stream, endLease bool) error {
	s.UpdatedAt = tx.now
	lease := ``
	if endLease {
		lease = `, lease_owner = '', lease_until = NULL`
		s.LeaseOwner, s.LeaseUntil = "", time.Time{}
	}
	_, err := tx.exec(ctx, `UPDATE streams SET name = ?, url = ?, secret = ?, state = ?, failures = ?, next_attempt_at = ?, updated_at = ?`+lease+`
		WHERE account_id = ? AND id = ?`,
		s.Name, s.URL, s.Secret, s.State, s.Failures, tx.db.t(s.NextAttemptAt), tx.db.t(s.UpdatedAt), s.AccountID, s.ID)
	return tx.db.wrap(err, "update stream")
}

// DeleteStream deletes the account's stream with the given ID.
func (tx *Tx) DeleteStream(ctx context.Context, accountID, id int64) error {
	_, err := tx.exec(ctx, `DELETE FROM streams WHERE account_id = ? AND id = ?`, accountID, id)
	return tx.db.wrap(err, "delete stream")
}

// Streams returns the account's streams, oldest first.
func (db *DB) Streams(ctx context.Context, accountID int64) ([]*audit.Stream, error) {
	return selectAll(ctx, db, "select streams", scanStream,
		`SELECT `+streamColumns+` FROM streams WHERE account_id = ? ORDER BY created_at, id`, accountID)
}

// Stream returns the account's stream with the given ID, or
// audit.ErrNotFound.
func (db *DB) Stream(ctx context.Context, accountID, id int64) (*audit.Stream, error) {
	s, err := scanStream(db.rd.queryRow(ctx, `SELECT `+streamColumns+` FROM streams WHERE account_id = ? AND id = ?`, accountID, id))
	return s, db.wrap(err, "select stream")
}

// StreamKey names a stream.
type StreamKey struct{ AccountID, ID int64 }

// DueStreams returns up to limit active streams, of any account, whose
// next attempt is due at now and that no process holds a lease on.
func (db *DB) DueStreams(ctx context.Context, now time.Time, limit int) ([]StreamKey, error) {
	rows, err := db.rd.query(ctx, `SELECT account_id, id FROM streams
		WHERE state = ? AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
		ORDER BY next_attempt_at LIMIT ?`, audit.StreamActive, db.t(now), db.t(now), limit)
	if err != nil {
		return nil, db.wrap(err, "select due streams")
	}
	defer rows.Close()
	var out []StreamKey
	for rows.Next() {
		var k StreamKey
		if err := rows.Scan(&k.AccountID, &k.ID); err != nil {
			return nil, db.wrap(err, "scan due stream")
		}
		out = append(out, k)
	}
	return out, db.wrap(rows.Err(), "select due streams")
}

// changed runs a conditional UPDATE and reports whether it changed a row.
func (db *DB) changed(ctx context.Context, op, query string, args ...any) (bool, error) {
	res, err := db.wr.exec(ctx, query, args...)
	if err != nil {
		return false, db.wrap(err, op)
	}
	n, err := res.RowsAffected()
	return n == 1, db.wrap(err, op)
}

// ClaimStream gives owner the lease of the stream until until, if the
// stream is active, due at now and no other process holds an unexpired
// lease; it returns the stream, or nil when another process won it or it
// is not due. One UPDATE decides, so of many processes claiming one stream
// at once exactly one gets it, on every engine.
func (db *DB) ClaimStream(ctx context.Context, k StreamKey, owner string, now, until time.Time) (*audit.Stream, error) {
	ok, err := db.changed(ctx, "claim stream", `UPDATE streams SET lease_owner = ?, lease_until = ?
		WHERE account_id = ? AND id = ? AND state = ? AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)`,
		owner, db.t(until), k.AccountID, k.ID, audit.StreamActive, db.t(now), db.t(now))
	if err != nil || !ok {
		return nil, err
	}
	return db.Stream(ctx, k.AccountID, k.ID)
}

// RenewStreamLease extends owner's lease of the stream to until; false
// means owner no longer holds it (the stream was paused, changed, deleted,
// or the lease expired and another process took it).
func (db *DB) RenewStreamLease(ctx context.Context, k StreamKey, owner string, until time.Time) (bool, error) {
	return db.changed(ctx, "renew stream lease", `UPDATE streams SET lease_until = ?
		WHERE account_id = ? AND id = ? AND lease_owner = ? AND state = ?`,
		db.t(until), k.AccountID, k.ID, owner, audit.StreamActive)
}

// StreamDelivered moves the stream's cursor from from to to, after the
// events between were delivered at at, resets its failures and extends
// owner's lease to until. False means owner no longer holds the lease or
// the cursor is not at from: nothing changed.
func (db *DB) StreamDelivered(ctx context.Context, k StreamKey, owner string, from, to int64, at, until time.Time) (bool, error) {
	return db.changed(ctx, "record stream delivery", `UPDATE streams
		SET cursor_seq = ?, failures = 0, last_delivered_at = ?, next_attempt_at = ?, lease_until = ?
		WHERE account_id = ? AND id = ? AND lease_owner = ? AND cursor_seq = ?`,
		to, db.t(at), db.t(at), db.t(until), k.AccountID, k.ID, owner, from)
}

// StreamFailed records a failed delivery attempt of owner's at at: the
// count of failures in a row, when the next attempt is due, the error,
// and the state (audit.StreamDead once the attempts are exhausted). It
// ends the lease, so that any process may make the next attempt. False
// means owner no longer held the lease or the stream is no longer active.
func (db *DB) StreamFailed(ctx context.Context, k StreamKey, owner string, failures int, next time.Time, msg, state string, at time.Time) (bool, error) {
	return db.changed(ctx, "record stream failure", `UPDATE streams
		SET failures = ?, next_attempt_at = ?, last_error = ?, last_error_at = ?, state = ?, lease_owner = '', lease_until = NULL
		WHERE account_id = ? AND id = ? AND lease_owner = ? AND state = ?`,
		failures, db.t(next), msg, db.t(at), state, k.AccountID, k.ID, owner, audit.StreamActive)
}

// ReleaseStream ends owner's lease of the stream, if it still holds it.
func (db *DB) ReleaseStream(ctx context.Context, k StreamKey, owner string) error {
	_, err := db.wr.exec(ctx, `UPDATE streams SET lease_owner = '', lease_until = NULL WHERE account_id = ? AND id = ? AND lease_owner = ?`,
		k.AccountID, k.ID, owner)
	return db.wrap(err, "release stream")
}

// StreamBacklog is how far one stream is behind its account's log.
type StreamBacklog struct {
	Type, State string
	// Events is how many events of the log are past the stream's cursor.
	Events int64
	// Oldest is when the first of them was recorded (zero when none is
	// waiting, or retention removed it).
	Oldest time.Time
}

// StreamBacklogs returns, for every stream of every account, how far it
// is behind its account's log, for the operator's metrics: one query that
// reads each stream's log head and, when behind, the event right after
// its cursor by the (account_id, seq) key. It reads the whole streams
// table (a few rows per account), so callers bound how often.
func (db *DB) StreamBacklogs(ctx context.Context) ([]StreamBacklog, error) {
	rows, err := db.rd.query(ctx, `SELECT s.type, s.state, h.size - s.cursor_seq,
		(SELECT e.created_at FROM events e WHERE e.account_id = s.account_id AND e.seq = s.cursor_seq + 1)
		FROM streams s JOIN log_heads h ON h.account_id = s.account_id`)
	if err != nil {
		return nil, db.wrap(err, "select stream backlogs")
	}
	defer rows.Close()
	var out []StreamBacklog
	for rows.Next() {
		var b StreamBacklog
		if err := rows.Scan(&b.Type, &b.State, &b.Events, timeValue{&b.Oldest}); err != nil {
			return nil, db.wrap(err, "scan stream backlog")
		}
		b.Events = max(b.Events, 0)
		out = append(out, b)
	}
	return out, db.wrap(rows.Err(), "select stream backlogs")
}
