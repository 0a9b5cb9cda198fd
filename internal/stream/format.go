package stream

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// Batch is what one delivery carries: events of one account, consecutive
// in its log, each already encoded as the JSON API shows it, and the
// account's latest signed checkpoint, which covers them all.
type Batch struct {
	StreamID  int64
	AccountID int64
	// Events are the encoded events; Seqs and Times their seq and
	// created_at, in the same order.
	Events []json.RawMessage
	Seqs   []int64
	Times  []time.Time
	// Checkpoint is the encoded checkpoint (null when the log has none).
	Checkpoint json.RawMessage
	// Test marks the delivery of POST /api/streams/{id}/test: no events,
	// and a record saying it is a test where the format needs one.
	Test bool
	// Host names the service in the formats that carry a host (Splunk's
	// host, Datadog's hostname): the operator's LOG_NAME, the same from
	// every process, never a machine's name.
	Host string
}

// Headers of webhook deliveries.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA-256>":
	// the HMAC, keyed by the stream's secret, of the timestamp, a dot and
	// the body, as docs/streams.md shows how to verify.
	SignatureHeader = "Auditlog-Signature"
	// DeliveryHeader names the delivery: "<stream>-<first seq>-<last
	// seq>", the same on every retry of the batch, so a receiver can drop
	// a batch it already has.
	DeliveryHeader = "Auditlog-Delivery"
	userAgent      = "auditlog-streams/1"
)

// WebhookBody is the JSON body of a webhook delivery.
type WebhookBody struct {
	StreamID  int64 `json:"stream_id"`
	AccountID int64 `json:"account_id"`
	// FirstSeq and LastSeq are the seq of the first and last event (0
	// for a test).
	FirstSeq   int64             `json:"first_seq"`
	LastSeq    int64             `json:"last_seq"`
	Events     []json.RawMessage `json:"events"`
	Checkpoint json.RawMessage   `json:"checkpoint"`
	Test       bool              `json:"test,omitempty"`
}

func (b *Batch) first() int64 {
	if len(b.Seqs) == 0 {
		return 0
	}
	return b.Seqs[0]
}

func (b *Batch) last() int64 {
	if len(b.Seqs) == 0 {
		return 0
	}
	return b.Seqs[len(b.Seqs)-1]
}

// Sign returns the value of SignatureHeader for body sent at t under
// secret.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Request builds the HTTP request that delivers b to s, in s's format,
// authenticated with secret (the opened secret of s), at now.
func (b *Batch) Request(ctx context.Context, s *audit.Stream, secret []byte, now time.Time) (*http.Request, error) {
	var body []byte
	var err error
	hdr := http.Header{"User-Agent": {userAgent}, "Content-Type": {"application/json"}}
	switch s.Type {
	case audit.StreamWebhook:
		body = b.webhook()
		hdr.Set(SignatureHeader, Sign(secret, now, body))
		hdr.Set(DeliveryHeader, fmt.Sprintf("%d-%d-%d", b.StreamID, b.first(), b.last()))
	case audit.StreamSplunk:
		body, err = b.splunk(now)
		hdr.Set("Authorization", "Splunk "+string(secret))
	case audit.StreamDatadog:
		if body, err = b.datadog(now); err == nil {
			body, err = gzipped(body)
			hdr.Set("Content-Encoding", "gzip")
		}
		hdr.Set("DD-API-KEY", string(secret))
	default:
		return nil, fmt.Errorf("stream: unknown type %q", s.Type)
	}
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = hdr
	return req, nil
}

// webhook is the body of a webhook delivery, WebhookBody's JSON, written
// directly: json.Marshal would scan every event's JSON again (a
// json.RawMessage is validated and compacted), a cost a backlog of
// 500-event batches paid on each. The events and the checkpoint are
// compact JSON from the Encoder.
func (b *Batch) webhook() []byte {
	n := 128 + len(b.Checkpoint)
	for _, e := range b.Events {
		n += len(e) + 1
	}
	buf := make([]byte, 0, n)
	buf = append(buf, `{"stream_id":`...)
	buf = strconv.AppendInt(buf, b.StreamID, 10)
	buf = append(buf, `,"account_id":`...)
	buf = strconv.AppendInt(buf, b.AccountID, 10)
	buf = append(buf, `,"first_seq":`...)
	buf = strconv.AppendInt(buf, b.first(), 10)
	buf = append(buf, `,"last_seq":`...)
	buf = strconv.AppendInt(buf, b.last(), 10)
	buf = append(buf, `,"events":[`...)
	for i, e := range b.Events {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, e...)
	}
	buf = append(buf, `],"checkpoint":`...)
	buf = append(buf, orNull(b.Checkpoint)...)
	if b.Test {
		buf = append(buf, `,"test":true`...)
	}
	return append(buf, '}')
}

func orNull(m json.RawMessage) json.RawMessage {
	if m == nil {
		return json.RawMessage("null")
	}
	return m
}

// Splunk HTTP Event Collector: each event is a JSON object with the
// metadata keys HEC documents ("Format events for HTTP Event Collector",
// help.splunk.com): time (epoch seconds, with a fraction), host, source,
// sourcetype, fields (indexed fields: string values, honoured only on
// /services/collector/event) and event; a batch is those objects one after
// the other. The destination's URL ends with /services/collector/event
// (CheckFormatURL). HEC's documentation does not describe compressed
// requests, so they are sent as they are.

// SplunkPath is the path a Splunk HEC stream's URL must end with: the
// endpoint that takes JSON events with indexed fields.
const SplunkPath = "/services/collector/event"

// splunkEvent is one event of a Splunk HEC request.
type splunkEvent struct {
	Time       json.Number       `json:"time"`
	Host       string            `json:"host,omitempty"`
	Source     string            `json:"source"`
	SourceType string            `json:"sourcetype"`
	Fields     map[string]string `json:"fields"`
	Event      json.RawMessage   `json:"event"`
}

// splunk is the body of a HEC request: one JSON object per event, one
// after the other, then the checkpoint as an event of sourcetype
// auditlog:checkpoint.
func (b *Batch) splunk(now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	account := strconv.FormatInt(b.AccountID, 10)
	for i, e := range b.Events {
		if err := enc.Encode(splunkEvent{Time: epochSeconds(b.Times[i]), Host: b.Host, Source: "auditlog", SourceType: "auditlog:event",
			Fields: map[string]string{"account_id": account, "seq": strconv.FormatInt(b.Seqs[i], 10)}, Event: e}); err != nil {
			return nil, err
		}
	}
	if b.Test {
		test, _ := json.Marshal(map[string]any{"test": true, "stream_id": b.StreamID})
		if err := enc.Encode(splunkEvent{Time: epochSeconds(now), Host: b.Host, Source: "auditlog", SourceType: "auditlog:test",
			Fields: map[string]string{"account_id": account}, Event: test}); err != nil {
			return nil, err
		}
	}
	if b.Checkpoint != nil {
		if err := enc.Encode(splunkEvent{Time: epochSeconds(now), Host: b.Host, Source: "auditlog", SourceType: "auditlog:checkpoint",
			Fields: map[string]string{"account_id": account}, Event: b.Checkpoint}); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// epochSeconds is t in Unix seconds with its microseconds as a decimal
// fraction (1764666000.123456), written exactly: a float64 would round the
// last digits.
func epochSeconds(t time.Time) json.Number {
	us := t.UnixMicro()
	sec, frac := us/1e6, us%1e6
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	return json.Number(fmt.Sprintf("%d.%06d", sec, frac))
}

// Datadog logs intake (API v2, "Send logs", docs.datadoghq.com): a JSON
// array of at most 1,000 logs, at most 5 MB before compression, each with
// ddsource, ddtags (comma-separated key:value), hostname, service and
// message; other keys become attributes. POST to /api/v2/logs with the key
// in DD-API-KEY; Datadog recommends gzip (Content-Encoding: gzip). A
// timestamp attribute (epoch milliseconds) dates the log, as Datadog's
// date remapper reads it by default; the intake takes dates up to 18 hours
// old, so older events go without one and are dated on receipt (their
// created_at is in the message).

// DatadogPath is the path of Datadog's logs intake, which a Datadog
// stream's URL must have.
const DatadogPath = "/api/v2/logs"

// datadogMaxAge is how old an event may be and still carry its own
// timestamp to Datadog: the intake's 18 hours, less a margin for clocks
// and retries.
const datadogMaxAge = 17 * time.Hour

// datadogLog is one log of a Datadog logs intake request.
type datadogLog struct {
	Source   string `json:"ddsource"`
	Service  string `json:"service"`
	Hostname string `json:"hostname,omitempty"`
	Tags     string `json:"ddtags"`
	// Message is the event's (or checkpoint's) JSON as text; Datadog
	// parses it into the log's attributes.
	Message string `json:"message"`
	// Timestamp is when the event was recorded, in Unix milliseconds.
	Timestamp int64 `json:"timestamp,omitempty"`
}

// datadog is the body of a logs intake request: a JSON array of logs, one
// per event, then the checkpoint's.
func (b *Batch) datadog(now time.Time) ([]byte, error) {
	logs := make([]datadogLog, 0, len(b.Events)+2)
	tags := "account_id:" + strconv.FormatInt(b.AccountID, 10)
	entry := func(kind, message string) datadogLog {
		return datadogLog{Source: "auditlog", Service: "auditlog", Hostname: b.Host, Tags: tags + ",kind:" + kind, Message: message}
	}
	for i, e := range b.Events {
		l := entry("event", string(e))
		if t := b.Times[i]; now.Sub(t) < datadogMaxAge {
			l.Timestamp = t.UnixMilli()
		}
		logs = append(logs, l)
	}
	if b.Test {
		logs = append(logs, entry("test", fmt.Sprintf(`{"test":true,"stream_id":%d}`, b.StreamID)))
	}
	if b.Checkpoint != nil {
		logs = append(logs, entry("checkpoint", string(b.Checkpoint)))
	}
	return json.Marshal(logs)
}

// gzipped returns body compressed with gzip.
func gzipped(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CheckFormatURL checks that raw, a stream's URL, has the path its type's
// destination takes: Splunk HEC's SplunkPath (or its /1.0 form), Datadog's
// DatadogPath. Webhooks take any path.
func CheckFormatURL(typ, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return nil // CheckURL says what is wrong with it
	}
	path := strings.TrimSuffix(u.Path, "/")
	switch typ {
	case audit.StreamSplunk:
		if !strings.HasSuffix(path, SplunkPath) && !strings.HasSuffix(path, SplunkPath+"/1.0") {
			return audit.FieldError("url", "url must be the HTTP Event Collector's event endpoint, ending with %s, such as https://splunk.example.com:8088%s.", SplunkPath, SplunkPath)
		}
	case audit.StreamDatadog:
		if path != DatadogPath {
			return audit.FieldError("url", "url must be the Datadog site's logs intake, with the path %s, such as https://http-intake.logs.datadoghq.com%s.", DatadogPath, DatadogPath)
		}
	}
	return nil
}
