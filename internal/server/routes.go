package server

import (
	"net/http"

	"github.com/auditlog/auditlog/internal/audit"
)

// routes registers every route. Each line shows who may call it: public,
// signedIn (any role), or the permission of the seed's role table.
func (s *Server) routes() {
	public, signedIn, can := s.public, s.signedIn, s.can

	s.mux.Handle("GET /healthz", public(s.health))

	s.mux.Handle("POST /api/auth/login", public(s.login))
	s.mux.Handle("POST /api/auth/logout", signedIn(s.logout))
	s.mux.Handle("GET /api/auth/me", signedIn(s.me))
	s.mux.Handle("POST /api/auth/password", signedIn(s.changePassword))
	s.mux.Handle("POST /api/auth/mfa/setup", signedIn(s.mfaSetup))
	s.mux.Handle("POST /api/auth/mfa/confirm", signedIn(s.mfaConfirm))
	s.mux.Handle("POST /api/auth/mfa/verify", public(s.mfaVerify))
	s.mux.Handle("POST /api/auth/mfa/disable", signedIn(s.mfaDisable))

	s.mux.Handle("POST /api/accounts", public(s.createAccount))
	s.mux.Handle("GET /api/accounts/{id}", can(audit.PermViewAccount, s.getAccount))
	s.mux.Handle("GET /api/accounts/{id}/security", can(audit.PermViewAccount, s.getAccountSecurity))
	s.mux.Handle("PATCH /api/accounts/{id}/security", can(audit.PermManageAccountSecurity, s.updateAccountSecurity))

	s.mux.Handle("POST /api/users", can(audit.PermCreateUsers, s.createUser))
	s.mux.Handle("GET /api/users", can(audit.PermViewUsers, s.listUsers))
	s.mux.Handle("PATCH /api/users/{id}", can(audit.PermManageUsers, s.updateUser))

	s.mux.Handle("GET /api/audit-logs", can(audit.PermViewAuditLogs, s.listEvents))
	s.mux.Handle("GET /api/audit-logs/export", can(audit.PermViewAuditLogs, s.exportEvents))
	s.mux.Handle("GET /api/audit-logs/checkpoint", can(audit.PermViewAuditLogs, s.checkpoint))
	s.mux.Handle("GET /api/audit-logs/consistency", can(audit.PermViewAuditLogs, s.consistency))
	s.mux.Handle("GET /api/audit-logs/verify", can(audit.PermViewAuditLogs, s.verify))
	s.mux.Handle("GET /api/audit-logs/{id}/proof", can(audit.PermViewAuditLogs, s.proof))
	s.mux.Handle("GET /api/verifier-key", public(s.verifierKey))

	s.mux.Handle("POST /api/audit-logs", can(audit.PermWriteEvents, s.ingestEvent))
	s.mux.Handle("POST /api/audit-logs/batch", can(audit.PermWriteEvents, s.ingestBatch))
	s.mux.Handle("POST /api/api-keys", can(audit.PermManageAPIKeys, s.createAPIKey))
	s.mux.Handle("GET /api/api-keys", can(audit.PermManageAPIKeys, s.listAPIKeys))
	s.mux.Handle("DELETE /api/api-keys/{id}", can(audit.PermManageAPIKeys, s.revokeAPIKey))
}

// handlerFunc is the signature of every handler: it writes a response and
// returns nil, or writes nothing and returns an error for handle to write.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// public adapts a handler that needs no sign-in.
func (s *Server) public(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// signedIn adapts a handler that needs a signed-in user, of any role.
// API keys are refused: these routes concern a person.
func (s *Server) signedIn(h handlerFunc) http.Handler {
	return s.public(func(w http.ResponseWriter, r *http.Request) error {
		r, err := s.authenticate(w, r)
		if err != nil {
			return err
		}
		if principalFrom(r.Context()).User == nil {
			return errNeedsUser
		}
		return h(w, r)
	})
}

// can adapts a handler that needs a signed-in user whose role has perm, or
// an API key holding the scope that grants perm (see audit.ScopeFor).
func (s *Server) can(perm audit.Permission, h handlerFunc) http.Handler {
	return s.public(func(w http.ResponseWriter, r *http.Request) error {
		r, err := s.authenticate(w, r)
		if err != nil {
			return err
		}
		p := principalFrom(r.Context())
		switch {
		case p.User != nil && p.MFAEnrolmentDue:
			return errMFAEnrolment
		case p.User != nil && !p.User.Role.Can(perm):
			return errForbidden
		case p.APIKey != nil && (audit.ScopeFor(perm) == "" || !p.APIKey.Has(audit.ScopeFor(perm))):
			return errKeyScope
		}
		return h(w, r)
	})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.Ping(r.Context()); err != nil {
		s.log.ErrorContext(r.Context(), "health check failed", "err", err)
		return audit.ErrUnavailable
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
