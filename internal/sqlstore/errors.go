package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/auditlog/auditlog/internal/audit"
)

var (
	// errUnique marks a unique-constraint violation; methods that insert
	// translate it into the domain's conflict error for the field at fault.
	errUnique = errors.New("unique violation")
	// errTransient marks an error after which the whole transaction may be
	// retried: a lock timeout, deadlock or serialization failure.
	errTransient = errors.New("transient error")
)

// wrap classifies a driver error by code and adds the operation to its text.
// sql.ErrNoRows becomes audit.ErrNotFound; context errors pass unchanged.
func (db *DB) wrap(err error, op string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return audit.ErrNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	var ae *audit.Error
	if errors.As(err, &ae) {
		return err
	}
	return fmt.Errorf("sqlstore: %s: %w", op, db.dialect.classify(err))
}
