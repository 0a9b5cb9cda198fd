package server

import (
	"net/http"

	"github.com/auditlog/auditlog/api"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// routes registers every route: its pattern, who may call it, the
// rate-limit bucket it draws from, and its handler.
func (s *Server) routes() {
	r := s.route
	r("GET /healthz", public, noLimit, s.health)
	r("GET /readyz", public, noLimit, s.ready)
	r("GET /api/openapi.json", public, noLimit, s.openAPI)

	r("POST /api/auth/login", public, limitLogin, s.login)
	r("POST /api/auth/logout", signedIn, noLimit, s.logout)
	r("GET /api/auth/me", signedIn, limitReads, s.me)
	r("POST /api/auth/password", signedIn, limitLogin, s.changePassword)
	r("POST /api/auth/mfa/setup", signedIn, limitLogin, s.mfaSetup)
	r("POST /api/auth/mfa/confirm", signedIn, limitLogin, s.mfaConfirm)
	r("POST /api/auth/mfa/verify", public, limitLogin, s.mfaVerify)
	r("POST /api/auth/mfa/disable", signedIn, limitLogin, s.mfaDisable)

	r("POST /api/accounts", public, limitSignUp, s.createAccount)
	r("GET /api/accounts/{id}", can(audit.PermViewAccount), limitReads, s.getAccount)
	r("PATCH /api/accounts/{id}", can(audit.PermManageRetention), noLimit, s.updateAccount)
	r("GET /api/accounts/{id}/security", can(audit.PermViewAccount), limitReads, s.getAccountSecurity)
	r("PATCH /api/accounts/{id}/security", can(audit.PermManageAccountSecurity), noLimit, s.updateAccountSecurity)

	r("POST /api/users", can(audit.PermCreateUsers), noLimit, s.createUser)
	r("GET /api/users", can(audit.PermViewUsers), limitReads, s.listUsers)
	r("PATCH /api/users/{id}", can(audit.PermManageUsers), noLimit, s.updateUser)

	r("POST /api/erasures", can(audit.PermErasePersonalData), noLimit, s.erase)
	r("GET /api/erasures", can(audit.PermErasePersonalData), limitReads, s.listErasures)

	r("GET /api/audit-logs", can(audit.PermViewAuditLogs), limitReads, s.listEvents)
	r("GET /api/audit-logs/export", can(audit.PermViewAuditLogs), limitReads, s.exportEvents)
	r("GET /api/audit-logs/stream", can(audit.PermViewAuditLogs), limitReads, s.streamEvents)
	r("GET /api/audit-logs/checkpoint", can(audit.PermViewAuditLogs), limitReads, s.checkpoint)
	r("GET /api/audit-logs/consistency", can(audit.PermViewAuditLogs), limitReads, s.consistency)
	r("GET /api/audit-logs/verify", can(audit.PermViewAuditLogs), limitReads, s.verify)
	r("GET /api/audit-logs/{id}", can(audit.PermViewAuditLogs), limitReads, s.getEvent)
	r("GET /api/audit-logs/{id}/proof", can(audit.PermViewAuditLogs), limitReads, s.proof)
	r("GET /api/verifier-key", public, noLimit, s.verifierKey)

	r("GET /api/analytics/summary", can(audit.PermViewAuditLogs), limitReads, s.analyticsSummary)
	r("GET /api/analytics/timeseries", can(audit.PermViewAuditLogs), limitReads, s.analyticsSeries)
	r("GET /api/analytics/top", can(audit.PermViewAuditLogs), limitReads, s.analyticsTop)

	r("POST /api/chat", userCan(audit.PermViewAuditLogs), limitReads, s.askChat)
	r("GET /api/chat/conversations", userCan(audit.PermViewAuditLogs), limitReads, s.listChatConversations)
	r("GET /api/chat/conversations/{id}", userCan(audit.PermViewAuditLogs), limitReads, s.getChatConversation)
	r("DELETE /api/chat/conversations/{id}", userCan(audit.PermViewAuditLogs), noLimit, s.deleteChatConversation)

	r("POST /mcp", keyCan(audit.PermViewAuditLogs), limitReads, s.serveMCP)

	r("POST /api/audit-logs", can(audit.PermWriteEvents), limitIngest, s.ingestEvent)
	r("POST /api/audit-logs/batch", can(audit.PermWriteEvents), limitIngest, s.ingestBatch)
	r("POST /api/api-keys", can(audit.PermManageAPIKeys), noLimit, s.createAPIKey)
	r("GET /api/api-keys", can(audit.PermManageAPIKeys), limitReads, s.listAPIKeys)
	r("DELETE /api/api-keys/{id}", can(audit.PermManageAPIKeys), noLimit, s.revokeAPIKey)

	r("GET /api/alert-rules/defaults", userCan(audit.PermManageAlerts), limitReads, s.listAlertRuleDefaults)
	r("POST /api/alert-rules", userCan(audit.PermManageAlerts), noLimit, s.createAlertRule)
	r("GET /api/alert-rules", userCan(audit.PermManageAlerts), limitReads, s.listAlertRules)
	r("GET /api/alert-rules/{id}", userCan(audit.PermManageAlerts), limitReads, s.getAlertRule)
	r("PATCH /api/alert-rules/{id}", userCan(audit.PermManageAlerts), noLimit, s.updateAlertRule)
	r("POST /api/alert-rules/{id}/enable", userCan(audit.PermManageAlerts), noLimit, s.enableAlertRule)
	r("POST /api/alert-rules/{id}/disable", userCan(audit.PermManageAlerts), noLimit, s.disableAlertRule)
	r("DELETE /api/alert-rules/{id}", userCan(audit.PermManageAlerts), noLimit, s.deleteAlertRule)

	r("POST /api/streams", userCan(audit.PermManageStreams), noLimit, s.createStream)
	r("GET /api/streams", userCan(audit.PermManageStreams), limitReads, s.listStreams)
	r("GET /api/streams/{id}", userCan(audit.PermManageStreams), limitReads, s.getStream)
	r("PATCH /api/streams/{id}", userCan(audit.PermManageStreams), noLimit, s.updateStream)
	r("POST /api/streams/{id}/pause", userCan(audit.PermManageStreams), noLimit, s.pauseStream)
	r("POST /api/streams/{id}/resume", userCan(audit.PermManageStreams), noLimit, s.resumeStream)
	r("POST /api/streams/{id}/test", userCan(audit.PermManageStreams), limitReads, s.testStream)
	r("DELETE /api/streams/{id}", userCan(audit.PermManageStreams), noLimit, s.deleteStream)

	// Platform keys: the app checks each scope (accounts:write,
	// accounts:read, events:write, viewer:create); the account-scoped
	// reads check events:read as Authorize(PermViewAuditLogs).
	r("POST /api/platform/accounts", platformKey, noLimit, s.createPlatformAccount)
	r("GET /api/platform/accounts", platformKey, noLimit, s.getPlatformAccountByExternalID)
	r("GET /api/platform/accounts/{account}", platformKey, noLimit, s.getPlatformAccount)
	r("POST /api/platform/events", platformKey, limitIngest, s.ingestPlatformEvent)
	r("POST /api/platform/events/batch", platformKey, limitIngest, s.ingestPlatformBatch)
	pa := "/api/platform/accounts/{account}/audit-logs"
	r("GET "+pa, platformOn(audit.PermViewAuditLogs), noLimit, s.listEvents)
	r("GET "+pa+"/export", platformOn(audit.PermViewAuditLogs), noLimit, s.exportEvents)
	r("GET "+pa+"/checkpoint", platformOn(audit.PermViewAuditLogs), noLimit, s.checkpoint)
	r("GET "+pa+"/consistency", platformOn(audit.PermViewAuditLogs), noLimit, s.consistency)
	r("GET "+pa+"/{id}", platformOn(audit.PermViewAuditLogs), noLimit, s.getEvent)
	r("GET "+pa+"/{id}/proof", platformOn(audit.PermViewAuditLogs), noLimit, s.proof)

	r("POST /api/viewer-tokens", platformOrUser, noLimit, s.createViewerToken)
	r("GET /api/accounts/{id}/viewer", can(audit.PermViewAccount), limitReads, s.getViewerSettings)
	r("PATCH /api/accounts/{id}/viewer", can(audit.PermManageAccountSecurity), noLimit, s.updateViewerSettings)

	// Event schemas: a platform key (schemas:write) or a session; the app
	// checks the scope, or the role (owners write, owners and admins read).
	r("POST /api/event-schemas", platformOrUser, noLimit, s.createEventSchema)
	r("GET /api/event-schemas", platformOrUser, limitReads, s.listEventSchemas)
	r("GET /api/event-schemas/{id}", platformOrUser, limitReads, s.getEventSchema)
	r("DELETE /api/event-schemas/{id}", platformOrUser, noLimit, s.deleteEventSchema)
}

// access says who may call a route.
type access struct {
	authenticate bool             // a session or an API key is needed
	user         bool             // a signed-in user is needed, of any role
	perm         audit.Permission // the permission needed, if any
	key          bool             // an API key is needed
	// platform: a platform key is needed (and nothing else is taken);
	// scoped: it acts on the account of the path's {account}.
	platform, scoped bool
	// orPlatform: a platform key is taken too, besides sessions.
	orPlatform bool
}

var (
	// public routes need no sign-in.
	public = access{}
	// signedIn routes need a signed-in user, of any role; API keys are
	// refused: these routes concern a person.
	signedIn = access{authenticate: true, user: true}
)

// platformKey routes take a platform key only; the app checks its scopes.
var platformKey = access{authenticate: true, platform: true}

// platformOn is a platform key holding the scope that grants perm on the
// account of the path's {account} (see audit.PlatformScopeFor).
func platformOn(perm audit.Permission) access {
	return access{authenticate: true, platform: true, scoped: true, perm: perm}
}

// platformOrUser is a platform key or a signed-in user (not an account's
// API key); the app checks the scope or the role.
var platformOrUser = access{authenticate: true, orPlatform: true}

// can is who has perm: a signed-in user whose role has it, or an API key
// holding the scope that grants it (see audit.ScopeFor).
func can(perm audit.Permission) access { return access{authenticate: true, perm: perm} }

// keyCan is an API key holding the scope that grants perm; sessions are
// refused (the route serves programs, such as MCP clients).
func keyCan(perm audit.Permission) access { return access{authenticate: true, key: true, perm: perm} }

// userCan is a signed-in user whose role has perm; API keys are refused
// (the route keeps something per person, such as chat conversations).
func userCan(perm audit.Permission) access { return access{authenticate: true, user: true, perm: perm} }

// bucket is the rate-limit bucket a route draws from. The RateLimit,
// RateLimit-Policy and Retry-After headers show every decision.
type bucket int

const (
	noLimit bucket = iota
	// limitLogin: sign-in attempts, drawn by the app operation itself
	// from the client IP's and/or the account's login buckets (see
	// package app, "Rate limits").
	limitLogin
	// limitReads: the session's read bucket (app.LimitReads); requests
	// with an API key are not limited.
	limitReads
	// limitIngest: the API key's ingest bucket (app.LimitIngest); a
	// signed-in user's requests are not limited.
	limitIngest
	// limitSignUp: public sign-up, drawn by the app operation itself
	// (app.SignUp) from the client IP's sign-up bucket, once the fields
	// are valid.
	limitSignUp
)

// handlerFunc is the signature of every handler: it writes a response and
// returns nil, or writes nothing and returns an error for route to write.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route registers h under pattern: callers must pass who, and draw from b.
// Every error is written by writeError.
func (s *Server) route(pattern string, who access, b bucket, h handlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.serve(w, r, who, b, h); err != nil {
			s.writeError(w, r, err)
		}
	}))
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, who access, b bucket, h handlerFunc) error {
	if b != noLimit {
		r = r.WithContext(app.WithLimitObserver(r.Context(), rateLimitHeaders(w)))
	}
	if !who.authenticate {
		return h(w, r)
	}
	var err error
	if _, plat := platformBearer(r); who.platform || who.orPlatform && plat {
		r, err = s.authenticatePlatform(r, who.scoped)
	} else {
		r, err = s.authenticate(w, r)
	}
	if err != nil {
		return err
	}
	ctx, p := r.Context(), principalFrom(r.Context())
	if b == limitReads {
		if err := s.app.LimitReads(ctx, p); err != nil {
			return err
		}
	}
	if who.user {
		if err := p.RequireUser(); err != nil {
			return err
		}
	}
	if who.key && p.APIKey == nil {
		return errNeedsKey
	}
	if who.perm != "" {
		if err := p.Authorize(who.perm); err != nil {
			return err
		}
	}
	if b == limitIngest {
		if err := s.app.LimitIngest(ctx, p); err != nil {
			return err
		}
	}
	return h(w, r)
}

// health is the liveness check: the process serves HTTP. It touches
// nothing else, so a database outage never gets a live process restarted;
// readiness (ready) reports the database.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// openAPI serves the API's OpenAPI document (package api).
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	return writeJSONBody(w, http.StatusOK, api.OpenAPI)
}

// ready is the readiness check: the database answers within
// sqlstore.ReadyTimeout (else 503 unavailable) and a SQLite database's disk
// has room to record (else 507 storage_full), both with Retry-After.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.Ready(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		if audit.ErrorCode(err) == audit.EFULL {
			return audit.ErrStorageFull
		}
		return audit.ErrUnavailable
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
