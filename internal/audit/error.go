package audit

import (
	"errors"
	"fmt"
)

// Error codes. Each names a class of failure that a client can act on; the
// HTTP layer maps each to exactly one status code.
const (
	EINVALID      = "invalid"      // the request is malformed or a field is invalid
	EUNAUTHORIZED = "unauthorized" // no valid credentials were presented
	EFORBIDDEN    = "forbidden"    // the caller's role lacks the permission
	ENOTFOUND     = "not_found"    // the resource does not exist in the caller's account
	ECONFLICT     = "conflict"     // a unique value (domain, email) is already taken
	ETOOLARGE     = "too_large"    // the request body is larger than allowed
	EUNSUPPORTED  = "unsupported"  // the request has an unsupported content type
	ENOTALLOWED   = "not_allowed"  // the route exists but not for this method
	ERATELIMITED  = "rate_limited" // too many requests: retry after the Retry-After header's seconds
	EMFAREQUIRED  = "mfa_required" // the account requires MFA of the caller, who has not enrolled
	EUNAVAILABLE  = "unavailable"  // a dependency (the database) is temporarily unavailable
	EFULL         = "storage_full" // the database has no space left to record anything
	EINTERNAL     = "internal"     // anything else; details are logged, never sent
)

// Error is the application error. Message is safe to show to a client; Field,
// when set, names the request field at fault. Err, when set, is the underlying
// cause: it is logged but never shown to a client.
type Error struct {
	Code    string
	Message string
	Field   string
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error that names the field at fault.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of the first *Error in err's
// chain, or a generic message for any other error, so that internal error text
// never reaches a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorField returns the field named by the first *Error in err's chain, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// Sentinel errors returned by stores. Compare with errors.Is.
var (
	// ErrNotFound means the row does not exist in the given account.
	ErrNotFound = &Error{Code: ENOTFOUND, Message: "Not found."}
	// ErrUnavailable means the database could not be reached or timed out.
	ErrUnavailable = &Error{Code: EUNAVAILABLE, Message: "The service is temporarily unavailable; try again."}
	// ErrStorageFull means the database refused a write for want of disk
	// space. Nothing was written; reads still work.
	ErrStorageFull = &Error{Code: EFULL, Message: "The service's database has no space left, so nothing can be recorded until an operator frees disk space; try again later."}
	// ErrEmailTaken means another user, in any account, has the email.
	// The caller names the request field at fault.
	ErrEmailTaken = &Error{Code: ECONFLICT, Message: "A user with this email already exists."}
	// ErrDomainTaken means another account has the domain.
	ErrDomainTaken = &Error{Code: ECONFLICT, Message: "An account with this domain already exists."}
	// ErrMFAEnabled means the user's MFA is already enabled, so a new
	// enrolment cannot start.
	ErrMFAEnabled = &Error{Code: ECONFLICT, Message: "MFA is already enabled."}
	// ErrMFAChanged means the pending MFA enrolment named is gone: it was
	// confirmed or restarted meanwhile.
	ErrMFAChanged = &Error{Code: ECONFLICT, Message: "The MFA enrolment changed meanwhile."}
)
