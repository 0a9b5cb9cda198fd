package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/jackc/pgx/v5"
)

// What the live tail (package live) reads: an account's events after a
// position, the heads of many logs at once, and on PostgreSQL the
// notifications that another process committed.

// EventsAfter returns up to limit of the account's events with seq above
// after and at most upTo that match q (nil: every event), in seq order,
// each with its acting user as it is now (Event.User), as a listing shows
// them.
func (db *DB) EventsAfter(ctx context.Context, accountID int64, q *query.Query, after, upTo int64, limit int) ([]*audit.Event, error) {
	where, args := db.where(accountID, q, true) // a bounded range of seq: match words in its rows
	rows, err := db.rd.queryBuilt(ctx, `SELECT `+eventColumns+`,
			u.id, u.email, u.first_name, u.last_name, u.role
		FROM events e LEFT JOIN users u ON u.id = e.user_id AND u.account_id = e.account_id`+where+`
		AND e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?`, append(args, after, upTo, limit)...)
	if err != nil {
		return nil, db.wrap(err, "select events after")
	}
	return db.scanEventsWithUser(rows)
}

// LogHeads returns the sizes of the accounts' logs (the seq of each
// one's last event), by account; accounts without a log are left out.
func (db *DB) LogHeads(ctx context.Context, accounts []int64) (map[int64]int64, error) {
	heads := make(map[int64]int64, len(accounts))
	for len(accounts) > 0 {
		chunk := accounts[:min(len(accounts), 500)]
		accounts = accounts[len(chunk):]
		args := make([]any, len(chunk))
		for i, a := range chunk {
			args[i] = a
		}
		rows, err := db.rd.queryBuilt(ctx, `SELECT account_id, size FROM log_heads WHERE account_id IN (?`+
			strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, db.wrap(err, "select log heads")
		}
		for rows.Next() {
			var a, size int64
			if err := rows.Scan(&a, &size); err != nil {
				rows.Close()
				return nil, db.wrap(err, "scan log head")
			}
			heads[a] = size
		}
		if err := rows.Err(); err != nil {
			return nil, db.wrap(err, "select log heads")
		}
		rows.Close()
	}
	return heads, nil
}

// liveChannel is the PostgreSQL notification channel of committed log
// heads. A payload lists "account:size" pairs separated by commas.
const liveChannel = "auditlog_heads"

// maxNotifyPayload keeps each payload under PostgreSQL's limit of 8,000
// bytes.
const maxNotifyPayload = 7900

// ErrNoNotifications is returned by NotifyHeads and ListenHeads on the
// engines without notifications (SQLite, MySQL): watch the heads with
// LogHeads instead.
var ErrNoNotifications = errors.New("sqlstore: the engine has no notifications")

// NotifyHeads tells every process listening on the database (ListenHeads)
// that the accounts' logs have grown to the sizes given. Call it after the
// commit: PostgreSQL delivers a notification at once, to every listener.
func (db *DB) NotifyHeads(ctx context.Context, heads map[int64]int64) error {
	if db.source.Engine != Postgres {
		return ErrNoNotifications
	}
	var b strings.Builder
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		_, err := db.wr.exec(ctx, `SELECT pg_notify('`+liveChannel+`', ?)`, b.String())
		b.Reset()
		return db.wrap(err, "notify log heads")
	}
	for a, size := range heads {
		if b.Len() > maxNotifyPayload {
			if err := flush(); err != nil {
				return err
			}
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(a, 10))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(size, 10))
	}
	return flush()
}

// ListenHeads connects to PostgreSQL outside the pool, listens for the
// heads that NotifyHeads sends (from any process, this one included) and
// calls fn with each, until ctx ends or the connection fails. listening,
// when set, is called once the connection listens: notifications sent
// before then are not seen, so a caller re-reads the heads it watches
// (LogHeads) after it. It returns ctx's error when ctx ends.
func (db *DB) ListenHeads(ctx context.Context, listening func(), fn func(accountID, size int64)) error {
	if db.source.Engine != Postgres {
		return ErrNoNotifications
	}
	conn, err := pgx.ConnectConfig(ctx, db.pgConfig)
	if err != nil {
		return fmt.Errorf("sqlstore: connect the listener: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+liveChannel); err != nil {
		return fmt.Errorf("sqlstore: listen: %w", err)
	}
	if listening != nil {
		listening()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("sqlstore: wait for notifications: %w", err)
		}
		for pair := range strings.SplitSeq(n.Payload, ",") {
			a, size, ok := strings.Cut(pair, ":")
			if !ok {
				continue
			}
			ai, err1 := strconv.ParseInt(a, 10, 64)
			si, err2 := strconv.ParseInt(size, 10, 64)
			if err1 == nil && err2 == nil {
				fn(ai, si)
			}
		}
	}
}
