package stream_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/stream"
)

// The receivers below read requests as Splunk's and Datadog's
// documentation describes them (docs/streams.md cites the pages), and
// refuse anything else with the status the product would answer.

// hecEvent is one event of a HEC request, as "Format events for HTTP
// Event Collector" lists its keys: time, host, source, sourcetype, index,
// fields and event (required).
type hecEvent struct {
	Time       json.Number                `json:"time"`
	Host       string                     `json:"host"`
	Source     string                     `json:"source"`
	SourceType string                     `json:"sourcetype"`
	Index      string                     `json:"index"`
	Fields     map[string]json.RawMessage `json:"fields"`
	Event      json.RawMessage            `json:"event"`
}

// hecReceiver is a Splunk HTTP Event Collector.
type hecReceiver struct {
	t     testing.TB
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	events   []hecEvent
	problems []string
}

func newHECReceiver(t testing.TB, token string) *hecReceiver {
	r := &hecReceiver{t: t, token: token}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hecReceiver) fail(w http.ResponseWriter, status int, problem string) {
	r.mu.Lock()
	r.problems = append(r.problems, problem)
	r.mu.Unlock()
	w.WriteHeader(status)
	io.WriteString(w, `{"text":"`+problem+`","code":6}`)
}

func (r *hecReceiver) serve(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method != http.MethodPost:
		r.fail(w, http.StatusMethodNotAllowed, "method "+req.Method)
		return
	case req.URL.Path != stream.SplunkPath:
		r.fail(w, http.StatusNotFound, "path "+req.URL.Path)
		return
	case req.Header.Get("Authorization") != "Splunk "+r.token:
		r.fail(w, http.StatusUnauthorized, "authorization "+req.Header.Get("Authorization"))
		return
	case req.Header.Get("Content-Encoding") != "":
		r.fail(w, http.StatusBadRequest, "content encoding "+req.Header.Get("Content-Encoding"))
		return
	}
	// A batch is event objects one after the other (whitespace between
	// them allowed); each is an object with only the documented keys.
	dec := json.NewDecoder(req.Body)
	var got []hecEvent
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			r.fail(w, http.StatusBadRequest, "not JSON objects one after the other: "+err.Error())
			return
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(raw, &keys); err != nil {
			r.fail(w, http.StatusBadRequest, "not an object: "+string(raw))
			return
		}
		for k := range keys {
			if !slices.Contains([]string{"time", "host", "source", "sourcetype", "index", "fields", "event"}, k) {
				r.fail(w, http.StatusBadRequest, "unknown key "+k)
				return
			}
		}
		var e hecEvent
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&e); err != nil {
			r.fail(w, http.StatusBadRequest, "event: "+err.Error())
			return
		}
		if len(e.Event) == 0 || string(e.Event) == "null" {
			r.fail(w, http.StatusBadRequest, "event field is required")
			return
		}
		if _, err := strconv.ParseFloat(string(e.Time), 64); err != nil || strings.ContainsAny(string(e.Time), "eE") {
			r.fail(w, http.StatusBadRequest, "time is not epoch seconds: "+string(e.Time))
			return
		}
		for k, v := range e.Fields {
			// Indexed fields: a string, or an array of strings.
			var one string
			var many []string
			if json.Unmarshal(v, &one) != nil && json.Unmarshal(v, &many) != nil {
				r.fail(w, http.StatusBadRequest, "field "+k+" is not a string")
				return
			}
		}
		got = append(got, e)
	}
	if len(got) == 0 {
		r.fail(w, http.StatusBadRequest, "no data")
		return
	}
	r.mu.Lock()
	r.events = append(r.events, got...)
	r.mu.Unlock()
	io.WriteString(w, `{"text":"Success","code":0}`)
}

// ddLog is one log of a Datadog logs intake request (API v2, "Send
// logs"): ddsource, ddtags, hostname, message, service, and any other key
// as an attribute.
type ddLog struct {
	Source    string `json:"ddsource"`
	Tags      string `json:"ddtags"`
	Hostname  string `json:"hostname"`
	Message   string `json:"message"`
	Service   string `json:"service"`
	Timestamp *int64 `json:"timestamp"`
}

// ddReceiver is Datadog's logs intake.
type ddReceiver struct {
	t   testing.TB
	srv *httptest.Server
	key string

	mu       sync.Mutex
	logs     []ddLog
	problems []string
}

func newDDReceiver(t testing.TB, key string) *ddReceiver {
	r := &ddReceiver{t: t, key: key}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *ddReceiver) fail(w http.ResponseWriter, status int, problem string) {
	r.mu.Lock()
	r.problems = append(r.problems, problem)
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *ddReceiver) serve(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method != http.MethodPost || req.URL.Path != stream.DatadogPath:
		r.fail(w, http.StatusNotFound, req.Method+" "+req.URL.Path)
		return
	case req.Header.Get("DD-API-KEY") != r.key:
		r.fail(w, http.StatusForbidden, "DD-API-KEY "+req.Header.Get("DD-API-KEY"))
		return
	case req.Header.Get("Content-Type") != "application/json":
		r.fail(w, http.StatusBadRequest, "content type "+req.Header.Get("Content-Type"))
		return
	}
	var body io.Reader = req.Body
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "gzip":
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			r.fail(w, http.StatusBadRequest, "not gzip: "+err.Error())
			return
		}
		body = zr
	case "", "identity":
	default:
		r.fail(w, http.StatusBadRequest, "content encoding "+enc)
		return
	}
	// At most 5 MB uncompressed.
	plain, err := io.ReadAll(io.LimitReader(body, 5<<20+1))
	if err != nil || len(plain) > 5<<20 {
		r.fail(w, http.StatusRequestEntityTooLarge, "payload too large or unreadable")
		return
	}
	var logs []ddLog
	if err := json.Unmarshal(plain, &logs); err != nil {
		r.fail(w, http.StatusBadRequest, "not an array of logs: "+err.Error())
		return
	}
	if len(logs) == 0 || len(logs) > 1000 {
		r.fail(w, http.StatusBadRequest, "array of "+strconv.Itoa(len(logs))+" logs")
		return
	}
	for _, l := range logs {
		for _, tag := range strings.Split(l.Tags, ",") {
			if k, v, ok := strings.Cut(tag, ":"); !ok || k == "" || v == "" {
				r.fail(w, http.StatusBadRequest, "ddtags "+l.Tags)
				return
			}
		}
		if l.Message == "" || l.Source == "" || l.Service == "" || l.Hostname == "" {
			r.fail(w, http.StatusBadRequest, "a log without message, ddsource, service or hostname")
			return
		}
	}
	r.mu.Lock()
	r.logs = append(r.logs, logs...)
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, "{}")
}

// TestSplunkFormat: a Splunk HEC stream delivers, to a collector that
// reads requests as HEC documents them, each event once with its
// created_at as epoch seconds with the microseconds, the service's name as
// host and account_id and seq as indexed fields, then the checkpoint; the
// test delivery too.
func TestSplunkFormat(t *testing.T) {
	t.Parallel()
	db := sqltest.OpenSQLite(t)
	f := newFixture(t, db)
	a, p := f.tenant("alpha")
	const token = "0a1b2c3d-4e5f-hec-token"
	r := newHECReceiver(t, token)
	s, _, err := f.app.CreateStream(t.Context(), p, origin, app.NewStream{Name: "splunk", Type: audit.StreamSplunk, URL: r.srv.URL + stream.SplunkPath, Secret: token})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.app.TestStream(t.Context(), p, s.ID, f.enc.Checkpoint); err != nil || !res.OK {
		t.Fatalf("test delivery: %+v, %v", res, err)
	}
	f.engine(db, stream.Options{Host: "audit.example.com", Batch: 7})
	f.appendEvents(db, a, "order.refunded", 20)
	size, _ := db.LogSize(t.Context(), a)
	events, err := db.EventsAfter(t.Context(), a, nil, s.Cursor, size, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []hecEvent
	waitUntil(t, "the collector to have every event", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		got = got[:0]
		for _, e := range r.events {
			if e.SourceType == "auditlog:event" {
				got = append(got, e)
			}
		}
		return len(got) >= len(events) || len(r.problems) > 0
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.problems) > 0 {
		t.Fatalf("the collector refused requests: %q", r.problems)
	}
	var kinds []string
	for _, e := range r.events {
		if !slices.Contains(kinds, e.SourceType) {
			kinds = append(kinds, e.SourceType)
		}
	}
	for _, want := range []string{"auditlog:test", "auditlog:event", "auditlog:checkpoint"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("sourcetypes %v; want %s among them", kinds, want)
		}
	}
	for i, e := range got[:len(events)] {
		want := events[i]
		var body struct {
			Seq       int64  `json:"seq"`
			Action    string `json:"action"`
			CreatedAt string `json:"created_at"`
		}
		json.Unmarshal(e.Event, &body)
		us := want.CreatedAt.UnixMicro()
		wantTime := strconv.FormatInt(us/1e6, 10) + "." + strconv.FormatInt(1e6+us%1e6, 10)[1:]
		if string(e.Time) != wantTime || e.Host != "audit.example.com" || e.Source != "auditlog" ||
			string(e.Fields["account_id"]) != strconv.Quote(strconv.FormatInt(a, 10)) ||
			string(e.Fields["seq"]) != strconv.Quote(strconv.FormatInt(want.Seq, 10)) ||
			body.Seq != want.Seq || body.Action != want.Action {
			t.Errorf("HEC event %d: time %s host %q source %q fields %s event seq %d %s; want time %s, seq %d %s",
				i, e.Time, e.Host, e.Source, e.Fields, body.Seq, body.Action, wantTime, want.Seq, want.Action)
		}
	}
}

// TestDatadogFormat: a Datadog stream delivers, gzipped, to an intake
// that reads requests as Datadog's "Send logs" documents them: each event
// once as a log whose message is the event's JSON, with ddsource, service,
// hostname, ddtags naming the account, and its created_at as timestamp;
// the checkpoint last; the test delivery too.
func TestDatadogFormat(t *testing.T) {
	t.Parallel()
	db := sqltest.OpenSQLite(t)
	f := newFixture(t, db)
	a, p := f.tenant("alpha")
	const key = "dd-0123456789abcdef"
	r := newDDReceiver(t, key)
	s, _, err := f.app.CreateStream(t.Context(), p, origin, app.NewStream{Name: "datadog", Type: audit.StreamDatadog, URL: r.srv.URL + stream.DatadogPath, Secret: key})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.app.TestStream(t.Context(), p, s.ID, f.enc.Checkpoint); err != nil || !res.OK {
		t.Fatalf("test delivery: %+v, %v", res, err)
	}
	f.engine(db, stream.Options{Host: "audit.example.com", Batch: 7})
	f.appendEvents(db, a, "order.refunded", 20)
	size, _ := db.LogSize(t.Context(), a)
	events, err := db.EventsAfter(t.Context(), a, nil, s.Cursor, size, 100)
	if err != nil {
		t.Fatal(err)
	}
	tags := "account_id:" + strconv.FormatInt(a, 10)
	var got []ddLog
	waitUntil(t, "the intake to have every event", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		got = got[:0]
		for _, l := range r.logs {
			if l.Tags == tags+",kind:event" {
				got = append(got, l)
			}
		}
		return len(got) >= len(events) || len(r.problems) > 0
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.problems) > 0 {
		t.Fatalf("the intake refused requests: %q", r.problems)
	}
	for _, kind := range []string{"test", "checkpoint"} {
		if !slices.ContainsFunc(r.logs, func(l ddLog) bool { return l.Tags == tags+",kind:"+kind }) {
			t.Errorf("no log tagged kind:%s", kind)
		}
	}
	for i, l := range got[:len(events)] {
		want := events[i]
		var body struct {
			Seq    int64  `json:"seq"`
			Action string `json:"action"`
		}
		if err := json.Unmarshal([]byte(l.Message), &body); err != nil {
			t.Errorf("log %d: message is not the event's JSON: %v", i, err)
		}
		if l.Source != "auditlog" || l.Service != "auditlog" || l.Hostname != "audit.example.com" ||
			l.Timestamp == nil || *l.Timestamp != want.CreatedAt.UnixMilli() || body.Seq != want.Seq || body.Action != want.Action {
			t.Errorf("log %d: %+v (event seq %d %s); want seq %d %s at %d", i, l, body.Seq, body.Action, want.Seq, want.Action, want.CreatedAt.UnixMilli())
		}
	}
}

// TestDatadogOldEvents: an event older than the intake accepts a date
// for (18 hours) goes without its timestamp, so that Datadog dates it on
// receipt instead of dropping it; a recent one carries it.
func TestDatadogOldEvents(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	b := &stream.Batch{StreamID: 1, AccountID: 7, Host: "audit.example.com",
		Events: []json.RawMessage{[]byte(`{"seq":1}`), []byte(`{"seq":2}`)},
		Seqs:   []int64{1, 2}, Times: []time.Time{now.Add(-20 * time.Hour), now.Add(-time.Hour)}}
	req, err := b.Request(t.Context(), &audit.Stream{Type: audit.StreamDatadog, URL: "https://intake.example.com" + stream.DatadogPath}, []byte("k"), now)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	var logs []ddLog
	if err := json.NewDecoder(zr).Decode(&logs); err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 || logs[0].Timestamp != nil || logs[1].Timestamp == nil || *logs[1].Timestamp != now.Add(-time.Hour).UnixMilli() {
		t.Errorf("logs %+v; want no timestamp on the 20-hour-old event and its own on the other", logs)
	}
}

// TestCheckFormatURL: Splunk and Datadog streams go to their product's
// documented endpoint; webhooks anywhere.
func TestCheckFormatURL(t *testing.T) {
	for _, c := range []struct {
		typ, url string
		ok       bool
	}{
		{audit.StreamSplunk, "https://splunk.example.com:8088/services/collector/event", true},
		{audit.StreamSplunk, "https://splunk.example.com:8088/services/collector/event/", true},
		{audit.StreamSplunk, "https://splunk.example.com:8088/services/collector/event/1.0", true},
		{audit.StreamSplunk, "https://proxy.example.com/splunk/services/collector/event", true},
		{audit.StreamSplunk, "https://splunk.example.com:8088/services/collector/raw", false},
		{audit.StreamSplunk, "https://splunk.example.com:8088/services/collector", false},
		{audit.StreamSplunk, "https://splunk.example.com:8088/", false},
		{audit.StreamDatadog, "https://http-intake.logs.datadoghq.com/api/v2/logs", true},
		{audit.StreamDatadog, "https://http-intake.logs.datadoghq.eu/api/v2/logs", true},
		{audit.StreamDatadog, "https://http-intake.logs.datadoghq.com/v1/input", false},
		{audit.StreamDatadog, "https://http-intake.logs.datadoghq.com/", false},
		{audit.StreamWebhook, "https://siem.example.com/anything", true},
	} {
		err := stream.CheckFormatURL(c.typ, c.url)
		if (err == nil) != c.ok {
			t.Errorf("CheckFormatURL(%s, %s) = %v; want ok %v", c.typ, c.url, err, c.ok)
		}
		if err != nil && audit.ErrorField(err) != "url" {
			t.Errorf("CheckFormatURL(%s, %s) = %v; want an error on field url", c.typ, c.url, err)
		}
	}
}
