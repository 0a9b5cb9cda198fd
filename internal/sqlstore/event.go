package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
)

// AppendEvents appends events to their accounts' logs. It is the one write
// path for events: for each account, in ascending account order (so that
// concurrent batches never deadlock), it locks the account's log head, gives
// the events the next seq values in the order given, and inserts them. It
// sets each event's ID and Seq, and CreatedAt when it is zero.
func (tx *Tx) AppendEvents(ctx context.Context, events ...*audit.Event) error {
	byAccount := map[int64][]*audit.Event{}
	var accounts []int64
	for _, e := range events {
		if _, seen := byAccount[e.AccountID]; !seen {
			accounts = append(accounts, e.AccountID)
		}
		byAccount[e.AccountID] = append(byAccount[e.AccountID], e)
	}
	slices.Sort(accounts)
	for _, accountID := range accounts {
		if err := tx.appendAccountEvents(ctx, accountID, byAccount[accountID]); err != nil {
			return err
		}
	}
	tx.appended = append(tx.appended, events...)
	return nil
}

func (tx *Tx) appendAccountEvents(ctx context.Context, accountID int64, events []*audit.Event) error {
	var size int64
	err := tx.queryRow(ctx, `SELECT size FROM log_heads WHERE account_id = ?`+tx.db.dialect.forUpdate, accountID).Scan(&size)
	if err != nil {
		return tx.db.wrap(err, fmt.Sprintf("lock log head of account %d", accountID))
	}
	if _, err := tx.exec(ctx, `UPDATE log_heads SET size = ? WHERE account_id = ?`, size+int64(len(events)), accountID); err != nil {
		return tx.db.wrap(err, "advance log head")
	}
	for i, e := range events {
		e.Seq = size + int64(i) + 1
		if e.CreatedAt.IsZero() {
			e.CreatedAt = tx.now
		}
		id, err := tx.insert(ctx, `INSERT INTO events (account_id, seq, user_id, action, resource_type, resource_id, details, ip_address, user_agent, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.AccountID, e.Seq, nullID(e.UserID), e.Action, e.ResourceType, e.ResourceID, e.Details, e.IPAddress, e.UserAgent, tx.db.t(e.CreatedAt))
		if err != nil {
			return tx.db.wrap(err, "insert event")
		}
		e.ID = id
	}
	return nil
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// LogSize returns the number of events in the account's log.
func (db *DB) LogSize(ctx context.Context, accountID int64) (int64, error) {
	var size int64
	err := db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT size FROM log_heads WHERE account_id = ?`), accountID).Scan(&size)
	return size, db.wrap(err, "select log size")
}

// where builds the WHERE clause and arguments for an event filter. Every
// clause starts with the account, which leads every index on events.
func (db *DB) where(accountID int64, f audit.EventFilter) (string, []any) {
	conds := []string{"e.account_id = ?"}
	args := []any{accountID}
	if f.UserID != 0 {
		conds, args = append(conds, "e.user_id = ?"), append(args, f.UserID)
	}
	if f.Action != "" {
		conds, args = append(conds, "e.action = ?"), append(args, f.Action)
	}
	if f.ResourceType != "" {
		conds, args = append(conds, "e.resource_type = ?"), append(args, f.ResourceType)
	}
	if !f.Start.IsZero() {
		conds, args = append(conds, "e.created_at >= ?"), append(args, db.t(f.Start))
	}
	if !f.End.IsZero() {
		conds, args = append(conds, "e.created_at <= ?"), append(args, db.t(f.End))
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Events returns one page of the account's events that match the filter,
// newest first (ties broken by seq, newest first), with the page arithmetic.
// The count and the page are read in one transaction, so they agree.
func (db *DB) Events(ctx context.Context, accountID int64, f audit.EventFilter, p audit.PageRequest) (*audit.EventPage, error) {
	tx, err := db.read.BeginTx(ctx, db.dialect.readTx)
	if err != nil {
		return nil, db.wrap(err, "begin read")
	}
	defer tx.Rollback()

	where, args := db.where(accountID, f)
	var total int64
	if f == (audit.EventFilter{}) {
		// The log head holds the exact count: no scan needed.
		err = tx.QueryRowContext(ctx, db.dialect.rebind(`SELECT size FROM log_heads WHERE account_id = ?`), accountID).Scan(&total)
	} else {
		err = tx.QueryRowContext(ctx, db.dialect.rebind(`SELECT COUNT(*) FROM events e`+where), args...).Scan(&total)
	}
	if err != nil {
		return nil, db.wrap(err, "count events")
	}
	page := &audit.EventPage{Events: []*audit.Event{}, Pagination: audit.NewPagination(p, total)}
	if int64(p.Offset()) >= total {
		return page, nil
	}
	query := `SELECT e.id, e.account_id, e.seq, e.user_id, e.action, e.resource_type, e.resource_id, e.details, e.ip_address, e.user_agent, e.created_at,
			u.id, u.email, u.first_name, u.last_name, u.role
		FROM events e LEFT JOIN users u ON u.id = e.user_id AND u.account_id = e.account_id` + where + `
		ORDER BY e.created_at DESC, e.seq DESC LIMIT ? OFFSET ?`
	rows, err := tx.QueryContext(ctx, db.dialect.rebind(query), append(args, p.PerPage, p.Offset())...)
	if err != nil {
		return nil, db.wrap(err, "select events")
	}
	defer rows.Close()
	for rows.Next() {
		e := &audit.Event{}
		var userID, uID sql.NullInt64
		var email, first, last, role sql.NullString
		if err := rows.Scan(&e.ID, &e.AccountID, &e.Seq, &userID, &e.Action, &e.ResourceType, &e.ResourceID, &e.Details, &e.IPAddress, &e.UserAgent, timeValue{&e.CreatedAt},
			&uID, &email, &first, &last, &role); err != nil {
			return nil, db.wrap(err, "scan event")
		}
		e.UserID = userID.Int64
		if uID.Valid {
			e.User = &audit.User{ID: uID.Int64, AccountID: e.AccountID, Email: email.String, FirstName: first.String, LastName: last.String, Role: audit.Role(role.String)}
		}
		page.Events = append(page.Events, e)
	}
	return page, db.wrap(rows.Err(), "select events")
}
