package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/metrics"
	"github.com/auditlog/auditlog/internal/stream"
	"github.com/auditlog/auditlog/internal/tlog"
	"github.com/auditlog/auditlog/internal/witness"
	"github.com/auditlog/auditlog/internal/witness/witnesstest"
)

// TestMetrics serves with --metrics-addr, makes API requests, opens a
// live stream, and scrapes /metrics from the metrics listener: the series
// of each area are there with the values the requests imply, routes are
// patterns (never paths with ids), no label holds an id, and the API's
// own listener does not serve the metrics.
func TestMetrics(t *testing.T) {
	t.Chdir(t.TempDir())
	maddr := freeAddr(t)
	// Two witnesses: one that cosigns, one that cannot be reached.
	skey, vkey, err := tlog.GenerateKey("metrics.example.com")
	if err != nil {
		t.Fatal(err)
	}
	wurl, wkey := witnesstest.Start(t, "w1.example.org", vkey)
	_, deadKey, err := witness.GenerateKey("w2.example.org")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + freeAddr(t)
	addr, stop := startServe(t, envMap(map[string]string{
		"AUDITLOG_ENV": "development", "RATE_LIMIT_SIGNUP": "1/1h", "SIGNING_KEY": skey,
		"WITNESSES": wurl + " " + wkey + ", " + dead + " " + deadKey, "WITNESS_QUORUM": "1",
	}), "http://", "--metrics-addr", maddr)
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
	do("GET", base+"/api/audit-logs/verify", "", http.StatusOK)
	dialLive(t, base, key)

	w1, w2 := witnessID(t, wkey), witnessID(t, deadKey)
	var families map[string]*dto.MetricFamily
	waitFor(t, "the witnesses' answers counted", func() bool {
		families = scrape(t, maddr)
		cosigned, _ := value(families["auditlog_witness_requests_total"], map[string]string{"witness": w1, "result": "cosigned"})
		failed, _ := value(families["auditlog_witness_requests_total"], map[string]string{"witness": w2, "result": "failed"})
		return cosigned >= 1 && failed >= 1
	})

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
		{"auditlog_checkpoints_signed_total", nil, atLeast(posted + 1), ">= 6 (the sign-up's events and each POST)"},
		{"auditlog_checkpoint_sign_seconds", nil, atLeast(posted + 1), ">= 6 observations"},
		{"auditlog_log_verifications_total", map[string]string{"result": "ok"}, eq(1), "1"},
		{"auditlog_log_verifications_total", map[string]string{"result": "failed"}, eq(0), "0"},
		{"auditlog_witness_requests_total", map[string]string{"witness": w1, "result": "refused"}, eq(0), "0"},
		{"auditlog_witness_requests_total", map[string]string{"witness": w1, "result": "failed"}, eq(0), "0"},
		{"auditlog_witness_requests_total", map[string]string{"witness": w2, "result": "cosigned"}, eq(0), "0"},
		{"auditlog_db_errors_total", map[string]string{"engine": "sqlite", "class": "unavailable"}, eq(0), "0"},
		{"auditlog_db_errors_total", map[string]string{"engine": "sqlite", "class": "other"}, eq(0), "0"},
		{"auditlog_stream_delivered_events_total", map[string]string{"type": "webhook"}, eq(0), "0"},
		{"auditlog_stream_delivered_batches_total", map[string]string{"type": "datadog"}, eq(0), "0"},
		{"auditlog_stream_failures_total", map[string]string{"type": "splunk_hec", "class": "http_5xx"}, eq(0), "0"},
		{"auditlog_stream_dead_lettered_total", map[string]string{"type": "webhook"}, eq(0), "0"},
		{"auditlog_streams", map[string]string{"type": "webhook", "state": "active"}, eq(0), "0"},
		{"auditlog_stream_backlog_events", map[string]string{"type": "webhook", "state": "dead"}, eq(0), "0"},
		{"auditlog_stream_lag_events_max", map[string]string{"type": "datadog", "state": "active"}, eq(0), "0"},
		{"auditlog_stream_lag_seconds_max", map[string]string{"type": "splunk_hec", "state": "paused"}, eq(0), "0"},
		{"auditlog_stream_backlog_read_errors_total", nil, eq(0), "0"},
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
	allowed := map[string]bool{"route": true, "code": true, "reason": true, "engine": true, "le": true, "bucket": true, "decision": true,
		"witness": true, "result": true, "class": true, "type": true, "state": true}
	bounded := map[string][]string{"witness": {w1, w2}, "result": append(metrics.WitnessResults, metrics.VerifyResults...),
		"class": append(slices.Clone(metrics.DatabaseErrorClasses), stream.FailureClasses...), "type": metrics.StreamTypes, "state": metrics.StreamStates}
	forbidden := []string{key, "live.example.com", "987654321", "no-such-route"}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if strings.HasPrefix(name, "auditlog_") && !allowed[l.GetName()] {
					t.Errorf("%s: label %s; want only %v", name, l.GetName(), allowed)
				}
				if want, ok := bounded[l.GetName()]; ok && !slices.Contains(want, v) {
					t.Errorf("%s: label %s=%q; want one of %q", name, l.GetName(), v, want)
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
	checkOperationsExamples(t, families)
	stop()
}

// scrape returns the metrics served at maddr.
func scrape(t *testing.T, maddr string) map[string]*dto.MetricFamily {
	t.Helper()
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
	return families
}

// witnessID returns the ID a witness of verifier key vkey has in the
// service (app.Witness.ID): its key name and key ID.
func witnessID(t *testing.T, vkey string) string {
	t.Helper()
	ws, err := app.NewWitnesses([]config.Witness{{URL: "http://x", Key: vkey}})
	if err != nil {
		t.Fatal(err)
	}
	return ws[0].ID
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

// metricName finds the metric names in a PromQL expression.
var metricName = regexp.MustCompile(`\b(?:auditlog|go|process)_[a-z0-9_]+\b`)

// checkOperationsExamples checks the example alert rules and the Grafana
// dashboard of docs/operations against a live scrape (families): the
// rules file parses as YAML with every rule named, with an expression,
// a severity and a summary; the dashboard is JSON; and every metric an
// expression names is served (promtool is not at hand to check more), with
// balanced brackets.
func checkOperationsExamples(t *testing.T, families map[string]*dto.MetricFamily) {
	t.Helper()
	var exprs []string
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs/operations/alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr, For    string
				Labels, Annotations map[string]string
			}
		}
	}
	if err := yaml.UnmarshalStrict(b, &rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alerts.yml: rule %q: want alert, expr, labels.severity and annotations.summary", r.Alert)
			}
			if _, err := time.ParseDuration(r.For); r.For != "" && err != nil {
				t.Errorf("alerts.yml: rule %q: for: %v", r.Alert, err)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	if alerts < 9 {
		t.Errorf("alerts.yml: %d rules; want at least 9", alerts)
	}

	b, err = os.ReadFile(filepath.Join(repoRoot(t), "docs/operations/grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string
		Targets []struct{ Expr string }
	}
	var dash struct {
		Title  string
		Panels []panel
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, e := range exprs {
		names := metricName.FindAllString(e, -1)
		if len(names) == 0 {
			t.Errorf("%q names no metric", e)
		}
		for _, n := range names {
			base := n
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if families[base] == nil {
					base = strings.TrimSuffix(n, suffix)
				}
			}
			if families[base] == nil {
				t.Errorf("%q: no metric %s in the scrape", e, n)
			}
		}
		for _, br := range []string{"()", "{}", "[]"} {
			if strings.Count(e, br[:1]) != strings.Count(e, br[1:]) {
				t.Errorf("%q: unbalanced %s", e, br)
			}
		}
	}
}

// repoRoot returns the module's root directory (tests may have changed
// the working directory).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}
