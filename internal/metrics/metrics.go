// Package metrics keeps the service's Prometheus metrics: HTTP requests by
// route and status, the ingest writer's group commits, checkpoint signing,
// witness answers, log verifications, the database pools and errors, rate
// limits, live connections, streams to SIEM tools (streams.go), and the Go
// runtime and process. Everything lives in a
// registry of its own (never the global default one), served by Handler
// on the separate metrics listener (METRICS_ADDR).
//
// Every label set is bounded: routes are the patterns requests matched
// (such as "GET /api/audit-logs/{id}"), never paths; statuses are the
// three-digit codes written; witnesses are the configured ones, by key
// name and ID; streams are counted by type, state and failure class; no
// label ever holds an account, user, key, stream or event id.
package metrics

import (
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/auditlog/auditlog/internal/ingest"
)

// Unmatched is the route label of requests that matched no route (404s
// and 405s answered for unknown paths).
const Unmatched = "unmatched"

// Metrics holds the service's metrics and the registry that serves them.
// Create it with New; its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	ingestEvents   prometheus.Counter
	ingestFailed   prometheus.Counter
	batchEvents    prometheus.Histogram
	batchRequests  prometheus.Histogram
	queueWait      prometheus.Histogram
	commitDuration prometheus.Histogram
	rejected       *prometheus.CounterVec

	limits *prometheus.CounterVec

	signed       prometheus.Counter
	signDuration prometheus.Histogram
	witness      *prometheus.CounterVec
	verify       *prometheus.CounterVec
	dbErrors     *prometheus.CounterVec

	streamOnce sync.Once
	streams    streamMetrics
}

// The label values the series of the witnesses, the verifications and the
// database errors take, shown at 0 from the start (the app and sqlstore
// name them: app.WitnessCosigned…, app.VerifyOK…, sqlstore.ErrorUnavailable…).
var (
	WitnessResults = []string{"cosigned", "refused", "failed"}
	VerifyResults  = []string{"ok", "failed", "error"}
)

// DatabaseErrorClasses are the classes of database errors
// (DatabaseError), as sqlstore classifies them.
var DatabaseErrorClasses = []string{"unavailable", "full", "conflict", "retry", "other"}

// New returns Metrics registered in a new registry, with the Go runtime
// and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "auditlog_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its answer, by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		ingestEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_ingest_events_total",
			Help: "Events the ingest writer committed (or found already committed, for replayed event IDs) and acknowledged.",
		}),
		ingestFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_ingest_failed_events_total",
			Help: "Events the ingest writer took from its queue but could not commit (the database unavailable, full or refusing them).",
		}),
		batchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "auditlog_ingest_batch_events",
			Help:    "Events per group-commit transaction.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000},
		}),
		batchRequests: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "auditlog_ingest_batch_requests",
			Help:    "Write requests sharing one group-commit transaction.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "auditlog_ingest_queue_wait_seconds",
			Help:    "Time a write request waited in the ingest queue before its transaction began.",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "auditlog_ingest_commit_seconds",
			Help:    "Time one group-commit transaction took, from its start to its commit or failure.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_ingest_rejected_events_total",
			Help: "Events refused before queueing: reason queue_full (answered 503) or closed (the process is stopping).",
		}, []string{"reason"}),
		limits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_ratelimit_decisions_total",
			Help: "Rate-limit decisions, by bucket (login-ip, login-account, reads, ingest, signup-ip) and decision (allowed or refused: answered 429).",
		}, []string{"bucket", "decision"}),
		signed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auditlog_checkpoints_signed_total",
			Help: "Checkpoints signed: one per account's log per committed append.",
		}),
		signDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "auditlog_checkpoint_sign_seconds",
			Help:    "Time to sign one checkpoint.",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01},
		}),
		witness: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_witness_requests_total",
			Help: "Requests to witnesses to cosign a checkpoint, by witness (a configured one's key name and ID) and result: cosigned, refused (the log does not extend what it cosigned before), failed (not reached or an error answer; retried).",
		}, []string{"witness", "result"}),
		verify: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_log_verifications_total",
			Help: "Verifications of an account's stored log (GET /api/audit-logs/verify and its other surfaces), by result: ok, failed (the log failed a check), error (could not check).",
		}, []string{"result"}),
		dbErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_db_errors_total",
			Help: "Database errors, by engine and class: unavailable (connection lost or refused, timeout), full (no disk space), conflict (unique or foreign key violation), retry (deadlock, lock timeout, serialization failure, busy), other.",
		}, []string{"engine", "class"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration,
		m.ingestEvents, m.ingestFailed, m.batchEvents, m.batchRequests, m.queueWait, m.commitDuration, m.rejected,
		m.limits, m.signed, m.signDuration, m.witness, m.verify, m.dbErrors,
	)
	// Fixed label values show from the start, at 0, so that rate() sees
	// the first increase.
	m.rejected.WithLabelValues("queue_full")
	m.rejected.WithLabelValues("closed")
	for _, r := range VerifyResults {
		m.verify.WithLabelValues(r)
	}
	return m
}

// Registry returns the registry, for tests and for collectors of other
// packages.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format (or the
// protobuf or OpenMetrics format a scraper asks for).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Instrument counts and times the requests h serves. The route label is
// the pattern of the ServeMux that served the request (net/http sets
// Request.Pattern on the request it was given), or Unmatched.
func (m *Metrics) Instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" {
				route = Unmatched
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK // net/http's answer to a handler that wrote nothing
			}
			m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		h.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the first status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (sr *statusRecorder) WriteHeader(code int) {
	if sr.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		sr.status = code
	}
	sr.ResponseWriter.WriteHeader(code)
}

func (sr *statusRecorder) Write(b []byte) (int, error) {
	if sr.status == 0 {
		sr.status = http.StatusOK
	}
	return sr.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (flushes, deadlines) and the
// WebSocket upgrade reach the underlying writer.
func (sr *statusRecorder) Unwrap() http.ResponseWriter { return sr.ResponseWriter }

// IngestObserver returns what the ingest writer reports its batches and
// refusals to (ingest.Options.Observer).
func (m *Metrics) IngestObserver() ingest.Observer { return ingestObserver{m} }

type ingestObserver struct{ m *Metrics }

func (o ingestObserver) Batch(b ingest.BatchStats) {
	m := o.m
	m.batchEvents.Observe(float64(b.Events))
	m.batchRequests.Observe(float64(len(b.Waits)))
	for _, w := range b.Waits {
		m.queueWait.Observe(w.Seconds())
	}
	m.commitDuration.Observe(b.Commit.Seconds())
	m.ingestEvents.Add(float64(b.Committed))
	m.ingestFailed.Add(float64(b.Events - b.Committed))
}

func (o ingestObserver) Rejected(events int, err error) {
	reason := "queue_full"
	if errors.Is(err, ingest.ErrClosed) {
		reason = "closed"
	}
	o.m.rejected.WithLabelValues(reason).Add(float64(events))
}

// RateLimited counts one rate-limit decision of bucket, allowed or not.
// Bucket names are the app's policies, a fixed set.
func (m *Metrics) RateLimited(bucket string, allowed bool) {
	decision := "refused"
	if allowed {
		decision = "allowed"
	}
	m.limits.WithLabelValues(bucket, decision).Inc()
}

// CheckpointSigned counts one checkpoint signed in d.
func (m *Metrics) CheckpointSigned(d time.Duration) {
	m.signed.Inc()
	m.signDuration.Observe(d.Seconds())
}

// AddWitnesses shows the series of the configured witnesses (by ID: key
// name and key ID) at 0. Their number is bounded by the configuration.
func (m *Metrics) AddWitnesses(ids []string) {
	for _, id := range ids {
		for _, r := range WitnessResults {
			m.witness.WithLabelValues(id, r)
		}
	}
}

// WitnessResult counts one request to the witness id (a configured one)
// with its result, one of WitnessResults.
func (m *Metrics) WitnessResult(id, result string) {
	m.witness.WithLabelValues(id, result).Inc()
}

// Verified counts one verification of a stored log with its result, one
// of VerifyResults.
func (m *Metrics) Verified(result string) {
	m.verify.WithLabelValues(result).Inc()
}

// DatabaseError counts one database error of the engine, of one of
// DatabaseErrorClasses.
func (m *Metrics) DatabaseError(engine, class string) {
	m.dbErrors.WithLabelValues(engine, class).Inc()
}

// GaugeFunc registers a gauge whose value fn returns at each scrape, such
// as the ingest queue's depth or the live connections.
func (m *Metrics) GaugeFunc(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// AddDatabase registers the statistics of a database's connection pools,
// read at each scrape from stats, with the label engine (sqlite, postgres
// or mysql).
func (m *Metrics) AddDatabase(engine string, stats func() sql.DBStats) {
	m.reg.MustRegister(dbCollector{stats: stats, engine: engine})
	for _, c := range DatabaseErrorClasses {
		m.dbErrors.WithLabelValues(engine, c)
	}
}

var (
	dbLabels      = []string{"engine"}
	dbMaxOpen     = prometheus.NewDesc("auditlog_db_max_open_connections", "Most connections the pools may open (0: no limit).", dbLabels, nil)
	dbOpen        = prometheus.NewDesc("auditlog_db_open_connections", "Connections open, in use or idle.", dbLabels, nil)
	dbInUse       = prometheus.NewDesc("auditlog_db_in_use_connections", "Connections in use.", dbLabels, nil)
	dbIdle        = prometheus.NewDesc("auditlog_db_idle_connections", "Idle connections.", dbLabels, nil)
	dbWaits       = prometheus.NewDesc("auditlog_db_wait_count_total", "Times a query waited for a free connection.", dbLabels, nil)
	dbWaitSeconds = prometheus.NewDesc("auditlog_db_wait_seconds_total", "Time spent waiting for a free connection.", dbLabels, nil)
	dbClosedIdle  = prometheus.NewDesc("auditlog_db_closed_max_idle_total", "Connections closed because too many were idle.", dbLabels, nil)
	dbClosedLife  = prometheus.NewDesc("auditlog_db_closed_max_lifetime_total", "Connections closed because they reached their maximum lifetime or idle time.", dbLabels, nil)
)

// dbCollector reports sql.DBStats at each scrape.
type dbCollector struct {
	stats  func() sql.DBStats
	engine string
}

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbMaxOpen, dbOpen, dbInUse, dbIdle, dbWaits, dbWaitSeconds, dbClosedIdle, dbClosedLife} {
		ch <- d
	}
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, c.engine)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, c.engine)
	}
	gauge(dbMaxOpen, float64(s.MaxOpenConnections))
	gauge(dbOpen, float64(s.OpenConnections))
	gauge(dbInUse, float64(s.InUse))
	gauge(dbIdle, float64(s.Idle))
	counter(dbWaits, float64(s.WaitCount))
	counter(dbWaitSeconds, s.WaitDuration.Seconds())
	counter(dbClosedIdle, float64(s.MaxIdleClosed))
	counter(dbClosedLife, float64(s.MaxLifetimeClosed+s.MaxIdleTimeClosed))
}
