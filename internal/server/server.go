// Package server is the service's HTTP API: routes, authentication, role
// checks, request decoding and the JSON responses of the seed's contract.
//
// The server is one surface over the application layer (package app),
// which owns every rule, transaction and audit record: each handler decodes
// the request, calls one app operation and renders its result. The server
// keeps what is HTTP: routes, authentication from the cookie or bearer
// token, request decoding, the JSON views, cookies and headers (the
// RateLimit headers render the app's rate-limit decisions), and the error
// table. It consumes the app through the Application interface (app.go).
//
// Handlers are methods of Server with the signature
// func(w http.ResponseWriter, r *http.Request) error; one adapter (route)
// writes every error, so the mapping from domain errors to HTTP statuses
// lives in one place (errors.go) and internal error text never reaches a
// client. Every route, with who may call it and the rate-limit bucket it
// draws from, is listed in routes.go.
package server

import (
	"log/slog"
	"net/http"
	"path"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/chat"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/live"
	"github.com/auditlog/auditlog/internal/mcp"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Server serves the API. Create one with New.
type Server struct {
	app   Application
	store *sqlstore.DB
	cfg   config.Config
	log   *slog.Logger
	now   func() time.Time
	mux   *http.ServeMux
	root  http.Handler
	// pages caches rendered listing pages (LIST_CACHE_MB); nil when off.
	pages *pageCache
	// live delivers committed events to the stream; nil: no stream.
	live *live.Hub
	// chat answers POST /api/chat.
	chat *chat.Assistant
	// mcp serves POST /mcp.
	mcp          http.Handler
	streamTiming streamTiming
	// reflectList, set only by tests, renders listings through
	// encoding/json (eventListJSON) instead of appendEventList, to compare
	// the two.
	reflectList bool
	// patterns lists every route's pattern ("GET /api/users"), in the
	// order routes registers them; TestOpenAPI holds the document to them.
	patterns []string
}

// Deps are what a Server needs.
type Deps struct {
	// App performs every operation; the server decodes, authenticates,
	// calls it and renders. An *app.App.
	App Application
	// Store answers the health check.
	Store *sqlstore.DB
	// Config supplies the cookie settings, the trusted proxies and the
	// size of the listing page cache.
	Config config.Config
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Live delivers committed events to GET /api/audit-logs/stream; nil
	// answers that endpoint with 503.
	Live *live.Hub
}

// New returns a Server ready to serve.
func New(d Deps) *Server {
	s := &Server{
		app:   d.App,
		store: d.Store,
		cfg:   d.Config,
		log:   d.Logger,
		now:   d.Now,
		mux:   http.NewServeMux(),
		pages: newPageCache(int64(d.Config.ListCacheMB) << 20),
		live:  d.Live,
		chat:  chat.NewAssistant(d.App, d.Now, chatLLM(d.Config), d.Logger),
		mcp:   mcp.Handler(d.App, func(r *http.Request) *app.Principal { return principalFrom(r.Context()) }, d.Logger),

		streamTiming: defaultStreamTiming,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.routes()
	s.root = s.middleware(http.HandlerFunc(s.dispatch))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.root.ServeHTTP(w, r) }

// dispatch routes the request. When no route matches, ServeMux would answer
// in plain text; dispatch answers in the API's JSON error shape instead, with
// 404, or 405 and the Allow header when the path exists for other methods.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if p := r.URL.Path; p != path.Clean(p) {
		// ServeMux would redirect to the clean path; an API answers for
		// the one path it documents, and a redirect of a POST is a trap.
		s.writeError(w, r, errRouteNotFound)
		return
	}
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		s.writeError(w, r, errMethodNotAllowed)
		return
	}
	s.writeError(w, r, errRouteNotFound)
}

// statusProbe records the status and headers a handler writes, and drops the body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *statusProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}

// Chat returns the assistant that answers POST /api/chat, so that another
// surface (the console's chat page) asks the very same one.
func (s *Server) Chat() *chat.Assistant { return s.chat }

// chatLLM is the language model CHAT_LLM_URL names, or nil.
func chatLLM(c config.Config) *chat.LLM {
	if c.ChatLLMURL == "" {
		return nil
	}
	return chat.NewLLM(c.ChatLLMURL, c.ChatLLMModel, c.ChatLLMAPIKey, nil)
}
