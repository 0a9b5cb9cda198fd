// Package web is the console: server-rendered HTML pages over the
// application layer (package app) for a merchant's owners, admins,
// analysts and content creators. It is a surface like the JSON API
// (package server): each handler authenticates the session, calls one app
// operation and renders the result with html/template; every rule lives
// in app, so the console refuses what the API refuses, for the same
// reasons, and records the same audit trail.
//
// Templates and assets are embedded (go:embed): the binary serves the
// console offline, with no CDN and no Node at run time. Pages work without
// JavaScript; three small scripts (static/*.js) add what only a browser
// can do: local times, copy buttons, the explorer's live toggle (a
// WebSocket tail), and the "verified" badge of an event, which checks the
// event's inclusion proof and the signed checkpoint with WebCrypto
// (docs/console.md). The Content-Security-Policy allows scripts,
// styles and images from the console's own origin only.
//
// Every route, with what it needs, is listed in routes.go; the one mapping
// from application error codes to pages is errors.go.
package web

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/chat"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Console serves the web console. Create one with New.
type Console struct {
	app   Application
	chat  *chat.Assistant
	cfg   config.Config
	log   *slog.Logger
	now   func() time.Time
	mux   *http.ServeMux
	pages pages
	root  http.Handler
	// encodeCheckpoint encodes the checkpoint of a stream's test delivery.
	encodeCheckpoint func(*sqlstore.Checkpoint) ([]byte, error)
}

// Deps are what a Console needs.
type Deps struct {
	// App performs every operation; an *app.App.
	App Application
	// Config supplies the cookie settings and the trusted proxies.
	Config config.Config
	Logger *slog.Logger
	// Now is the clock of the date presets; nil means time.Now.
	Now func() time.Time
	// Chat answers the chat page's questions: the assistant of the JSON
	// API (server.Server.Chat), so both surfaces ask the same one. Nil
	// means the built-in engine over App.
	Chat *chat.Assistant
	// StreamCheckpoint encodes the checkpoint a stream's test delivery
	// carries, as the streams deliver it (server.Server.StreamEncoder's
	// Checkpoint); nil sends the test without one.
	StreamCheckpoint func(*sqlstore.Checkpoint) ([]byte, error)
}

// New returns a Console ready to serve.
func New(d Deps) *Console {
	c := &Console{app: d.App, chat: d.Chat, cfg: d.Config, log: d.Logger, now: d.Now, mux: http.NewServeMux(), pages: mustParsePages(),
		encodeCheckpoint: d.StreamCheckpoint}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.chat == nil {
		c.chat = chat.NewAssistant(d.App, d.Now, nil, c.log)
	}
	c.routes()
	c.root = c.middleware(c.mux)
	return c
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.root.ServeHTTP(w, r) }

// Mount returns the handler the binary serves: the JSON API for /api and
// everything under it and for /healthz, /readyz and /mcp (the MCP endpoint), exactly as it answers on its own
// (its JSON 404 and 405 included), and the console for every other path.
func Mount(api, console http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/api" || strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz" || p == "/mcp" {
			api.ServeHTTP(w, r)
			return
		}
		console.ServeHTTP(w, r)
	})
}
