// Package audit is the domain of the audit-log service: accounts (merchants),
// their users and roles, the audit events recorded about them, the filters used
// to search those events, and the application error type that every other
// package returns.
//
// It imports only the standard library. Storage (internal/sqlstore), HTTP
// (internal/server) and the command line (cmd/auditlog) depend on it, never the
// reverse.
package audit
