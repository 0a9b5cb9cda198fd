package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/query"
)

// Limits of a rule's fields.
const (
	MaxNameLen   = 100
	MaxActionLen = 255
	MaxThreshold = 100_000
	MinWindow    = time.Second
	MaxWindow    = 30 * 24 * time.Hour
	// maxGroupKey is the longest group key stored as it is; longer ones
	// are stored as their SHA-256.
	maxGroupKey = 200
)

// Validate checks a rule's fields and returns the query that selects its
// events (Select). Errors are *audit.Error with code EINVALID and the
// field at fault named as the JSON API names it.
func Validate(r *audit.AlertRule) (*query.Query, error) {
	r.Name = strings.TrimSpace(r.Name)
	r.Action = strings.TrimSpace(r.Action)
	r.Query = strings.TrimSpace(r.Query)
	switch {
	case r.Name == "":
		return nil, audit.FieldError("name", "name is required.")
	case utf8.RuneCountInString(r.Name) > MaxNameLen || !utf8.ValidString(r.Name):
		return nil, audit.FieldError("name", "name must be at most %d characters.", MaxNameLen)
	case r.Threshold < 0 || r.Threshold > MaxThreshold:
		return nil, audit.FieldError("threshold", "threshold must be a whole number from 0 (alert on every match) to %d.", MaxThreshold)
	case r.Threshold > 0 && r.Window == 0:
		return nil, audit.FieldError("window_seconds", "A threshold needs a window: window_seconds is required.")
	case r.Window != 0 && (r.Window < MinWindow || r.Window > MaxWindow || r.Window%time.Second != 0):
		return nil, audit.FieldError("window_seconds", "window_seconds must be a whole number of seconds from %d to %d.",
			int(MinWindow/time.Second), int(MaxWindow/time.Second))
	}
	switch r.GroupBy {
	case audit.GroupNone, audit.GroupActor, audit.GroupIP, audit.GroupResource:
	default:
		return nil, audit.FieldError("group_by", "group_by must be actor, ip, resource or empty.")
	}
	if r.GroupBy != audit.GroupNone && r.Window == 0 {
		return nil, audit.FieldError("group_by", "group_by needs a window: a rule without one alerts on every match.")
	}
	return Select(r)
}

// Select returns the query that selects a rule's events: its action
// pattern and its search, and never an alert.triggered event, so that no
// alert raises another.
func Select(r *audit.AlertRule) (*query.Query, error) {
	if r.Action == "" {
		return nil, audit.FieldError("action", "action is required: an action such as login_failed, a list such as order.refunded,order_refunded, or a prefix such as payout.*.")
	}
	if len(r.Action) > MaxActionLen || strings.ContainsFunc(r.Action, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-:*,", c))
	}) {
		return nil, audit.FieldError("action", "action must be at most %d characters of letters, digits and . _ - : * , (a comma-separated list of actions, each of which may end in *).", MaxActionLen)
	}
	action, err := parse("action:"+r.Action, "action")
	if err != nil {
		return nil, err
	}
	search, err := parse(r.Query, "q")
	if err != nil {
		return nil, err
	}
	for _, c := range search.Clauses {
		if c.Field == query.FieldCreated {
			return nil, audit.FieldError("q", "A rule's search cannot use created: the rule looks at each event as it is recorded; use window_seconds for a time window.")
		}
	}
	notAlerts := &query.Query{Clauses: []query.Clause{{Field: query.FieldAction, Negated: true, Pos: -1,
		Values: []query.Value{{Op: query.OpEq, Text: audit.ActionAlertTriggered}}}}}
	return action.And(search).And(notAlerts), nil
}

// parse parses a search, turning its errors into field errors.
func parse(s, field string) (*query.Query, error) {
	q, err := query.Parse(s, time.Now())
	var qe *query.Error
	if errors.As(err, &qe) {
		ae := qe.AuditError()
		ae.Field = field
		return nil, ae
	}
	return q, err
}

// group returns the key of the group e counts in under the rule's
// group_by, and the clauses that select the events of that group; ok is
// false when e has nothing to group by (no actor, IP address or resource),
// and is then not counted.
func group(by string, e *audit.Event) (key string, q *query.Query, ok bool) {
	eq := func(f query.Field, v query.Value) query.Clause {
		v.Op = query.OpEq
		return query.Clause{Field: f, Pos: -1, Values: []query.Value{v}}
	}
	switch by {
	case audit.GroupNone:
		return "", nil, true
	case audit.GroupActor:
		switch {
		case e.UserID != 0:
			id := strconv.FormatInt(e.UserID, 10)
			return "user:" + id, &query.Query{Clauses: []query.Clause{eq(query.FieldUserID, query.Value{Text: id, Int: e.UserID})}}, true
		case e.ActorID != "":
			// actor: matches the ID, email or name; the type narrows
			// it to the actor's kind.
			return hashed(e.ActorType + ":" + e.ActorID), &query.Query{Clauses: []query.Clause{
				eq(query.FieldActorType, query.Value{Text: e.ActorType}), eq(query.FieldActor, query.Value{Text: e.ActorID})}}, true
		case e.ActorEmail != "":
			return hashed("email:" + e.ActorEmail), &query.Query{Clauses: []query.Clause{
				eq(query.FieldActorType, query.Value{Text: e.ActorType}), eq(query.FieldActor, query.Value{Text: e.ActorEmail})}}, true
		}
	case audit.GroupIP:
		if addr, err := netip.ParseAddr(e.IPAddress); err == nil {
			addr = addr.Unmap()
			return addr.String(), &query.Query{Clauses: []query.Clause{
				eq(query.FieldIP, query.Value{Text: addr.String(), Prefix: netip.PrefixFrom(addr, addr.BitLen())})}}, true
		}
	case audit.GroupResource:
		if e.ResourceType != "" && e.ResourceID != "" {
			text := e.ResourceType + ":" + e.ResourceID
			return hashed(text), &query.Query{Clauses: []query.Clause{
				eq(query.FieldResource, query.Value{Text: text, Type: e.ResourceType, ID: e.ResourceID})}}, true
		}
	}
	return "", nil, false
}

// hashed returns key, or its SHA-256 when it is too long to store.
func hashed(key string) string {
	if len(key) <= maxGroupKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// within returns a query that selects the events of the window that ends
// at t: recorded after t-w and at t or before.
func within(t time.Time, w time.Duration) *query.Query {
	since, until := t.Add(-w).Add(time.Microsecond), t
	return &query.Query{Clauses: []query.Clause{{Field: query.FieldCreated, Pos: -1, Values: []query.Value{{
		Op: query.OpRange, Text: since.Format(time.RFC3339Nano), To: until.Format(time.RFC3339Nano), Since: since, Until: until,
	}}}}}
}

// bucket returns the number of the window of w that t falls in (windows
// are aligned on the Unix epoch) and its start.
func bucket(t time.Time, w time.Duration) (int64, time.Time) {
	us := w.Microseconds()
	n := t.UnixMicro() / us
	if t.UnixMicro() < 0 && t.UnixMicro()%us != 0 {
		n--
	}
	return n, time.UnixMicro(n * us).UTC()
}
