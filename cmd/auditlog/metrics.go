package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/live"
	"github.com/auditlog/auditlog/internal/metrics"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// observe makes the store, the checkpoint signer and the app of deps
// report to m (database errors, signatures, rate-limit decisions, witness
// answers, verifications), and returns the ingest writer's observer.
func observe(m *metrics.Metrics, db *sqlstore.DB, deps *app.Deps) ingest.Observer {
	engine := string(db.Engine())
	db.OnError = func(class string) { m.DatabaseError(engine, class) }
	deps.Signer = deps.Signer.WithObserver(m.CheckpointSigned)
	deps.OnLimit = func(d app.LimitDecision) { m.RateLimited(d.Policy, d.Allowed) }
	ids := make([]string, len(deps.Witnesses))
	for i, w := range deps.Witnesses {
		ids[i] = w.ID
	}
	m.AddWitnesses(ids)
	deps.OnWitness = m.WitnessResult
	deps.OnVerify = m.Verified
	return m.IngestObserver()
}

// watchMetrics registers, in m, the gauges and collectors read at each
// scrape: the ingest queue, the live connections, the database pools and
// the streams' backlog (read from the database at most every 10 s).
func watchMetrics(m *metrics.Metrics, db *sqlstore.DB, writer *ingest.Writer, hub *live.Hub) {
	m.GaugeFunc("auditlog_ingest_queued_events", "Events waiting in the ingest queue for a transaction.",
		func() float64 { return float64(writer.Queued()) })
	m.GaugeFunc("auditlog_live_watchers", "Live streams (WebSocket) this process serves.",
		func() float64 { return float64(hub.Watchers()) })
	m.AddDatabase(string(db.Engine()), db.Stats)
	m.AddStreamBacklog(func(ctx context.Context) ([]metrics.StreamBacklog, error) {
		rows, err := db.StreamBacklogs(ctx)
		out := make([]metrics.StreamBacklog, len(rows))
		for i, r := range rows {
			out[i] = metrics.StreamBacklog(r)
		}
		return out, err
	}, 10*time.Second)
}

// serveMetrics serves GET /metrics from m on addr, a listener of its own
// (unauthenticated: meant for loopback or a private network), until ctx
// ends. It returns the address it listens on.
func serveMetrics(ctx context.Context, addr string, m *metrics.Metrics, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout}
	return serveSide(ctx, ln, srv, "metrics", log), nil
}
