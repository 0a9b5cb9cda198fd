package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/auditlog/auditlog/internal/audit"
)

// CreateAccount inserts a new account and its empty event log, and sets a.ID
// and a.CreatedAt. It returns an error wrapping audit.ErrDomainTaken when
// another account has the domain.
func (tx *Tx) CreateAccount(ctx context.Context, a *audit.Account) error {
	a.CreatedAt = tx.now
	id, err := tx.insert(ctx, `INSERT INTO accounts (name, domain, created_at) VALUES (?, ?, ?)`,
		a.Name, a.Domain, tx.db.t(a.CreatedAt))
	if err != nil {
		err = tx.db.wrap(err, "insert account")
		if errors.Is(err, errUnique) {
			return fmt.Errorf("sqlstore: insert account: %w", audit.ErrDomainTaken)
		}
		return err
	}
	a.ID = id
	_, err = tx.exec(ctx, `INSERT INTO log_heads (account_id, size) VALUES (?, 0)`, a.ID)
	return tx.db.wrap(err, "insert log head")
}

// AccountByDomain returns the account with the given (normalized) domain.
func (tx *Tx) AccountByDomain(ctx context.Context, domain string) (*audit.Account, error) {
	a := &audit.Account{}
	err := tx.queryRow(ctx, `SELECT id, name, domain, created_at FROM accounts WHERE domain = ?`, domain).
		Scan(&a.ID, &a.Name, &a.Domain, timeValue{&a.CreatedAt})
	if err != nil {
		return nil, tx.db.wrap(err, "select account by domain")
	}
	return a, nil
}

// Account returns the account with the given ID, with its own retention
// setting (Retention.Days).
func (db *DB) Account(ctx context.Context, id int64) (*audit.Account, error) {
	a := &audit.Account{}
	var days sql.NullInt64
	err := db.rd.queryRow(ctx, `SELECT id, name, domain, created_at, retention_days FROM accounts WHERE id = ?`, id).
		Scan(&a.ID, &a.Name, &a.Domain, timeValue{&a.CreatedAt}, &days)
	if err != nil {
		return nil, db.wrap(err, "select account")
	}
	a.Retention = &audit.Retention{}
	if days.Valid {
		d := int(days.Int64)
		a.Retention.Days = &d
	}
	return a, nil
}
