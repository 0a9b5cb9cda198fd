package audit

import (
	"strings"
	"time"
)

// Stream types: the formats a stream delivers its account's events in.
const (
	// StreamWebhook posts JSON batches to any HTTPS endpoint, signed with
	// HMAC-SHA-256 over a timestamp and the body.
	StreamWebhook = "webhook"
	// StreamSplunk posts to a Splunk HTTP Event Collector.
	StreamSplunk = "splunk_hec"
	// StreamDatadog posts to Datadog's logs intake.
	StreamDatadog = "datadog"
)

// StreamTypes lists every stream type.
var StreamTypes = []string{StreamWebhook, StreamSplunk, StreamDatadog}

// Stream states.
const (
	// StreamActive streams are delivered.
	StreamActive = "active"
	// StreamPaused streams are kept but not delivered until resumed.
	StreamPaused = "paused"
	// StreamDead streams failed too many times in a row (dead letter):
	// delivery stopped at the cursor and resumes from it when resumed.
	StreamDead = "dead"
)

// Actions recorded when an account's streams are configured.
const (
	ActionStreamCreated = "stream_created"
	ActionStreamUpdated = "stream_updated"
	ActionStreamPaused  = "stream_paused"
	ActionStreamResumed = "stream_resumed"
	ActionStreamDeleted = "stream_deleted"
)

// ResourceStream is the resource type of a stream's configuration events.
const ResourceStream = "stream"

// Stream delivers an account's events, in seq order, to a destination
// outside the service (a SIEM tool), from a durable cursor.
type Stream struct {
	AccountID int64
	ID        int64
	Name      string
	Type      string // StreamWebhook, StreamSplunk or StreamDatadog
	URL       string
	// Secret is the destination's secret as stored: sealed (the webhook
	// signing secret, the Splunk HEC token or the Datadog API key). It is
	// never shown.
	Secret string
	State  string
	// Cursor is the seq of the last event delivered: delivery resumes
	// after it.
	Cursor int64
	// Failures counts the delivery attempts that failed in a row; the
	// next is due at NextAttemptAt.
	Failures      int
	NextAttemptAt time.Time
	// LastError says why the last attempt failed, at LastErrorAt; they
	// stay after a success, for the record.
	LastError       string
	LastErrorAt     time.Time
	LastDeliveredAt time.Time // zero until a batch is delivered
	CreatedBy       int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// LeaseOwner names the process delivering the stream until
	// LeaseUntil; empty when none is.
	LeaseOwner string
	LeaseUntil time.Time
}

// Field limits of streams.
const (
	MaxStreamNameLen   = 100
	MaxStreamURLLen    = 2000
	MaxStreamSecretLen = 500
	MaxStreamErrorLen  = 500
)

// ValidateStreamType checks a stream's type.
func ValidateStreamType(t string) error {
	for _, s := range StreamTypes {
		if t == s {
			return nil
		}
	}
	if t == "" {
		return FieldError("type", "type is required: one of %s.", strings.Join(StreamTypes, ", "))
	}
	return FieldError("type", "unknown type %q: use one of %s.", t, strings.Join(StreamTypes, ", "))
}
