package sqlstore

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// Event schemas (package app checks events against them): one row per
// version, keyed by account (0 for every account), action and version.

// ErrEventSchemaRace is returned by CreateEventSchema when another
// transaction registered the same version at the same moment.
var ErrEventSchemaRace = errors.New("sqlstore: another version of the event schema was registered at the same time")

const eventSchemaColumns = `id, account_id, action, version, body, created_by, created_at, used_at`

func scanEventSchema(s scanner) (*audit.EventSchema, error) {
	e := &audit.EventSchema{}
	var body string
	err := s.Scan(&e.ID, &e.AccountID, &e.Action, &e.Version, &body, &e.CreatedBy, timeValue{&e.CreatedAt}, timeValue{&e.UsedAt})
	if err != nil {
		return nil, err
	}
	e.Body = []byte(body)
	return e, nil
}

// CreateEventSchema stores s as the next version of its account's (or
// every account's) schema of its action, and sets its ID, Version and
// CreatedAt. It returns ErrEventSchemaRace when a concurrent transaction
// took the same version.
func (tx *Tx) CreateEventSchema(ctx context.Context, s *audit.EventSchema) error {
	var last int
	if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM event_schemas WHERE account_id = ? AND action = ?`,
		s.AccountID, s.Action).Scan(&last); err != nil {
		return tx.db.wrap(err, "select event schema version")
	}
	s.Version, s.CreatedAt = last+1, tx.now
	id, err := tx.insert(ctx, `INSERT INTO event_schemas (account_id, action, version, body, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		s.AccountID, s.Action, s.Version, string(s.Body), s.CreatedBy, tx.db.t(s.CreatedAt))
	if err != nil {
		if err = tx.db.wrap(err, "insert event schema"); errors.Is(err, errUnique) {
			return ErrEventSchemaRace
		}
		return err
	}
	s.ID = id
	return nil
}

// EventSchema returns the schema version with the given ID, or
// audit.ErrNotFound.
func (db *DB) EventSchema(ctx context.Context, id int64) (*audit.EventSchema, error) {
	s, err := scanEventSchema(db.rd.queryRow(ctx, `SELECT `+eventSchemaColumns+` FROM event_schemas WHERE id = ?`, id))
	return s, db.wrap(err, "select event schema")
}

// EventSchemas returns the schema versions of the given accounts (0 for
// those of every account), of one action when action is not "", ordered by
// action, account and version.
func (db *DB) EventSchemas(ctx context.Context, accounts []int64, action string) ([]*audit.EventSchema, error) {
	if len(accounts) == 0 {
		return []*audit.EventSchema{}, nil
	}
	q := `SELECT ` + eventSchemaColumns + ` FROM event_schemas WHERE account_id IN (` + placeholders(len(accounts)) + `)`
	args := make([]any, 0, len(accounts)+1)
	for _, a := range accounts {
		args = append(args, a)
	}
	if action != "" {
		q += ` AND action = ?`
		args = append(args, action)
	}
	return selectAll(ctx, db, "select event schemas", scanEventSchema, q+` ORDER BY action, account_id, version`, args...)
}

// LatestEventSchemas returns, for the given accounts (0 included when
// asked for), the latest version of each account's schema of each action,
// without its body: what package app caches to know which compiled
// schemas apply to an account's events (one indexed read of a few rows).
func (db *DB) LatestEventSchemas(ctx context.Context, accounts []int64) ([]*audit.EventSchema, error) {
	if len(accounts) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(accounts))
	for _, a := range accounts {
		args = append(args, a)
	}
	rows, err := db.rd.query(ctx, `SELECT id, account_id, action, version, used_at FROM event_schemas
		WHERE account_id IN (`+placeholders(len(accounts))+`)`, args...)
	if err != nil {
		return nil, db.wrap(err, "select latest event schemas")
	}
	defer rows.Close()
	type key struct {
		account int64
		action  string
	}
	latest := map[key]*audit.EventSchema{}
	var out []*audit.EventSchema
	for rows.Next() {
		s := &audit.EventSchema{}
		if err := rows.Scan(&s.ID, &s.AccountID, &s.Action, &s.Version, timeValue{&s.UsedAt}); err != nil {
			return nil, db.wrap(err, "scan latest event schemas")
		}
		k := key{s.AccountID, s.Action}
		if l := latest[k]; l == nil || l.Version < s.Version {
			latest[k] = s
		}
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(err, "select latest event schemas")
	}
	for _, s := range latest {
		out = append(out, s)
	}
	return out, nil
}

// DeleteEventSchema deletes the schema version with the given ID if no
// event has been checked against it; it reports whether it did.
func (tx *Tx) DeleteEventSchema(ctx context.Context, id int64) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM event_schemas WHERE id = ? AND used_at IS NULL`, id)
	if err != nil {
		return false, tx.db.wrap(err, "delete event schema")
	}
	n, err := res.RowsAffected()
	return n == 1, tx.db.wrap(err, "delete event schema")
}

// MarkEventSchemaUsed records that events are being checked against the
// schema version with the given ID, so that it can no longer be deleted.
// It returns audit.ErrNotFound when the version is gone.
func (db *DB) MarkEventSchemaUsed(ctx context.Context, id int64, at time.Time) error {
	if _, err := db.wr.exec(ctx, `UPDATE event_schemas SET used_at = ? WHERE id = ? AND used_at IS NULL`, db.t(at), id); err != nil {
		return db.wrap(err, "mark event schema used")
	}
	var n int64
	err := db.wr.queryRow(ctx, `SELECT COUNT(*) FROM event_schemas WHERE id = ? AND used_at IS NOT NULL`, id).Scan(&n)
	switch {
	case err != nil:
		return db.wrap(err, "mark event schema used")
	case n == 0:
		return audit.ErrNotFound
	}
	return nil
}

// placeholders returns n comma-separated placeholders.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
