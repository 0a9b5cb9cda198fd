package sqlstore

import (
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// Exports and listings on SQLite read each event as one text value, its
// columns joined by SQLite's concat(), instead of one value per column.
//
// Why: the driver (modernc.org/sqlite) reads a row's columns one at a
// time, three calls into SQLite per column (its type, its value, its
// length), each taking and releasing the connection's mutex (the driver
// opens every connection SQLITE_OPEN_FULLMUTEX), and allocates each value;
// database/sql then converts each into its destination. At 24 columns that
// was over half of an export's CPU. One packed value per row costs three
// calls and one allocation; the event's strings are slices of it.
//
// The packing: the columns in order, each followed by the unit separator
// (0x1f) but the last: integers in decimal, text as stored, NULL as
// nothing (the zero value the column scanners give NULL too); JSON text
// and the salt, where NULL means something else than empty, as "=" and the
// value, or nothing for NULL; blobs in hexadecimal. A text that holds the
// separator itself (the ingest API refuses control characters in what it
// stores, but a store may hold older data) makes one field too many: such
// a row fails to unpack with errPackedRow, and its page is read again
// column by column.
//
// An earlier packing wrote each column's length with printf and needed no
// separator; SQLite's printf cost as much CPU as the driver's per-column
// reads it saved on a listing page, and more than twice this one
// (BenchmarkReadPath, page and page-columns).

// packedSeparator separates the fields of a packed row.
const packedSeparator = '\x1f'

// packedColumn is how one column is packed in SQL and read back into an
// event.
type packedColumn struct {
	// expr returns the column's packed SQL expression for col ("e.salt").
	expr func(col string) string
	// set stores the column's packed value into e.
	set func(e *audit.Event, v string) error
}

// packedColumns names the read-back of every column of eventSelectTable; init
// panics when one is missing, so a column added to the table cannot be
// left out of exports and listings.
var packedColumns = map[string]packedColumn{
	"id":            packedInt(func(e *audit.Event) *int64 { return &e.ID }),
	"account_id":    packedInt(func(e *audit.Event) *int64 { return &e.AccountID }),
	"seq":           packedInt(func(e *audit.Event) *int64 { return &e.Seq }),
	"user_id":       packedInt(func(e *audit.Event) *int64 { return &e.UserID }),
	"api_key_id":    packedInt(func(e *audit.Event) *int64 { return &e.APIKeyID }),
	"action":        packedText(func(e *audit.Event) *string { return &e.Action }),
	"resource_type": packedText(func(e *audit.Event) *string { return &e.ResourceType }),
	"resource_id":   packedText(func(e *audit.Event) *string { return &e.ResourceID }),
	"details":       packedText(func(e *audit.Event) *string { return &e.Details }),
	"ip_address":    packedText(func(e *audit.Event) *string { return &e.IPAddress }),
	"user_agent":    packedText(func(e *audit.Event) *string { return &e.UserAgent }),
	"actor_type":    packedText(func(e *audit.Event) *string { return &e.ActorType }),
	"actor_id":      packedText(func(e *audit.Event) *string { return &e.ActorID }),
	"actor_email":   packedText(func(e *audit.Event) *string { return &e.ActorEmail }),
	"actor_name":    packedText(func(e *audit.Event) *string { return &e.ActorName }),
	"event_id":      packedText(func(e *audit.Event) *string { return &e.EventID }),
	"outcome":       packedText(func(e *audit.Event) *string { return &e.Outcome }),
	"created_at":    packedTime(func(e *audit.Event) *time.Time { return &e.CreatedAt }),
	"occurred_at":   packedTime(func(e *audit.Event) *time.Time { return &e.OccurredAt }),
	"metadata":      packedJSON(func(e *audit.Event) *[]byte { return &e.Metadata }),
	"changes":       packedJSON(func(e *audit.Event) *[]byte { return &e.Changes }),
	"salt": {
		expr: func(col string) string { return "iif(" + col + " IS NULL, '', '=' || hex(" + col + "))" },
		set: func(e *audit.Event, v string) error {
			if v == "" {
				e.Salt = nil
				return nil
			}
			b, err := hex.DecodeString(v[1:])
			e.Salt = b
			return err
		},
	},
	"commitment": packedHash(func(e *audit.Event) *[32]byte { return &e.Commitment }),
	"leaf_hash":  packedHash(func(e *audit.Event) *[32]byte { return &e.LeafHash }),
}

// packedUserColumns are the acting user's columns that a listing reads
// after the event's (a LEFT JOIN of users u, as scanEventsWithUser
// reads them): the user is set when u.id is not NULL.
var packedUserColumns = []struct {
	name string
	col  packedColumn
}{
	{"u.id", packedColumn{expr: plainColumn, set: func(e *audit.Event, v string) error {
		if v == "" {
			return nil
		}
		id, err := strconv.ParseInt(v, 10, 64)
		e.User = &audit.User{ID: id, AccountID: e.AccountID}
		return err
	}}},
	{"u.email", packedUserText(func(u *audit.User) *string { return &u.Email })},
	{"u.first_name", packedUserText(func(u *audit.User) *string { return &u.FirstName })},
	{"u.last_name", packedUserText(func(u *audit.User) *string { return &u.LastName })},
	{"u.role", packedColumn{expr: plainColumn, set: func(e *audit.Event, v string) error {
		if e.User != nil {
			e.User.Role = audit.Role(v)
		}
		return nil
	}}},
}

// packing is a select expression of rows packed into one text value, and
// the read-back of its columns.
type packing struct {
	// column is the select expression, over alias "e" (and "u").
	column string
	// setters are the read-backs of its columns, in order.
	setters []func(e *audit.Event, v string) error
}

var (
	// packedEvent packs the columns of eventSelectTable (exports).
	packedEvent packing
	// packedEventUser packs those and then the acting user's columns
	// (listings).
	packedEventUser packing
)

func init() {
	type col struct {
		expr string
		p    packedColumn
	}
	var event []col
	for _, c := range eventSelectTable {
		p, ok := packedColumns[c.name]
		if !ok {
			panic("sqlstore: column " + c.name + " has no packed read-back (exportrow.go)")
		}
		event = append(event, col{"e." + c.name, p})
	}
	withUser := slices.Clone(event)
	for _, c := range packedUserColumns {
		withUser = append(withUser, col{c.name, c.col})
	}
	pack := func(cols []col) packing {
		var out packing
		var args []string
		for i, c := range cols {
			if i > 0 {
				args = append(args, "char(31)")
			}
			args = append(args, c.p.expr(c.expr))
			out.setters = append(out.setters, c.p.set)
		}
		out.column = "concat(" + strings.Join(args, ", ") + ")"
		return out
	}
	packedEvent, packedEventUser = pack(event), pack(withUser)
}

// errPackedRow is the error of a packed row that does not unpack.
var errPackedRow = errors.New("sqlstore: packed event row does not unpack")

// unpack reads a row packed as k.column into e.
func (k *packing) unpack(e *audit.Event, row string) error {
	last := len(k.setters) - 1
	for i, set := range k.setters {
		v := row
		if i < last {
			end := strings.IndexByte(row, packedSeparator)
			if end < 0 {
				return errPackedRow
			}
			v, row = row[:end], row[end+1:]
		} else if strings.IndexByte(row, packedSeparator) >= 0 {
			return errPackedRow
		}
		if err := set(e, v); err != nil {
			return fmt.Errorf("%w: %w", errPackedRow, err)
		}
	}
	return nil
}

// scanPacked reads rows of k.column into events and closes rows. With
// sizeHint > 0, the events are allocated sizeHint at a time (a listing
// page's, which are used together); with 0, one at a time.
func (db *DB) scanPacked(rows *sql.Rows, k *packing, sizeHint int) ([]*audit.Event, error) {
	defer rows.Close()
	events := make([]*audit.Event, 0, sizeHint)
	block := make([]audit.Event, sizeHint)
	var row string
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return nil, db.wrap(err, "scan event")
		}
		if len(block) == 0 {
			block = make([]audit.Event, max(sizeHint, 1))
		}
		e := &block[0]
		block = block[1:]
		if err := k.unpack(e, row); err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, db.wrap(rows.Err(), "select events")
}

// plainColumn packs a column as it is: NULL as nothing.
func plainColumn(col string) string { return col }

func packedInt(field func(e *audit.Event) *int64) packedColumn {
	return packedColumn{expr: plainColumn, set: func(e *audit.Event, v string) error {
		if v == "" { // NULL
			*field(e) = 0
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		*field(e) = n
		return err
	}}
}

func packedText(field func(e *audit.Event) *string) packedColumn {
	return packedColumn{expr: plainColumn, set: func(e *audit.Event, v string) error {
		*field(e) = v
		return nil
	}}
}

func packedUserText(field func(u *audit.User) *string) packedColumn {
	return packedColumn{expr: plainColumn, set: func(e *audit.Event, v string) error {
		if e.User != nil {
			*field(e.User) = v
		}
		return nil
	}}
}

// packedJSON packs JSON text as "=" and the text, NULL as nothing.
func packedJSON(field func(e *audit.Event) *[]byte) packedColumn {
	return packedColumn{
		expr: func(col string) string { return "iif(" + col + " IS NULL, '', '=' || " + col + ")" },
		set: func(e *audit.Event, v string) error {
			if v == "" {
				*field(e) = nil
			} else {
				*field(e) = []byte(v[1:])
			}
			return nil
		},
	}
}

// packedHash packs a 32-byte hash in hexadecimal.
func packedHash(field func(e *audit.Event) *[32]byte) packedColumn {
	return packedColumn{
		expr: func(col string) string { return "hex(" + col + ")" },
		set: func(e *audit.Event, v string) error {
			p := field(e)
			if len(v) != 2*len(p) {
				return fmt.Errorf("sqlstore: malformed stored hash (%d bytes; want 32)", len(v)/2)
			}
			for i := range p {
				hi, ok1 := unhex(v[2*i])
				lo, ok2 := unhex(v[2*i+1])
				if !ok1 || !ok2 {
					return errors.New("sqlstore: malformed stored hash (not hexadecimal)")
				}
				p[i] = hi<<4 | lo
			}
			return nil
		},
	}
}

// unhex returns the value of a hexadecimal digit, as SQLite's hex()
// writes them (upper case) or in lower case.
func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func packedTime(field func(e *audit.Event) *time.Time) packedColumn {
	return packedColumn{expr: plainColumn, set: func(e *audit.Event, v string) error {
		return setPackedTime(field(e), v)
	}}
}

// setPackedTime stores the packed time v into p: "" (NULL) as the zero
// time.
func setPackedTime(p *time.Time, v string) error {
	if v == "" {
		*p = time.Time{}
		return nil
	}
	if t, ok := parseStoredTime(v); ok {
		*p = t
		return nil
	}
	return timeValue{p}.parse(v)
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
