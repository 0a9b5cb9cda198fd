package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/auditlog/auditlog/internal/metrics"
)

// TestInstrument serves requests through Instrument around a ServeMux and
// checks the route and code each is counted under: the matched pattern,
// never the path; unmatched paths under one label; the first final status,
// not an informational one; 200 for a handler that writes nothing. Flushes
// still reach the connection through the recorder.
func TestInstrument(t *testing.T) {
	m := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "404" {
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("POST /hints", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusAccepted)
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the recorder: %v", err)
		}
	})
	srv := httptest.NewServer(m.Instrument(mux))
	defer srv.Close()
	for _, req := range []struct{ method, path string }{
		{"GET", "/items/1"}, {"GET", "/items/2"}, {"GET", "/items/404"}, {"GET", "/nothing/here"}, {"POST", "/hints"},
	} {
		r, _ := http.NewRequest(req.method, srv.URL+req.path, nil)
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	want := `
# HELP auditlog_http_requests_total HTTP requests answered, by route pattern and status code.
# TYPE auditlog_http_requests_total counter
auditlog_http_requests_total{code="200",route="GET /items/{id}"} 2
auditlog_http_requests_total{code="202",route="POST /hints"} 1
auditlog_http_requests_total{code="404",route="GET /items/{id}"} 1
auditlog_http_requests_total{code="404",route="unmatched"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "auditlog_http_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.Registry(), "auditlog_http_request_duration_seconds"); n != 3 {
		t.Errorf("%d latency series; want 3, one per route", n)
	}
}

// BenchmarkInstrument measures what Instrument adds to a request: a
// counter and a histogram observation, and the status recorder.
func BenchmarkInstrument(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", mux}, {"instrumented", metrics.New().Instrument(mux)}} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/items/7", nil)
			w := httptest.NewRecorder()
			for b.Loop() {
				bc.h.ServeHTTP(w, r)
			}
		})
	}
}

// TestStreams: the delivery counters by type and class, and the backlog
// aggregated by type and state (count, sum, furthest behind, oldest
// waiting event), every series present at 0 from the start, and the
// backlog read at most once per period.
func TestStreams(t *testing.T) {
	m := metrics.New()
	o := m.StreamObserver([]string{"http_5xx", "timeout"})
	o.Delivered("webhook", 500)
	o.Delivered("webhook", 20)
	o.Failed("datadog", "http_5xx", false)
	o.Failed("datadog", "timeout", true)
	now := time.Now()
	reads := 0
	m.AddStreamBacklog(func(context.Context) ([]metrics.StreamBacklog, error) {
		reads++
		return []metrics.StreamBacklog{
			{Type: "webhook", State: "active", Events: 0},
			{Type: "webhook", State: "active", Events: 40, Oldest: now.Add(-90 * time.Second)},
			{Type: "webhook", State: "active", Events: 7, Oldest: now.Add(-30 * time.Second)},
			{Type: "datadog", State: "dead", Events: 1200, Oldest: now.Add(-time.Hour)},
		}, nil
	}, time.Hour)
	want := `
# HELP auditlog_stream_delivered_events_total Events this process delivered to streams (the destination answered 2xx), by stream type.
# TYPE auditlog_stream_delivered_events_total counter
auditlog_stream_delivered_events_total{type="datadog"} 0
auditlog_stream_delivered_events_total{type="splunk_hec"} 0
auditlog_stream_delivered_events_total{type="webhook"} 520
# HELP auditlog_stream_delivered_batches_total Batches this process delivered to streams (the destination answered 2xx), by stream type.
# TYPE auditlog_stream_delivered_batches_total counter
auditlog_stream_delivered_batches_total{type="datadog"} 0
auditlog_stream_delivered_batches_total{type="splunk_hec"} 0
auditlog_stream_delivered_batches_total{type="webhook"} 2
# HELP auditlog_stream_dead_lettered_total Streams this process marked dead after too many failures in a row, by stream type.
# TYPE auditlog_stream_dead_lettered_total counter
auditlog_stream_dead_lettered_total{type="datadog"} 1
auditlog_stream_dead_lettered_total{type="splunk_hec"} 0
auditlog_stream_dead_lettered_total{type="webhook"} 0
# HELP auditlog_stream_failures_total Deliveries to streams that failed, by stream type and class (http_429, http_4xx, http_5xx, http_other, timeout, refused, dns, tls, connect, other).
# TYPE auditlog_stream_failures_total counter
auditlog_stream_failures_total{class="http_5xx",type="datadog"} 1
auditlog_stream_failures_total{class="http_5xx",type="splunk_hec"} 0
auditlog_stream_failures_total{class="http_5xx",type="webhook"} 0
auditlog_stream_failures_total{class="timeout",type="datadog"} 1
auditlog_stream_failures_total{class="timeout",type="splunk_hec"} 0
auditlog_stream_failures_total{class="timeout",type="webhook"} 0
# HELP auditlog_streams Streams of every account, by type and state (the database's view: the same from every process).
# TYPE auditlog_streams gauge
auditlog_streams{state="active",type="datadog"} 0
auditlog_streams{state="active",type="splunk_hec"} 0
auditlog_streams{state="active",type="webhook"} 3
auditlog_streams{state="dead",type="datadog"} 1
auditlog_streams{state="dead",type="splunk_hec"} 0
auditlog_streams{state="dead",type="webhook"} 0
auditlog_streams{state="paused",type="datadog"} 0
auditlog_streams{state="paused",type="splunk_hec"} 0
auditlog_streams{state="paused",type="webhook"} 0
# HELP auditlog_stream_backlog_events Events recorded and not yet delivered, summed over the streams of each type and state.
# TYPE auditlog_stream_backlog_events gauge
auditlog_stream_backlog_events{state="active",type="datadog"} 0
auditlog_stream_backlog_events{state="active",type="splunk_hec"} 0
auditlog_stream_backlog_events{state="active",type="webhook"} 47
auditlog_stream_backlog_events{state="dead",type="datadog"} 1200
auditlog_stream_backlog_events{state="dead",type="splunk_hec"} 0
auditlog_stream_backlog_events{state="dead",type="webhook"} 0
auditlog_stream_backlog_events{state="paused",type="datadog"} 0
auditlog_stream_backlog_events{state="paused",type="splunk_hec"} 0
auditlog_stream_backlog_events{state="paused",type="webhook"} 0
# HELP auditlog_stream_lag_events_max Events the stream furthest behind has yet to deliver, among those of each type and state.
# TYPE auditlog_stream_lag_events_max gauge
auditlog_stream_lag_events_max{state="active",type="datadog"} 0
auditlog_stream_lag_events_max{state="active",type="splunk_hec"} 0
auditlog_stream_lag_events_max{state="active",type="webhook"} 40
auditlog_stream_lag_events_max{state="dead",type="datadog"} 1200
auditlog_stream_lag_events_max{state="dead",type="splunk_hec"} 0
auditlog_stream_lag_events_max{state="dead",type="webhook"} 0
auditlog_stream_lag_events_max{state="paused",type="datadog"} 0
auditlog_stream_lag_events_max{state="paused",type="splunk_hec"} 0
auditlog_stream_lag_events_max{state="paused",type="webhook"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"auditlog_stream_delivered_events_total", "auditlog_stream_delivered_batches_total", "auditlog_stream_dead_lettered_total", "auditlog_stream_failures_total",
		"auditlog_streams", "auditlog_stream_backlog_events", "auditlog_stream_lag_events_max"); err != nil {
		t.Error(err)
	}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "auditlog_stream_lag_seconds_max" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			v := s.GetGauge().GetValue()
			switch {
			case labels["type"] == "webhook" && labels["state"] == "active":
				if v < 90 || v > 120 {
					t.Errorf("webhook active lag %v s; want about 90 (the oldest waiting event)", v)
				}
			case labels["type"] == "datadog" && labels["state"] == "dead":
				if v < 3600 || v > 3630 {
					t.Errorf("datadog dead lag %v s; want about 3600", v)
				}
			case v != 0:
				t.Errorf("lag %v s for %v; want 0", v, labels)
			}
		}
	}
	if reads != 1 {
		t.Errorf("the backlog was read %d times in two scrapes within its period; want once", reads)
	}
}
