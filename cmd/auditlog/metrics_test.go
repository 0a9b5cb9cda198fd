package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetrics serves with --metrics-addr, makes API requests, opens a
// live stream, and scrapes /metrics from the metrics listener: the series
// of each area are there with the values the requests imply, routes are
// patterns (never paths with ids), no label holds an id, and the API's
// own listener does not serve the metrics.
func TestMetrics(t *testing.T) {
	t.Chdir(t.TempDir())
	maddr := freeAddr(t)
	addr, stop := startServe(t, envMap(map[string]string{"AUDITLOG_ENV": "development", "RATE_LIMIT_SIGNUP": "1/1h"}), "http://", "--metrics-addr", maddr)
	base := "http://" + addr
	key := liveKey(t, base)

	do := func(method, url, body string, want int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := testHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, b)
		}
		return b
	}
	const posted = 5
	var first struct {
		AuditLog struct {
			ID int64 `json:"id"`
		} `json:"audit_log"`
	}
	for i := range posted {
		b := do("POST", base+"/api/audit-logs", fmt.Sprintf(`{"action":"order.created","metadata":{"n":%d}}`, i), http.StatusCreated)
		if i == 0 {
			if err := json.Unmarshal(b, &first); err != nil || first.AuditLog.ID == 0 {
				t.Fatalf("POST /api/audit-logs: %v, no id in %s", err, b)
			}
		}
	}
	do("GET", base+"/api/audit-logs/"+strconv.FormatInt(first.AuditLog.ID, 10), "", http.StatusOK)
	do("GET", base+"/api/audit-logs/987654321", "", http.StatusNotFound)
	do("GET", base+"/api/no-such-route/42", "", http.StatusNotFound)
	if b := do("GET", base+"/metrics", "", http.StatusNotFound); strings.Contains(string(b), "auditlog_http_requests_total") {
		t.Errorf("the API's listener serves the metrics")
	}
	// The sign-up bucket (1/1h) is empty after liveKey's sign-up.
	do("POST", base+"/api/accounts", `{"name":"Second","domain":"second.example.com","owner_email":"o@second.example.com","owner_password":"correct horse battery staple"}`, http.StatusTooManyRequests)
	dialLive(t, base, key)

	resp, err := testHTTP.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse the scrape: %v", err)
	}

	tests := []struct {
		name   string
		labels map[string]string
		check  func(v float64) bool
		want   string
	}{
		{"auditlog_http_requests_total", map[string]string{"route": "POST /api/audit-logs", "code": "201"}, eq(posted), "5"},
		{"auditlog_http_requests_total", map[string]string{"route": "GET /api/audit-logs/{id}", "code": "200"}, eq(1), "1"},
		{"auditlog_http_requests_total", map[string]string{"route": "GET /api/audit-logs/{id}", "code": "404"}, eq(1), "1"},
		{"auditlog_http_requests_total", map[string]string{"route": "POST /api/accounts", "code": "201"}, eq(1), "1"},
		{"auditlog_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}, eq(1), "1"},
		{"auditlog_http_requests_total", map[string]string{"route": "POST /api/accounts", "code": "429"}, eq(1), "1"},
		{"auditlog_ratelimit_decisions_total", map[string]string{"bucket": "ingest", "decision": "allowed"}, eq(posted), "5"},
		{"auditlog_ratelimit_decisions_total", map[string]string{"bucket": "signup-ip", "decision": "allowed"}, eq(1), "1"},
		{"auditlog_ratelimit_decisions_total", map[string]string{"bucket": "signup-ip", "decision": "refused"}, eq(1), "1"},
		{"auditlog_http_request_duration_seconds", map[string]string{"route": "POST /api/audit-logs"}, eq(posted), "5 observations"},
		{"auditlog_ingest_events_total", nil, atLeast(posted), ">= 5"},
		{"auditlog_ingest_batch_events", nil, atLeast(1), ">= 1 batch"},
		{"auditlog_ingest_batch_requests", nil, atLeast(1), ">= 1 batch"},
		{"auditlog_ingest_queue_wait_seconds", nil, atLeast(posted), ">= 5 requests"},
		{"auditlog_ingest_commit_seconds", nil, atLeast(1), ">= 1 batch"},
		{"auditlog_ingest_failed_events_total", nil, eq(0), "0"},
		{"auditlog_ingest_rejected_events_total", map[string]string{"reason": "queue_full"}, eq(0), "0"},
		{"auditlog_ingest_queued_events", nil, eq(0), "0"},
		{"auditlog_live_watchers", nil, eq(1), "1"},
		{"auditlog_db_open_connections", map[string]string{"engine": "sqlite"}, atLeast(1), ">= 1"},
		{"auditlog_db_wait_count_total", map[string]string{"engine": "sqlite"}, atLeast(0), ">= 0"},
		{"go_goroutines", nil, atLeast(1), ">= 1"},
		{"process_resident_memory_bytes", nil, atLeast(1), "> 0"},
	}
	for _, tt := range tests {
		v, ok := value(families[tt.name], tt.labels)
		if !ok {
			t.Errorf("%s%v: no such series", tt.name, tt.labels)
			continue
		}
		if !tt.check(v) {
			t.Errorf("%s%v = %v; want %s", tt.name, tt.labels, v, tt.want)
		}
	}

	// Bounded labels: the service's series have only the documented
	// labels; routes are patterns, with no path segment of digits (the
	// events' and the account's ids are numbers); no label value holds the
	// key, the account's domain or a part of a requested path.
	allowed := map[string]bool{"route": true, "code": true, "reason": true, "engine": true, "le": true, "bucket": true, "decision": true}
	forbidden := []string{key, "live.example.com", "987654321", "no-such-route"}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if strings.HasPrefix(name, "auditlog_") && !allowed[l.GetName()] {
					t.Errorf("%s: label %s; want only %v", name, l.GetName(), allowed)
				}
				for _, bad := range forbidden {
					if strings.Contains(v, bad) {
						t.Errorf("%s: label %s=%q holds %q", name, l.GetName(), v, bad)
					}
				}
				if l.GetName() == "route" {
					for _, seg := range strings.Split(v, "/") {
						if _, err := strconv.Atoi(seg); err == nil {
							t.Errorf("%s: route %q has a path segment of digits", name, v)
						}
					}
				}
			}
		}
	}
	stop()
}

// value returns the value of the series of f with labels (a counter's,
// a gauge's, or a histogram's count of observations).
func value(f *dto.MetricFamily, labels map[string]string) (float64, bool) {
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func eq(want float64) func(float64) bool      { return func(v float64) bool { return v == want } }
func atLeast(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }

// freeAddr returns a loopback address with a port free at the time.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
