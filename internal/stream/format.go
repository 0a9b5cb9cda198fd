package stream

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
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
		events := b.Events
		if events == nil {
			events = []json.RawMessage{}
		}
		body, err = json.Marshal(WebhookBody{StreamID: b.StreamID, AccountID: b.AccountID, FirstSeq: b.first(), LastSeq: b.last(),
			Events: events, Checkpoint: orNull(b.Checkpoint), Test: b.Test})
		hdr.Set(SignatureHeader, Sign(secret, now, body))
		hdr.Set(DeliveryHeader, fmt.Sprintf("%d-%d-%d", b.StreamID, b.first(), b.last()))
	case audit.StreamSplunk:
		body, err = b.splunk(now)
		hdr.Set("Authorization", "Splunk "+string(secret))
	case audit.StreamDatadog:
		body, err = b.datadog()
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

func orNull(m json.RawMessage) json.RawMessage {
	if m == nil {
		return json.RawMessage("null")
	}
	return m
}

// splunkEvent is one event of a Splunk HEC request.
type splunkEvent struct {
	Time       float64           `json:"time"`
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
		if err := enc.Encode(splunkEvent{Time: unixSeconds(b.Times[i]), Source: "auditlog", SourceType: "auditlog:event",
			Fields: map[string]string{"account_id": account, "seq": strconv.FormatInt(b.Seqs[i], 10)}, Event: e}); err != nil {
			return nil, err
		}
	}
	if b.Test {
		test, _ := json.Marshal(map[string]any{"test": true, "stream_id": b.StreamID})
		if err := enc.Encode(splunkEvent{Time: unixSeconds(now), Source: "auditlog", SourceType: "auditlog:test",
			Fields: map[string]string{"account_id": account}, Event: test}); err != nil {
			return nil, err
		}
	}
	if b.Checkpoint != nil {
		if err := enc.Encode(splunkEvent{Time: unixSeconds(now), Source: "auditlog", SourceType: "auditlog:checkpoint",
			Fields: map[string]string{"account_id": account}, Event: b.Checkpoint}); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

// datadogLog is one log of a Datadog logs intake request.
type datadogLog struct {
	Source  string `json:"ddsource"`
	Service string `json:"service"`
	Tags    string `json:"ddtags"`
	// Message is the event's (or checkpoint's) JSON as text; Datadog
	// parses it into the log's attributes.
	Message string `json:"message"`
}

// datadog is the body of a logs intake request: a JSON array of logs, one
// per event, then the checkpoint's.
func (b *Batch) datadog() ([]byte, error) {
	logs := make([]datadogLog, 0, len(b.Events)+2)
	tags := "account_id:" + strconv.FormatInt(b.AccountID, 10)
	for _, e := range b.Events {
		logs = append(logs, datadogLog{Source: "auditlog", Service: "auditlog", Tags: tags + ",kind:event", Message: string(e)})
	}
	if b.Test {
		logs = append(logs, datadogLog{Source: "auditlog", Service: "auditlog", Tags: tags + ",kind:test",
			Message: fmt.Sprintf(`{"test":true,"stream_id":%d}`, b.StreamID)})
	}
	if b.Checkpoint != nil {
		logs = append(logs, datadogLog{Source: "auditlog", Service: "auditlog", Tags: tags + ",kind:checkpoint", Message: string(b.Checkpoint)})
	}
	return json.Marshal(logs)
}
