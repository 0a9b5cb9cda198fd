package export

import (
	"encoding/base64"
	"strconv"

	"github.com/auditlog/auditlog/internal/jsonenc"
)

// appendEvent appends e as encoding/json encodes it (without the trailing
// newline): the same keys in the same order, strings escaped the same way
// (HTML-safe, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped), []byte
// and hashes as standard base64. TestAppendEventMatchesJSON holds it to
// that.
func appendEvent(b []byte, e *Event) []byte {
	b = append(b, `{"type":`...)
	b = jsonenc.AppendString(b, TypeEvent)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"created_at":`...)
	b = jsonenc.AppendString(b, e.CreatedAt)
	b = append(b, `,"occurred_at":`...)
	b = jsonenc.AppendString(b, e.OccurredAt)
	b = append(b, `,"user_id":`...)
	b = strconv.AppendInt(b, e.UserID, 10)
	b = append(b, `,"actor_type":`...)
	b = jsonenc.AppendString(b, e.ActorType)
	b = append(b, `,"event_id":`...)
	b = jsonenc.AppendString(b, e.EventID)
	b = append(b, `,"action":`...)
	b = jsonenc.AppendString(b, e.Action)
	b = append(b, `,"resource_type":`...)
	b = jsonenc.AppendString(b, e.ResourceType)
	b = append(b, `,"resource_id":`...)
	b = jsonenc.AppendString(b, e.ResourceID)
	b = append(b, `,"outcome":`...)
	b = jsonenc.AppendString(b, e.Outcome)
	b = append(b, `,"actor_id":`...)
	b = jsonenc.AppendString(b, e.ActorID)
	b = append(b, `,"actor_email":`...)
	b = jsonenc.AppendString(b, e.ActorEmail)
	b = append(b, `,"actor_name":`...)
	b = jsonenc.AppendString(b, e.ActorName)
	b = append(b, `,"ip_address":`...)
	b = jsonenc.AppendString(b, e.IPAddress)
	b = append(b, `,"user_agent":`...)
	b = jsonenc.AppendString(b, e.UserAgent)
	b = append(b, `,"details":`...)
	b = jsonenc.AppendString(b, e.Details)
	b = append(b, `,"metadata":`...)
	b = jsonenc.AppendString(b, e.Metadata)
	b = append(b, `,"changes":`...)
	b = jsonenc.AppendString(b, e.Changes)
	b = append(b, `,"salt":`...)
	if e.Salt == nil {
		b = append(b, "null"...)
	} else {
		b = appendBase64(b, e.Salt)
	}
	b = append(b, `,"commitment":`...)
	b = appendBase64(b, e.Commitment[:])
	b = append(b, `,"leaf_hash":`...)
	b = appendBase64(b, e.LeafHash[:])
	if len(e.Proof) > 0 {
		b = append(b, `,"proof":[`...)
		for i := range e.Proof {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendBase64(b, e.Proof[i][:])
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendBase64 appends src as a JSON string of its standard base64.
func appendBase64(b, src []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, src)
	return append(b, '"')
}
