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
	// value returns the event's value for the column, converted by c; nil
	// for the ID, which the database generates.
	value func(e *audit.Event, c conv) any
	// dest returns where to scan the column into e; nil for the columns
	// that only searches read, which are not selected.
	dest func(e *audit.Event) any
}

// conv converts an event's values for the engine's write path.
type conv struct {
	// time converts a time.
	time func(t time.Time) any
	// search writes the tokens of an event's searchable text in the form
	// the engine's full-text index reads (dialect.searchText).
	search func(tokens []string) string
}

// eventTable lists the columns of events once: the insert column list, the
// select list and the scan destinations all derive from it, and NULLs map to
// zero values in the scanners it names.
var eventTable = []eventColumn{
	{"id", nil, func(e *audit.Event) any { return &e.ID }},
	{"account_id", func(e *audit.Event, _ conv) any { return e.AccountID }, func(e *audit.Event) any { return &e.AccountID }},
	{"seq", func(e *audit.Event, _ conv) any { return e.Seq }, func(e *audit.Event) any { return &e.Seq }},
	{"user_id", func(e *audit.Event, _ conv) any { return nullable(e.UserID) }, func(e *audit.Event) any { return nullInt{&e.UserID} }},
	{"action", func(e *audit.Event, _ conv) any { return e.Action }, func(e *audit.Event) any { return &e.Action }},
	{"resource_type", func(e *audit.Event, _ conv) any { return e.ResourceType }, func(e *audit.Event) any { return &e.ResourceType }},
	{"resource_id", func(e *audit.Event, _ conv) any { return e.ResourceID }, func(e *audit.Event) any { return &e.ResourceID }},
	{"details", func(e *audit.Event, _ conv) any { return e.Details }, func(e *audit.Event) any { return &e.Details }},
	{"ip_address", func(e *audit.Event, _ conv) any { return e.IPAddress }, func(e *audit.Event) any { return &e.IPAddress }},
	{"user_agent", func(e *audit.Event, _ conv) any { return e.UserAgent }, func(e *audit.Event) any { return &e.UserAgent }},
	{"created_at", func(e *audit.Event, c conv) any { return c.time(e.CreatedAt) }, func(e *audit.Event) any { return timeValue{&e.CreatedAt} }},
	{"actor_type", func(e *audit.Event, _ conv) any { return e.ActorType }, func(e *audit.Event) any { return &e.ActorType }},
	{"actor_id", func(e *audit.Event, _ conv) any { return e.ActorID }, func(e *audit.Event) any { return &e.ActorID }},
	{"actor_email", func(e *audit.Event, _ conv) any { return e.ActorEmail }, func(e *audit.Event) any { return &e.ActorEmail }},
	{"actor_name", func(e *audit.Event, _ conv) any { return e.ActorName }, func(e *audit.Event) any { return &e.ActorName }},
	{"event_id", func(e *audit.Event, _ conv) any { return nullString(e.EventID) }, func(e *audit.Event) any { return nullText{&e.EventID} }},
	{"occurred_at", func(e *audit.Event, c conv) any {
		if e.OccurredAt.IsZero() {
			return nil
		}
		return c.time(e.OccurredAt)
	}, func(e *audit.Event) any { return timeValue{&e.OccurredAt} }},
	{"outcome", func(e *audit.Event, _ conv) any { return e.Outcome }, func(e *audit.Event) any { return &e.Outcome }},
	{"metadata", func(e *audit.Event, _ conv) any { return nullBytes(e.Metadata) }, func(e *audit.Event) any { return nullJSON{&e.Metadata} }},
	{"changes", func(e *audit.Event, _ conv) any { return nullBytes(e.Changes) }, func(e *audit.Event) any { return nullJSON{&e.Changes} }},
	{"api_key_id", func(e *audit.Event, _ conv) any { return nullable(e.APIKeyID) }, func(e *audit.Event) any { return nullInt{&e.APIKeyID} }},
	{"salt", func(e *audit.Event, _ conv) any { return e.Salt }, func(e *audit.Event) any { return &e.Salt }},
	{"commitment", func(e *audit.Event, _ conv) any { return e.Commitment[:] }, func(e *audit.Event) any { return hash32{&e.Commitment} }},
	{"leaf_hash", func(e *audit.Event, _ conv) any { return e.LeafHash[:] }, func(e *audit.Event) any { return hash32{&e.LeafHash} }},
	// Written for search only (search.go, docs/schema.md).
	{"search_text", func(e *audit.Event, c conv) any { return c.search(searchTokens(e)) }, nil},
	{"ip_bin", func(e *audit.Event, _ conv) any { return ipBin(e.IPAddress) }, nil},
}

var (
	// eventColumns is the select list of every event column, alias "e".
	eventColumns string
	// eventInsertColumns are the columns the write path fills.
	eventInsertColumns []string
	// eventInsertTable is eventTable without the generated ID.
	eventInsertTable []eventColumn
	// eventSelectTable is eventTable without the columns only searches read.
	eventSelectTable []eventColumn
)

func init() {
	var names []string
	for _, c := range eventTable {
		if c.dest != nil {
			names = append(names, "e."+c.name)
			eventSelectTable = append(eventSelectTable, c)
		}
		if c.value != nil {
			eventInsertColumns = append(eventInsertColumns, c.name)
			eventInsertTable = append(eventInsertTable, c)
		}
	}
	eventColumns = strings.Join(names, ", ")
}

// eventRow returns an event's values for eventInsertColumns, converted by c.
func eventRow(e *audit.Event, c conv) []any {
	row := make([]any, len(eventInsertTable))
	for i, col := range eventInsertTable {
		row[i] = col.value(e, c)
	}
	return row
}

// eventDest returns the scan destinations of eventColumns into e, with
// room for extra columns after them.
func eventDest(e *audit.Event, extra int) []any {
	dest := make([]any, len(eventSelectTable), len(eventSelectTable)+extra)
	for i, c := range eventSelectTable {
		dest[i] = c.dest(e)
	}
	return dest
}

// nullInt scans a nullable integer; NULL is 0.
type nullInt struct{ p *int64 }

// Scan implements sql.Scanner.
func (v nullInt) Scan(src any) error {
	var n sql.NullInt64
	err := n.Scan(src)
	*v.p = n.Int64
	return err
}

// nullText scans nullable text; NULL is "".
type nullText struct{ p *string }

// Scan implements sql.Scanner.
func (v nullText) Scan(src any) error {
	var n sql.NullString
	err := n.Scan(src)
	*v.p = n.String
	return err
}

// nullJSON scans nullable JSON text; NULL is nil.
type nullJSON struct{ p *[]byte }

// Scan implements sql.Scanner.
func (v nullJSON) Scan(src any) error {
	var n sql.NullString
	if err := n.Scan(src); err != nil {
		return err
	}
	*v.p = nil
	if n.Valid {
		*v.p = []byte(n.String)
	}
	return nil
}

// hash32 scans a 32-byte hash, which must be exactly that.
type hash32 struct{ p *[32]byte }

// Scan implements sql.Scanner.
func (v hash32) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok || len(b) != len(v.p) {
		return fmt.Errorf("sqlstore: malformed stored hash (%T of %d bytes; want 32 bytes)", src, len(b))
	}
	copy(v.p[:], b)
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
