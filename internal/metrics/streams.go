package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Streams to SIEM tools. A stream's ID is unbounded, so no series names
// one: the delivery counters are by stream type (webhook, splunk_hec,
// datadog) and failure class, and the backlog is aggregated over the
// streams of each type and state, at most 3 × 3 series per gauge.

// StreamTypes and StreamStates are the label values of the stream series,
// all shown from the start (audit.StreamTypes and the stream states).
var (
	StreamTypes  = []string{"webhook", "splunk_hec", "datadog"}
	StreamStates = []string{"active", "paused", "dead"}
)

// StreamBacklog is one stream's distance behind its account's log, as
// the backlog reader returns it.
type StreamBacklog struct {
	Type, State string
	// Events past the stream's cursor; Oldest is when the first of them
	// was recorded (zero when none waits).
	Events int64
	Oldest time.Time
}

// streamMetrics are the delivery counters.
type streamMetrics struct {
	events   *prometheus.CounterVec
	batches  *prometheus.CounterVec
	failures *prometheus.CounterVec
	dead     *prometheus.CounterVec
}

func newStreamMetrics(reg *prometheus.Registry, classes []string) streamMetrics {
	sm := streamMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_stream_delivered_events_total",
			Help: "Events this process delivered to streams (the destination answered 2xx), by stream type.",
		}, []string{"type"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_stream_delivered_batches_total",
			Help: "Batches this process delivered to streams (the destination answered 2xx), by stream type.",
		}, []string{"type"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_stream_failures_total",
			Help: "Deliveries to streams that failed, by stream type and class (http_429, http_4xx, http_5xx, http_other, timeout, refused, dns, tls, connect, other).",
		}, []string{"type", "class"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auditlog_stream_dead_lettered_total",
			Help: "Streams this process marked dead after too many failures in a row, by stream type.",
		}, []string{"type"}),
	}
	reg.MustRegister(sm.events, sm.batches, sm.failures, sm.dead)
	for _, t := range StreamTypes {
		sm.events.WithLabelValues(t)
		sm.batches.WithLabelValues(t)
		sm.dead.WithLabelValues(t)
		for _, c := range classes {
			sm.failures.WithLabelValues(t, c)
		}
	}
	return sm
}

// StreamObserver is what the stream engine tells of its deliveries
// (stream.Observer).
type StreamObserver struct{ m streamMetrics }

// StreamObserver returns the observer of the stream engine, with the
// failure classes it reports (stream.FailureClasses) shown at 0.
func (m *Metrics) StreamObserver(classes []string) StreamObserver {
	m.streamOnce.Do(func() { m.streams = newStreamMetrics(m.reg, classes) })
	return StreamObserver{m.streams}
}

// Delivered counts a batch of events accepted.
func (o StreamObserver) Delivered(streamType string, events int) {
	o.m.events.WithLabelValues(streamType).Add(float64(events))
	o.m.batches.WithLabelValues(streamType).Inc()
}

// Failed counts a failed delivery, and a dead-lettering.
func (o StreamObserver) Failed(streamType, class string, dead bool) {
	o.m.failures.WithLabelValues(streamType, class).Inc()
	if dead {
		o.m.dead.WithLabelValues(streamType).Inc()
	}
}

var (
	streamLabels       = []string{"type", "state"}
	streamCount        = prometheus.NewDesc("auditlog_streams", "Streams of every account, by type and state (the database's view: the same from every process).", streamLabels, nil)
	streamBacklog      = prometheus.NewDesc("auditlog_stream_backlog_events", "Events recorded and not yet delivered, summed over the streams of each type and state.", streamLabels, nil)
	streamLagEvents    = prometheus.NewDesc("auditlog_stream_lag_events_max", "Events the stream furthest behind has yet to deliver, among those of each type and state.", streamLabels, nil)
	streamLagSeconds   = prometheus.NewDesc("auditlog_stream_lag_seconds_max", "Age of the oldest event not yet delivered by any stream of each type and state (0 when all are caught up).", streamLabels, nil)
	streamBacklogError = prometheus.NewDesc("auditlog_stream_backlog_read_errors_total", "Scrapes whose read of the streams' backlog failed (the backlog series then repeat the last read).", nil, nil)
)

// AddStreamBacklog registers the streams' backlog gauges, read with read
// at a scrape, at most once every minEvery (the read scans the streams
// table; several processes scraped at once share its cost less).
func (m *Metrics) AddStreamBacklog(read func(context.Context) ([]StreamBacklog, error), minEvery time.Duration) {
	m.reg.MustRegister(&backlogCollector{read: read, every: minEvery, now: time.Now})
}

// backlogCollector reports the streams' backlog, cached for every.
type backlogCollector struct {
	read  func(context.Context) ([]StreamBacklog, error)
	every time.Duration
	now   func() time.Time

	mu     sync.Mutex
	at     time.Time
	last   []StreamBacklog
	errors int
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{streamCount, streamBacklog, streamLagEvents, streamLagSeconds, streamBacklogError} {
		ch <- d
	}
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.at.IsZero() || now.Sub(c.at) >= c.every {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rows, err := c.read(ctx)
		cancel()
		if err != nil {
			c.errors++
		} else {
			c.last, c.at = rows, now
		}
	}
	type agg struct {
		count, sum, maxEvents int64
		oldest                time.Time
	}
	aggs := map[[2]string]*agg{}
	for _, t := range StreamTypes {
		for _, s := range StreamStates {
			aggs[[2]string{t, s}] = &agg{}
		}
	}
	for _, b := range c.last {
		a := aggs[[2]string{b.Type, b.State}]
		if a == nil {
			continue
		}
		a.count++
		a.sum += b.Events
		a.maxEvents = max(a.maxEvents, b.Events)
		if b.Events > 0 && !b.Oldest.IsZero() && (a.oldest.IsZero() || b.Oldest.Before(a.oldest)) {
			a.oldest = b.Oldest
		}
	}
	for k, a := range aggs {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, k[0], k[1])
		}
		gauge(streamCount, float64(a.count))
		gauge(streamBacklog, float64(a.sum))
		gauge(streamLagEvents, float64(a.maxEvents))
		lag := 0.0
		if !a.oldest.IsZero() {
			lag = max(now.Sub(a.oldest).Seconds(), 0)
		}
		gauge(streamLagSeconds, lag)
	}
	ch <- prometheus.MustNewConstMetric(streamBacklogError, prometheus.CounterValue, float64(c.errors))
}
