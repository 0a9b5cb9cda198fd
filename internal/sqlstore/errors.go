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
	var seen *storeError
	counted := errors.As(err, &seen)
	err = &storeError{fmt.Errorf("sqlstore: %s: %w", op, db.dialect.classify(err))}
	if !counted {
		db.noteError(errorClass(err))
	}
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

// storeError is a driver error that wrap classified (and counted, for
// OnError): wrapping it again adds the operation without counting it twice.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// The classes of database errors OnError is told of.
const (
	ErrorUnavailable = "unavailable" // connection lost or refused, server stopping, timeout
	ErrorFull        = "full"        // no disk space
	ErrorConflict    = "conflict"    // unique or foreign key violation
	ErrorRetry       = "retry"       // deadlock, lock timeout, serialization failure, busy
	ErrorOther       = "other"
)

// errorClass returns the class of a classified error.
func errorClass(err error) string {
	switch {
	case errors.Is(err, errUnavailable):
		return ErrorUnavailable
	case errors.Is(err, errFull):
		return ErrorFull
	case errors.Is(err, errUnique), errors.Is(err, errForeignKey):
		return ErrorConflict
	case errors.Is(err, errTransient):
		return ErrorRetry
	}
	return ErrorOther
}

// noteError tells OnError of a database error of the class.
func (db *DB) noteError(class string) {
	if db.OnError != nil {
		db.OnError(class)
	}
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
