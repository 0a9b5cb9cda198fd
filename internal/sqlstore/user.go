package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
)

// userColumns are the columns scanned by scanUser, prefixed by alias "u".
const userColumns = `u.id, u.account_id, u.email, u.password_hash, u.first_name, u.last_name, u.role, u.is_active, u.created_at`

func scanUser(s scanner) (*audit.User, error) {
	u := &audit.User{}
	err := s.Scan(&u.ID, &u.AccountID, &u.Email, &u.PasswordHash, &u.FirstName, &u.LastName, &u.Role, &u.IsActive, timeValue{&u.CreatedAt})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// CreateUser inserts a user into u.AccountID and sets u.ID and, unless it is
// set (a user imported with its own creation time), u.CreatedAt.
// It returns an error wrapping audit.ErrEmailTaken when a user (in any
// account) has the email.
func (tx *Tx) CreateUser(ctx context.Context, u *audit.User) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = tx.now
	}
	id, err := tx.insert(ctx, `INSERT INTO users (account_id, email, password_hash, first_name, last_name, role, is_active, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.AccountID, u.Email, u.PasswordHash, u.FirstName, u.LastName, string(u.Role), u.IsActive, tx.db.t(u.CreatedAt))
	if err != nil {
		err = tx.db.wrap(err, "insert user")
		if errors.Is(err, errUnique) {
			return fmt.Errorf("sqlstore: insert user: %w", audit.ErrEmailTaken)
		}
		return err
	}
	u.ID = id
	return nil
}

// EmailDomainInUse reports whether a user, in any account, has an address
// at exactly domain (normalized; an address at a subdomain does not count).
// Users created before addresses had to be at their account's domain may
// hold addresses at a domain no account has claimed: such a domain is
// already in use. Domains hold no LIKE wildcard (audit.ValidateDomain
// allows a-z, 0-9, - and .), so the pattern matches the domain literally.
// The query reads the users table through; it runs once per account
// creation.
func (tx *Tx) EmailDomainInUse(ctx context.Context, domain string) (bool, error) {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM users WHERE email LIKE ? LIMIT 1`, "%@"+domain).Scan(&one)
	switch err = tx.db.wrap(err, "select user at domain"); {
	case errors.Is(err, audit.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// UserByEmail returns the user with the given (normalized) email, in any
// account: emails are unique across the service and sign-in names no account.
func (db *DB) UserByEmail(ctx context.Context, email string) (*audit.User, error) {
	row := db.rd.queryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.email = ?`, email)
	u, err := scanUser(row)
	return u, db.wrap(err, "select user by email")
}

// User returns the user with the given ID in the given account.
func (db *DB) User(ctx context.Context, accountID, id int64) (*audit.User, error) {
	row := db.rd.queryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.account_id = ? AND u.id = ?`, accountID, id)
	u, err := scanUser(row)
	return u, db.wrap(err, "select user")
}

// Users returns every user of the account in ID order.
func (db *DB) Users(ctx context.Context, accountID int64) ([]*audit.User, error) {
	rows, err := db.rd.query(ctx, `SELECT `+userColumns+` FROM users u WHERE u.account_id = ? ORDER BY u.id`, accountID)
	if err != nil {
		return nil, db.wrap(err, "select users")
	}
	defer rows.Close()
	users := []*audit.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, db.wrap(err, "scan user")
		}
		users = append(users, u)
	}
	return users, db.wrap(rows.Err(), "select users")
}

// EventIDsWithPrefix returns the event IDs of the account's events that
// begin with prefix, which holds no LIKE wildcard (_ or %): how an import
// finds the rows it brought in earlier runs.
func (db *DB) EventIDsWithPrefix(ctx context.Context, accountID int64, prefix string) (map[string]bool, error) {
	if strings.ContainsAny(prefix, "_%\\") {
		return nil, fmt.Errorf("sqlstore: event ID prefix %q holds a LIKE wildcard", prefix)
	}
	ids, err := selectAll(ctx, db, "select event IDs", func(s scanner) (string, error) {
		var id string
		err := s.Scan(&id)
		return id, err
	}, `SELECT event_id FROM events WHERE account_id = ? AND event_id LIKE ?`, accountID, prefix+"%")
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set, nil
}
