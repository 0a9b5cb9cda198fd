// Package server is the service's HTTP API: routes, authentication, role
// checks, request decoding and the JSON responses of the seed's contract.
//
// Handlers are methods of Server with the signature
// func(w http.ResponseWriter, r *http.Request) error; one adapter (public,
// which signedIn and can build on) writes every error, so the mapping from domain errors to HTTP statuses lives
// in one place (errors.go) and internal error text never reaches a client.
// Every route, with the permission it needs, is listed in routes.go.
package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// Server serves the API. Create one with New.
type Server struct {
	store  *sqlstore.DB
	signer *tlog.Signer
	ingest *ingest.Writer
	hasher *password.Hasher
	cfg    config.Config
	log    *slog.Logger
	secret []byte
	now    func() time.Time
	mux    *http.ServeMux
	root   http.Handler

	// limiter holds the rate-limit buckets (Redis when configured);
	// localLimiter is this process's own, used when limiter fails.
	limiter, localLimiter ratelimit.Limiter
}

// ingestWait bounds how long an ingest request waits for its commit.
const ingestWait = 10 * time.Second

// Deps are what a Server needs.
type Deps struct {
	Store *sqlstore.DB
	// Signer signs the checkpoint of every append; its verifier key is
	// the one GET /api/verifier-key publishes.
	Signer *tlog.Signer
	// Ingest group-commits the events that platform services send.
	Ingest *ingest.Writer
	Hasher *password.Hasher
	Config config.Config
	Logger *slog.Logger
	// SecretKey keys the hashes of session tokens. It must not be empty.
	SecretKey []byte
	// Limiter holds the rate-limit buckets; nil keeps them in this process.
	Limiter ratelimit.Limiter
}

// New returns a Server ready to serve.
func New(d Deps) *Server {
	s := &Server{
		store:  d.Store,
		signer: d.Signer,
		ingest: d.Ingest,
		hasher: d.Hasher,
		cfg:    d.Config,
		log:    d.Logger,
		secret: d.SecretKey,
		now:    time.Now,
		mux:    http.NewServeMux(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	local := ratelimit.NewMemory()
	local.Now = func() time.Time { return s.now() }
	s.limiter, s.localLimiter = d.Limiter, local
	if s.limiter == nil {
		s.limiter = local
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

// tokenHash returns the stored form of a session token: its HMAC-SHA-256
// under the secret key, in hex. A leaked sessions table then yields no usable
// cookie.
func (s *Server) tokenHash(token string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// appendEvents appends events to their accounts' logs in tx, signed with
// the service's key, for handlers that need no more than success.
func (s *Server) appendEvents(ctx context.Context, tx *sqlstore.Tx, events ...*audit.Event) error {
	_, err := tx.AppendEvents(ctx, s.signer, events...)
	return err
}
