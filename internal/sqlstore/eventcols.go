package sqlstore

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// eventColumn is one column of the events table: how the write path fills
// it from an event, and where a read scans it.
type eventColumn struct {
	name string
	// value returns the event's value for the column, with times converted
	// by t; nil for the ID, which the database generates.
	value func(e *audit.Event, t func(time.Time) any) any
	// dest returns where to scan the column; s holds what needs converting
	// after the scan (see eventScan.finish).
	dest func(e *audit.Event, s *eventScan) any
}

// eventTable lists the columns of events once; the insert column list, the
// select list and the scan destinations all derive from it.
var eventTable = []eventColumn{
	{"id", nil, func(e *audit.Event, _ *eventScan) any { return &e.ID }},
	{"account_id", func(e *audit.Event, _ func(time.Time) any) any { return e.AccountID }, func(e *audit.Event, _ *eventScan) any { return &e.AccountID }},
	{"seq", func(e *audit.Event, _ func(time.Time) any) any { return e.Seq }, func(e *audit.Event, _ *eventScan) any { return &e.Seq }},
	{"user_id", func(e *audit.Event, _ func(time.Time) any) any { return nullable(e.UserID) }, func(_ *audit.Event, s *eventScan) any { return &s.userID }},
	{"action", func(e *audit.Event, _ func(time.Time) any) any { return e.Action }, func(e *audit.Event, _ *eventScan) any { return &e.Action }},
	{"resource_type", func(e *audit.Event, _ func(time.Time) any) any { return e.ResourceType }, func(e *audit.Event, _ *eventScan) any { return &e.ResourceType }},
	{"resource_id", func(e *audit.Event, _ func(time.Time) any) any { return e.ResourceID }, func(e *audit.Event, _ *eventScan) any { return &e.ResourceID }},
	{"details", func(e *audit.Event, _ func(time.Time) any) any { return e.Details }, func(e *audit.Event, _ *eventScan) any { return &e.Details }},
	{"ip_address", func(e *audit.Event, _ func(time.Time) any) any { return e.IPAddress }, func(e *audit.Event, _ *eventScan) any { return &e.IPAddress }},
	{"user_agent", func(e *audit.Event, _ func(time.Time) any) any { return e.UserAgent }, func(e *audit.Event, _ *eventScan) any { return &e.UserAgent }},
	{"created_at", func(e *audit.Event, t func(time.Time) any) any { return t(e.CreatedAt) }, func(e *audit.Event, _ *eventScan) any { return timeValue{&e.CreatedAt} }},
	{"actor_type", func(e *audit.Event, _ func(time.Time) any) any { return e.ActorType }, func(e *audit.Event, _ *eventScan) any { return &e.ActorType }},
	{"actor_id", func(e *audit.Event, _ func(time.Time) any) any { return e.ActorID }, func(e *audit.Event, _ *eventScan) any { return &e.ActorID }},
	{"actor_email", func(e *audit.Event, _ func(time.Time) any) any { return e.ActorEmail }, func(e *audit.Event, _ *eventScan) any { return &e.ActorEmail }},
	{"actor_name", func(e *audit.Event, _ func(time.Time) any) any { return e.ActorName }, func(e *audit.Event, _ *eventScan) any { return &e.ActorName }},
	{"event_id", func(e *audit.Event, _ func(time.Time) any) any { return nullString(e.EventID) }, func(_ *audit.Event, s *eventScan) any { return &s.eventID }},
	{"occurred_at", func(e *audit.Event, t func(time.Time) any) any {
		if e.OccurredAt.IsZero() {
			return nil
		}
		return t(e.OccurredAt)
	}, func(e *audit.Event, _ *eventScan) any { return timeValue{&e.OccurredAt} }},
	{"outcome", func(e *audit.Event, _ func(time.Time) any) any { return e.Outcome }, func(e *audit.Event, _ *eventScan) any { return &e.Outcome }},
	{"metadata", func(e *audit.Event, _ func(time.Time) any) any { return nullBytes(e.Metadata) }, func(_ *audit.Event, s *eventScan) any { return &s.metadata }},
	{"changes", func(e *audit.Event, _ func(time.Time) any) any { return nullBytes(e.Changes) }, func(_ *audit.Event, s *eventScan) any { return &s.changes }},
	{"api_key_id", func(e *audit.Event, _ func(time.Time) any) any { return nullable(e.APIKeyID) }, func(_ *audit.Event, s *eventScan) any { return &s.apiKeyID }},
	{"salt", func(e *audit.Event, _ func(time.Time) any) any { return e.Salt }, func(e *audit.Event, _ *eventScan) any { return &e.Salt }},
	{"commitment", func(e *audit.Event, _ func(time.Time) any) any { return e.Commitment[:] }, func(_ *audit.Event, s *eventScan) any { return &s.commitment }},
	{"leaf_hash", func(e *audit.Event, _ func(time.Time) any) any { return e.LeafHash[:] }, func(_ *audit.Event, s *eventScan) any { return &s.leafHash }},
}

var (
	// eventColumns is the select list of every event column, alias "e".
	eventColumns string
	// eventInsertColumns are the columns the write path fills.
	eventInsertColumns []string
	// eventInsertTable is eventTable without the generated ID.
	eventInsertTable []eventColumn
)

func init() {
	names := make([]string, len(eventTable))
	for i, c := range eventTable {
		names[i] = "e." + c.name
		if c.value != nil {
			eventInsertColumns = append(eventInsertColumns, c.name)
			eventInsertTable = append(eventInsertTable, c)
		}
	}
	eventColumns = strings.Join(names, ", ")
}

// eventRow returns an event's values for eventInsertColumns, with times
// converted by t.
func eventRow(e *audit.Event, t func(time.Time) any) []any {
	row := make([]any, len(eventInsertTable))
	for i, c := range eventInsertTable {
		row[i] = c.value(e, t)
	}
	return row
}

// eventScan holds the scanned values of the columns that need converting.
type eventScan struct {
	userID, apiKeyID           sql.NullInt64
	eventID, metadata, changes sql.NullString
	commitment, leafHash       []byte
}

// eventDest returns the scan destinations of eventColumns into e, and a
// function to call after the scan to finish filling e.
func eventDest(e *audit.Event) (dest []any, finish func() error) {
	s := &eventScan{}
	dest = make([]any, len(eventTable), len(eventTable)+5)
	for i, c := range eventTable {
		dest[i] = c.dest(e, s)
	}
	return dest, func() error { return s.finish(e) }
}

// finish converts the scanned values into e.
func (s *eventScan) finish(e *audit.Event) error {
	e.UserID, e.APIKeyID, e.EventID = s.userID.Int64, s.apiKeyID.Int64, s.eventID.String
	if s.metadata.Valid {
		e.Metadata = []byte(s.metadata.String)
	}
	if s.changes.Valid {
		e.Changes = []byte(s.changes.String)
	}
	if len(s.commitment) != len(e.Commitment) || len(s.leafHash) != len(e.LeafHash) {
		return fmt.Errorf("sqlstore: event %d of account %d has a malformed commitment or leaf hash", e.Seq, e.AccountID)
	}
	copy(e.Commitment[:], s.commitment)
	copy(e.LeafHash[:], s.leafHash)
	return nil
}

func nullable(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullBytes passes JSON text as a string (every engine stores it as text).
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
