package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/auditlog/auditlog/internal/audit"
)

// CreateAccount inserts a new account and its empty event log, and sets a.ID
// and, unless it is set (an account imported with its own creation time),
// a.CreatedAt. It returns an error wrapping audit.ErrDomainTaken when
// another account has the domain (or, in a race, the external ID).
func (tx *Tx) CreateAccount(ctx context.Context, a *audit.Account) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = tx.now
	}
	id, err := tx.insert(ctx, `INSERT INTO accounts (name, domain, external_id, created_at) VALUES (?, ?, ?, ?)`,
		a.Name, a.Domain, nullString(a.ExternalID), tx.db.t(a.CreatedAt))
	if err != nil {
		err = tx.db.wrap(err, "insert account")
		if errors.Is(err, errUnique) {
			// An external ID taken is found by the caller before the
			// insert (AccountByExternalID); only a race reaches here.
			return fmt.Errorf("sqlstore: insert account: %w", audit.ErrDomainTaken)
		}
		return err
	}
	a.ID = id
	_, err = tx.exec(ctx, `INSERT INTO log_heads (account_id, size) VALUES (?, 0)`, a.ID)
	return tx.db.wrap(err, "insert log head")
}

const accountColumns = `id, name, domain, external_id, created_at`

func scanAccount(s scanner) (*audit.Account, error) {
	a := &audit.Account{}
	var ext sql.NullString
	if err := s.Scan(&a.ID, &a.Name, &a.Domain, &ext, timeValue{&a.CreatedAt}); err != nil {
		return nil, err
	}
	a.ExternalID = ext.String
	return a, nil
}

// AccountByDomain returns the account with the given (normalized) domain.
func (tx *Tx) AccountByDomain(ctx context.Context, domain string) (*audit.Account, error) {
	a, err := scanAccount(tx.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE domain = ?`, domain))
	return a, tx.db.wrap(err, "select account by domain")
}

// AccountByExternalID returns the account with the given external ID, or
// audit.ErrNotFound, inside tx.
func (tx *Tx) AccountByExternalID(ctx context.Context, externalID string) (*audit.Account, error) {
	a, err := scanAccount(tx.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE external_id = ?`, externalID))
	return a, tx.db.wrap(err, "select account by external id")
}

// Account returns the account with the given ID, with its own retention
// setting (Retention.Days).
func (db *DB) Account(ctx context.Context, id int64) (*audit.Account, error) {
	a := &audit.Account{}
	var days sql.NullInt64
	var ext sql.NullString
	err := db.rd.queryRow(ctx, `SELECT id, name, domain, created_at, retention_days, external_id FROM accounts WHERE id = ?`, id).
		Scan(&a.ID, &a.Name, &a.Domain, timeValue{&a.CreatedAt}, &days, &ext)
	if err != nil {
		return nil, db.wrap(err, "select account")
	}
	a.ExternalID = ext.String
	a.Retention = &audit.Retention{}
	if days.Valid {
		d := int(days.Int64)
		a.Retention.Days = &d
	}
	return a, nil
}

// AccountByExternalID returns the account with the given external ID, or
// audit.ErrNotFound.
func (db *DB) AccountByExternalID(ctx context.Context, externalID string) (*audit.Account, error) {
	a, err := scanAccount(db.rd.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE external_id = ?`, externalID))
	return a, db.wrap(err, "select account by external id")
}
