package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/auditlog/auditlog/internal/alert"
	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/live"
	"github.com/auditlog/auditlog/internal/metrics"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/server"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/stream"
	"github.com/auditlog/auditlog/internal/web"
)

// HTTP server limits. Requests are small JSON documents, so generous
// read and write timeouts still cut off slow-loris clients quickly.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 10 * time.Second
	sessionSweepEvery = 10 * time.Minute
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs, st := newFlagSet(e, "serve", "Serve the JSON API (under /api) and the web console on http://HOST:PORT (default 127.0.0.1:5000).\nThe schema is migrated first.")
	st.stringFlag(fs, "host", "`address` to listen on (env HOST; default 127.0.0.1)",
		func(c *config.Config, v string) error { c.Host = v; return nil })
	st.intFlag(fs, "port", "`port` to listen on, 0 for any free port (env PORT; default 5000)",
		func(c *config.Config, n int) { c.Port = n })
	st.stringFlag(fs, "trusted-proxies", "comma-separated `addresses` or CIDR prefixes whose X-Forwarded-For is believed (env TRUSTED_PROXIES)",
		func(c *config.Config, v string) error {
			ps, err := config.ParsePrefixes(v)
			c.TrustedProxies = ps
			return err
		})
	st.stringFlag(fs, "redis-url", "keep rate-limit buckets in the Redis at this `URL`, shared by every process (env REDIS_URL)",
		func(c *config.Config, v string) error { c.RedisURL = v; return nil })
	st.stringFlag(fs, "tls-cert", "serve HTTPS with this certificate `file` (PEM, with chain); needs --tls-key (env TLS_CERT_FILE)",
		func(c *config.Config, v string) error { c.TLSCertFile = v; return nil })
	st.stringFlag(fs, "tls-key", "serve HTTPS with this private key `file` (PEM) (env TLS_KEY_FILE)",
		func(c *config.Config, v string) error { c.TLSKeyFile = v; return nil })
	st.stringFlag(fs, "metrics-addr", "serve GET /metrics (Prometheus) on a listener of its own at this host:port `address`, unauthenticated: keep it on loopback or a private network (env METRICS_ADDR; default none)",
		func(c *config.Config, v string) error { c.MetricsAddr = v; return nil })
	debugAddr := fs.String("debug-addr", "", "also serve GET /debug/stats (goroutines, memory, database connections) and /debug/pprof/ on this `address`, unauthenticated: keep it on loopback")
	withSample := fs.Bool("sample", false, "load the sample data before serving, unless present")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run, until shutdown, to `file` (go tool pprof reads it)")
	fs.BoolFunc("demo", "shorthand for --dev --sample: try the service with the seed's sample data", func(string) error {
		st.dev, *withSample = true, true
		return nil
	})
	if err := st.parse(e, fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg := st.cfg
	log := newLogger(e, cfg.LogLevel)
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme, cfg.CookieSecure = "https", true
	}
	limiter, closeLimiter, err := openLimiter(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeLimiter()

	db, signer, err := openLog(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	hasher := password.NewHasher(password.OWASP)
	if *withSample {
		if err := loadSample(ctx, e, db, signer, hasher); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return err
	}
	witnesses, err := app.NewWitnesses(cfg.Witnesses)
	if err != nil {
		return err
	}
	deps := app.Deps{
		Store: db, Signer: signer, Hasher: hasher, Config: cfg, Logger: log, SecretKey: secretKey(cfg, log), Limiter: limiter,
		Witnesses: witnesses,
	}
	var m *metrics.Metrics
	var ingestObserver ingest.Observer
	if cfg.MetricsAddr != "" {
		m = metrics.New()
		ingestObserver = observe(m, db, &deps)
	}
	writer := ingest.NewWriter(db, deps.Signer, ingest.Options{Workers: ingestWorkers(db), Logger: log, Observer: ingestObserver})
	defer writer.Close() // after the server has stopped: commits what is queued
	deps.Ingest = writer
	a := app.New(deps)
	defer closeApp(a, log) // after the server has stopped: records what is queued
	hub := live.New(db, live.Options{Logger: log})
	alerts := alert.New(db, a.RaiseAlert, alert.Options{Logger: log})
	defer hub.Close()    // before the store closes; also closed at shutdown
	defer alerts.Close() // before the app: it raises alerts through it
	// The JSON API under /api (and /healthz), the console everywhere else.
	api := server.New(server.Deps{App: a, Store: db, Config: cfg, Logger: log, Live: hub})
	// The streams to SIEM tools deliver in the API's encoding.
	streamOpts := stream.Options{Policy: a.StreamPolicy(), Open: a.OpenStreamSecret, Encoder: api.StreamEncoder(), Host: a.StreamHost(), Logger: log}
	if m != nil {
		streamOpts.Observer = m.StreamObserver(stream.FailureClasses)
	}
	streams := stream.New(db, streamOpts)
	defer streams.Close() // before the store closes; releases the leases
	db.OnCommit = func(events []*audit.Event) {
		hub.Committed(events)
		alerts.Committed(events)  // the alert rules are evaluated after commit
		streams.Committed(events) // the streams deliver at once
		a.LogsCommitted(events)   // the witnesses cosign the new checkpoints
	}
	var handler http.Handler = web.Mount(api, web.New(web.Deps{App: a, Config: cfg, Logger: log, Chat: api.Chat(), StreamCheckpoint: api.StreamEncoder().Checkpoint}))
	if m != nil {
		watchMetrics(m, db, writer, hub)
		handler = m.Instrument(handler)
	}
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go sweepSessions(ctx, db, cfg, log)
	// Retention: prune every PRUNE_INTERVAL, one process at a time; stopped
	// and waited for before the app and the store close.
	pruneCtx, stopPruning := context.WithCancel(ctx)
	pruned := make(chan struct{})
	go func() {
		defer close(pruned)
		a.RunRetention(pruneCtx, cfg.PruneInterval)
	}()
	defer func() { stopPruning(); <-pruned }()

	if m != nil {
		addr, err := serveMetrics(ctx, cfg.MetricsAddr, m, log)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		fmt.Fprintf(e.stdout, "auditlog metrics on http://%s/metrics\n", addr)
	}
	// Migrations, templates, schemas and the first queries leave garbage
	// behind; hand it back to the kernel once now, so that what a
	// long-running process holds is its working set, not its start.
	debug.FreeOSMemory()
	log.Info("auditlog serving", "url", scheme+"://"+ln.Addr().String(), "database", db.Describe(), "env", cfg.Env)
	fmt.Fprintf(e.stdout, "auditlog listening on %s://%s\n", scheme, ln.Addr())
	if *debugAddr != "" {
		addr, err := serveDebug(ctx, *debugAddr, db, log)
		if err != nil {
			return fmt.Errorf("debug listener: %w", err)
		}
		fmt.Fprintf(e.stdout, "auditlog debug on http://%s/debug/stats\n", addr)
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCertFile != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCertFile, cfg.TLSKeyFile)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	// Shutdown does not wait for WebSockets: close them first, each with
	// 1001 and the position to resume from.
	hub.Close()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	hub.Drain(shutdownCtx) // each stream has sent its close frame
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// closeApp writes the events the app still holds for the background (failed
// sign-ins), waiting at most shutdownTimeout.
func closeApp(a *app.App, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		log.Error("could not record every queued event before stopping", "err", err)
	}
}

// sweepSessions deletes expired sessions, pending MFA sign-ins and viewer
// tokens (with the embedded viewers' sessions) now and then, until ctx ends.
func sweepSessions(ctx context.Context, db *sqlstore.DB, cfg config.Config, log *slog.Logger) {
	t := time.NewTicker(sessionSweepEvery)
	defer t.Stop()
	for {
		now := time.Now()
		if n, err := db.DeleteExpiredSessions(ctx, now, now.Add(-cfg.SessionIdle)); err != nil && ctx.Err() == nil {
			log.Warn("could not delete expired sessions", "err", err)
		} else if n > 0 {
			log.Info("deleted expired sessions", "count", n)
		}
		if _, err := db.DeleteExpiredMFAChallenges(ctx, now); err != nil && ctx.Err() == nil {
			log.Warn("could not delete expired MFA sign-ins", "err", err)
		}
		if n, err := db.DeleteExpiredViewerTokens(ctx, now); err != nil && ctx.Err() == nil {
			log.Warn("could not delete expired viewer tokens", "err", err)
		} else if n > 0 {
			log.Info("deleted expired viewer tokens and their sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ingestWorkers is how many group-commit transactions run at once: SQLite
// has one writer, so one; the server engines overlap one commit's flush with
// the next batch's work.
func ingestWorkers(db *sqlstore.DB) int {
	if db.Engine() == sqlstore.SQLite {
		return 1
	}
	return 2
}
