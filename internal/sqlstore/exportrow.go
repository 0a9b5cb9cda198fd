package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// An export on SQLite reads each event as one text value, its columns
// packed by SQLite's printf, instead of one value per column.
//
// Why: the driver (modernc.org/sqlite) reads a row's columns one at a
// time, three calls into SQLite per column (its type, its value, its
// length), each taking and releasing the connection's mutex (the driver
// opens every connection SQLITE_OPEN_FULLMUTEX), and allocates each value;
// database/sql then converts each into its destination. At 24 columns that
// was over half of an export's CPU. One packed value per row costs three
// calls and one allocation; the event's strings are slices of it.
//
// The packing: for each column of eventSelectTable in order,
// "<length>:<value>", where length is the value's length in bytes (-1 for
// NULL), integers in decimal and text as stored; a blob column gives only
// "<length>:" there, and the blobs' bytes follow the text, in column order
// (concatenated with ||, so any byte passes). SQLite's printf stops a text
// value at a NUL byte, which the length then disagrees with: such a row
// (the ingest API refuses NUL, but a store may hold older data) fails to
// unpack with errPackedRow, and the export reads that page again column by
// column.

// packedColumn is how one column is packed in SQL and read back into an
// event.
type packedColumn struct {
	// blob columns follow the text, as raw bytes.
	blob bool
	// set stores the column's packed value into e; null is set for NULL
	// (and v is then "").
	set func(e *audit.Event, v string, null bool) error
}

// packedColumns names the read-back of every column of eventSelectTable; init
// panics when one is missing, so a column added to the table cannot be
// left out of exports.
var packedColumns = map[string]packedColumn{
	"id":            {set: packedInt(func(e *audit.Event) *int64 { return &e.ID })},
	"account_id":    {set: packedInt(func(e *audit.Event) *int64 { return &e.AccountID })},
	"seq":           {set: packedInt(func(e *audit.Event) *int64 { return &e.Seq })},
	"user_id":       {set: packedInt(func(e *audit.Event) *int64 { return &e.UserID })},
	"api_key_id":    {set: packedInt(func(e *audit.Event) *int64 { return &e.APIKeyID })},
	"action":        {set: packedText(func(e *audit.Event) *string { return &e.Action })},
	"resource_type": {set: packedText(func(e *audit.Event) *string { return &e.ResourceType })},
	"resource_id":   {set: packedText(func(e *audit.Event) *string { return &e.ResourceID })},
	"details":       {set: packedText(func(e *audit.Event) *string { return &e.Details })},
	"ip_address":    {set: packedText(func(e *audit.Event) *string { return &e.IPAddress })},
	"user_agent":    {set: packedText(func(e *audit.Event) *string { return &e.UserAgent })},
	"actor_type":    {set: packedText(func(e *audit.Event) *string { return &e.ActorType })},
	"actor_id":      {set: packedText(func(e *audit.Event) *string { return &e.ActorID })},
	"actor_email":   {set: packedText(func(e *audit.Event) *string { return &e.ActorEmail })},
	"actor_name":    {set: packedText(func(e *audit.Event) *string { return &e.ActorName })},
	"event_id":      {set: packedText(func(e *audit.Event) *string { return &e.EventID })},
	"outcome":       {set: packedText(func(e *audit.Event) *string { return &e.Outcome })},
	"created_at":    {set: packedTime(func(e *audit.Event) *time.Time { return &e.CreatedAt })},
	"occurred_at":   {set: packedTime(func(e *audit.Event) *time.Time { return &e.OccurredAt })},
	"metadata":      {set: packedJSON(func(e *audit.Event) *[]byte { return &e.Metadata })},
	"changes":       {set: packedJSON(func(e *audit.Event) *[]byte { return &e.Changes })},
	"salt": {blob: true, set: func(e *audit.Event, v string, null bool) error {
		if null {
			e.Salt = nil
		} else {
			e.Salt = []byte(v)
		}
		return nil
	}},
	"commitment": {blob: true, set: packedHash(func(e *audit.Event) *[32]byte { return &e.Commitment })},
	"leaf_hash":  {blob: true, set: packedHash(func(e *audit.Event) *[32]byte { return &e.LeafHash })},
}

var (
	// packedEventColumn is the select expression of an event packed into
	// one text value, alias "e".
	packedEventColumn string
	// packedSetters are the read-backs of its columns, in order.
	packedSetters []packedSetter
)

func init() {
	var format strings.Builder
	var args, blobs []string
	for _, c := range eventSelectTable {
		p, ok := packedColumns[c.name]
		if !ok {
			panic("sqlstore: column " + c.name + " has no packed read-back (exportrow.go)")
		}
		args = append(args, "coalesce(octet_length(e."+c.name+"), -1)")
		if p.blob {
			format.WriteString("%d:")
			blobs = append(blobs, "coalesce(e."+c.name+", x'')")
		} else {
			format.WriteString("%d:%s")
			args = append(args, "e."+c.name)
		}
		packedSetters = append(packedSetters, packedSetter{p.set, p.blob})
	}
	packedEventColumn = "printf('" + format.String() + "', " + strings.Join(args, ", ") + ")"
	if len(blobs) > 0 {
		packedEventColumn = "(" + packedEventColumn + " || " + strings.Join(blobs, " || ") + ")"
	}
}

// packedSetter is the read-back of one packed column.
type packedSetter struct {
	set  func(e *audit.Event, v string, null bool) error
	blob bool
}

// errPackedRow is the error of a packed row that does not unpack.
var errPackedRow = errors.New("sqlstore: packed event row does not unpack")

// unpackEvent reads a row packed as packedEventColumn into e.
func unpackEvent(e *audit.Event, row string) error {
	var blobLens [8]int // the blob columns' lengths, in order; -1 for NULL
	blobs := blobLens[:0]
	for _, p := range packedSetters {
		colon := strings.IndexByte(row, ':')
		if colon < 1 {
			return errPackedRow
		}
		n, err := strconv.Atoi(row[:colon])
		row = row[colon+1:]
		switch {
		case err != nil || n < -1 || n > len(row):
			return errPackedRow
		case p.blob:
			blobs = append(blobs, n)
			continue
		}
		if err := setPacked(e, p, row[:max(n, 0)], n); err != nil {
			return err
		}
		row = row[max(n, 0):]
	}
	// The blobs' bytes follow, in the same order.
	b := 0
	for _, p := range packedSetters {
		if !p.blob {
			continue
		}
		n := blobs[b]
		b++
		if n > len(row) {
			return errPackedRow
		}
		if err := setPacked(e, p, row[:max(n, 0)], n); err != nil {
			return err
		}
		row = row[max(n, 0):]
	}
	if row != "" {
		return errPackedRow
	}
	return nil
}

// setPacked stores a column's packed value v, of packed length n (-1 for
// NULL), into e.
func setPacked(e *audit.Event, p packedSetter, v string, n int) error {
	if err := p.set(e, v, n == -1); err != nil {
		return fmt.Errorf("%w: %w", errPackedRow, err)
	}
	return nil
}

// scanPackedEvents reads rows of packedEventColumn into events and closes
// rows.
func (db *DB) scanPackedEvents(rows *sql.Rows) ([]*audit.Event, error) {
	defer rows.Close()
	var events []*audit.Event
	var row string
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return nil, db.wrap(err, "scan event")
		}
		e := &audit.Event{}
		if err := unpackEvent(e, row); err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, db.wrap(rows.Err(), "select events")
}

func packedInt(field func(e *audit.Event) *int64) func(e *audit.Event, v string, null bool) error {
	return func(e *audit.Event, v string, null bool) error {
		if null {
			*field(e) = 0
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		*field(e) = n
		return err
	}
}

func packedText(field func(e *audit.Event) *string) func(e *audit.Event, v string, null bool) error {
	return func(e *audit.Event, v string, _ bool) error {
		*field(e) = v
		return nil
	}
}

func packedJSON(field func(e *audit.Event) *[]byte) func(e *audit.Event, v string, null bool) error {
	return func(e *audit.Event, v string, null bool) error {
		if null {
			*field(e) = nil
		} else {
			*field(e) = []byte(v)
		}
		return nil
	}
}

func packedHash(field func(e *audit.Event) *[32]byte) func(e *audit.Event, v string, null bool) error {
	return func(e *audit.Event, v string, null bool) error {
		p := field(e)
		if null || len(v) != len(p) {
			return fmt.Errorf("sqlstore: malformed stored hash (%d bytes; want 32)", len(v))
		}
		copy(p[:], v)
		return nil
	}
}

func packedTime(field func(e *audit.Event) *time.Time) func(e *audit.Event, v string, null bool) error {
	return func(e *audit.Event, v string, null bool) error {
		p := field(e)
		if null || v == "" {
			*p = time.Time{}
			return nil
		}
		if t, ok := parseStoredTime(v); ok {
			*p = t
			return nil
		}
		return timeValue{p}.parse(v)
	}
}

// parseStoredTime parses a time in timeLayout, as SQLite stores them, in
// a fraction of time.Parse's cost; ok is false for any other text.
func parseStoredTime(s string) (t time.Time, ok bool) {
	// 2006-01-02T15:04:05.000000Z
	if len(s) != len(timeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	micro, ok7 := num(20, 26)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, micro*1000, time.UTC)
	if t.Day() != day { // such as February 30: time.Date would normalise it
		return time.Time{}, false
	}
	return t, true
}
