package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
