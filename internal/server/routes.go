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

	s.mux.Handle("POST /api/accounts", public(s.createAccount))
	s.mux.Handle("GET /api/accounts/{id}", can(audit.PermViewAccount, s.getAccount))

	s.mux.Handle("POST /api/users", can(audit.PermCreateUsers, s.createUser))
	s.mux.Handle("GET /api/users", can(audit.PermViewUsers, s.listUsers))

	s.mux.Handle("GET /api/audit-logs", can(audit.PermViewAuditLogs, s.listEvents))
	s.mux.Handle("GET /api/audit-logs/export", can(audit.PermViewAuditLogs, s.exportEvents))
	s.mux.Handle("GET /api/audit-logs/checkpoint", can(audit.PermViewAuditLogs, s.checkpoint))
	s.mux.Handle("GET /api/audit-logs/consistency", can(audit.PermViewAuditLogs, s.consistency))
	s.mux.Handle("GET /api/audit-logs/verify", can(audit.PermViewAuditLogs, s.verify))
	s.mux.Handle("GET /api/audit-logs/{id}/proof", can(audit.PermViewAuditLogs, s.proof))
	s.mux.Handle("GET /api/verifier-key", public(s.verifierKey))
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

// signedIn adapts a handler that needs a valid session, of any role.
func (s *Server) signedIn(h handlerFunc) http.Handler {
	return s.public(func(w http.ResponseWriter, r *http.Request) error {
		r, err := s.authenticate(w, r)
		if err != nil {
			return err
		}
		return h(w, r)
	})
}

// can adapts a handler that needs a valid session whose role has perm.
func (s *Server) can(perm audit.Permission, h handlerFunc) http.Handler {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request) error {
		if p := principalFrom(r.Context()); !p.User.Role.Can(perm) {
			return errForbidden
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
