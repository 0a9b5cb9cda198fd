package server

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/jsonenc"
)

// The body of an event listing is written by hand rather than through
// encoding/json's reflection: it is the service's most read response, and
// encoding/json spent a fifth of an uncached page's CPU on it. The bytes
// are exactly encodeJSON's of eventListJSON (TestEventListMatchesJSON and
// FuzzEventList hold the two together); a field added to EventJSON or the
// pagination must be added here too.

// appendEventList appends the body of GET /api/audit-logs for events and
// pagination p, as encodeJSON(eventListJSON{…}) writes it (trailing
// newline included). It fails only on stored metadata or changes that are
// not JSON, as encodeJSON does.
func appendEventList(b []byte, events []*audit.Event, p eventPaginationJSON) ([]byte, error) {
	b = append(b, `{"audit_logs":[`...)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendEventJSON(b, e); err != nil {
			return nil, err
		}
	}
	b = append(b, `],"pagination":{"page":`...)
	if p.Page == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*p.Page), 10)
	}
	b = append(b, `,"per_page":`...)
	b = strconv.AppendInt(b, int64(p.PerPage), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, p.Total, 10)
	b = append(b, `,"pages":`...)
	b = strconv.AppendInt(b, p.Pages, 10)
	b = append(b, `,"has_next":`...)
	b = strconv.AppendBool(b, p.HasNext)
	b = append(b, `,"has_prev":`...)
	b = strconv.AppendBool(b, p.HasPrev)
	b = append(b, `,"next_cursor":`...)
	b = appendOptional(b, p.NextCursor)
	b = append(b, `,"total_exact":`...)
	b = strconv.AppendBool(b, p.TotalExact)
	return append(b, "}}\n"...), nil
}

// appendEventJSON appends e as encoding/json writes eventJSON(e).
func appendEventJSON(b []byte, e *audit.Event) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"user_id":`...)
	if e.UserID != 0 {
		b = strconv.AppendInt(b, e.UserID, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"user":`...)
	if u := e.User; u != nil {
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, u.ID, 10)
		b = append(b, `,"email":`...)
		b = jsonenc.AppendString(b, u.Email)
		b = append(b, `,"first_name":`...)
		b = jsonenc.AppendString(b, u.FirstName)
		b = append(b, `,"last_name":`...)
		b = jsonenc.AppendString(b, u.LastName)
		b = append(b, `,"role":`...)
		b = jsonenc.AppendString(b, string(u.Role))
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"action":`...)
	b = jsonenc.AppendString(b, e.Action)
	b = append(b, `,"resource_type":`...)
	b = appendText(b, e.ResourceType)
	b = append(b, `,"resource_id":`...)
	b = appendText(b, e.ResourceID)
	b = append(b, `,"details":`...)
	b = appendText(b, e.Details)
	b = append(b, `,"ip_address":`...)
	b = appendText(b, e.IPAddress)
	b = append(b, `,"user_agent":`...)
	b = appendText(b, e.UserAgent)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, e.CreatedAt.UTC())
	b = append(b, `,"leaf_hash":"`...)
	b = base64.StdEncoding.AppendEncode(b, e.LeafHash[:])
	b = append(b, `","event_id":`...)
	b = appendText(b, e.EventID)
	b = append(b, `,"occurred_at":`...)
	if e.OccurredAt.IsZero() {
		b = append(b, "null"...)
	} else {
		b = appendTime(b, e.OccurredAt.UTC())
	}
	b = append(b, `,"outcome":`...)
	b = appendText(b, e.Outcome)
	b = append(b, `,"actor":{"type":`...)
	b = appendText(b, e.ActorType)
	b = append(b, `,"id":`...)
	if e.ActorType == audit.ActorUser && e.UserID != 0 {
		// A user actor is named by the user's ID (eventJSON).
		b = append(b, '"')
		b = strconv.AppendInt(b, e.UserID, 10)
		b = append(b, '"')
	} else {
		b = appendText(b, e.ActorID)
	}
	b = append(b, `,"name":`...)
	b = appendText(b, e.ActorName)
	b = append(b, `,"email":`...)
	b = appendText(b, e.ActorEmail)
	b = append(b, `},"metadata":`...)
	var err error
	if b, err = jsonenc.AppendRaw(b, e.Metadata); err != nil {
		return nil, err
	}
	b = append(b, `,"changes":`...)
	if b, err = jsonenc.AppendRaw(b, e.Changes); err != nil {
		return nil, err
	}
	if e.Salt == nil {
		b = append(b, `,"personal_data_erased":true`...)
	}
	return append(b, '}'), nil
}

// appendText appends s as a JSON string, or null for "" (optional).
func appendText(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return jsonenc.AppendString(b, s)
}

// appendOptional appends *s as a JSON string, or null for nil.
func appendOptional(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return jsonenc.AppendString(b, *s)
}

// appendTime appends a UTC time as formatTime writes it, quoted (its
// digits and punctuation need no escaping).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, timeFormat)
	return append(b, '"')
}
