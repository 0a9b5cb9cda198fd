package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/auditlog/auditlog/internal/audit"
)

// Marks that a dialect's classify puts on driver errors, by error code. wrap
// turns errForeignKey and errUnavailable into domain errors; methods that
// insert turn errUnique into a conflict naming the field at fault; Update
// retries a transaction that failed with errTransient.
var (
	// errUnique marks a unique-constraint violation.
	errUnique = errors.New("unique violation")
	// errForeignKey marks an insert that names a row that does not exist.
	errForeignKey = errors.New("foreign key violation")
	// errTransient marks an error after which the whole transaction may be
	// retried: a lock timeout, deadlock or serialization failure, or a
	// connection that failed before anything was sent.
	errTransient = errors.New("transient error")
	// errUnavailable marks a database that cannot be reached or will not
	// serve: connection lost or refused, server shutting down, too many
	// connections, statement timeout, read-only server. It is not retried:
	// a connection lost during COMMIT leaves unknown whether it committed.
	errUnavailable = errors.New("database unavailable")
	// errFull marks a write the database refused for want of disk space.
	// Nothing was written; the transaction is not retried.
	errFull = errors.New("database storage full")
)

// wrap classifies a driver error by code and adds the operation to its text.
// sql.ErrNoRows becomes audit.ErrNotFound; a foreign key violation (the
// account or user named does not exist) wraps audit.ErrNotFound; an
// unavailable database becomes an audit.EUNAVAILABLE error; context errors
// and *audit.Error pass unchanged.
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
	err = fmt.Errorf("sqlstore: %s: %w", op, db.dialect.classify(err))
	switch {
	case errors.Is(err, errForeignKey):
		return fmt.Errorf("%w: %w", audit.ErrNotFound, err)
	case errors.Is(err, errUnavailable):
		return &audit.Error{Code: audit.EUNAVAILABLE, Message: audit.ErrUnavailable.Message, Err: err}
	case errors.Is(err, errFull):
		return &audit.Error{Code: audit.EFULL, Message: audit.ErrStorageFull.Message, Err: err}
	}
	return err
}

// classifyConnError marks the network-level errors every driver can return
// as errUnavailable.
func classifyConnError(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	return err
}
