package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Limits of the ingest API.
const (
	MaxBatch         = 1000
	MaxEventIDLen    = 128
	MaxActionLen     = 100
	MaxResourceLen   = 255
	MaxDetailsLen    = 10_000
	MaxUserAgentLen  = 1024
	MaxActorFieldLen = 255
	MaxActorEmailLen = 320
	MaxMetadataBytes = 16 << 10 // compact JSON
	MaxChanges       = 100
	MaxChangesBytes  = 32 << 10 // compact JSON
	MaxChangeField   = 100
	// MaxFutureSkew bounds how far in the future occurred_at may be.
	MaxFutureSkew = 24 * time.Hour
)

var (
	// actionPattern: lower-case words of letters, digits and underscores,
	// joined by dots, such as order.refunded or product_created.
	actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
	// eventIDPattern: the characters of common ID formats (UUIDs, ULIDs,
	// prefixed IDs such as evt_123, URNs).
	eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:\-]+$`)
	// emailPattern finds an email address in text: resource_id enters the
	// log's leaf in clear text and can never be erased, so it must not
	// hold one (docs/verification.md, trust model).
	emailPattern = regexp.MustCompile(`[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[A-Za-z]{2,}`)
	// actorTypePattern names a kind of external actor, such as customer.
	actorTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// reservedActorTypes are the actor types the service sets itself, which no
// client may claim.
var reservedActorTypes = map[string]bool{
	audit.ActorUser: true, audit.ActorAPIKey: true, audit.ActorSystem: true, audit.ActorPlatformKey: true, "viewer": true,
}

// EventInput is one event as a client sends it.
type EventInput struct {
	EventID      string         `json:"event_id"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	Details      string         `json:"details"`
	IPAddress    string         `json:"ip_address"`
	UserAgent    string         `json:"user_agent"`
	Actor        *ActorInput    `json:"actor"`
	OccurredAt   string         `json:"occurred_at"`
	Outcome      string         `json:"outcome"`
	Metadata     jsontext.Value `json:"metadata"`
	Changes      []ChangeInput  `json:"changes"`
}

// ActorInput names who acted: a user of the account (UserID), or an
// external actor (ID, with optional Name, Email and Type).
type ActorInput struct {
	UserID int64  `json:"user_id"`
	ID     string `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Type   string `json:"type"`
}

// ChangeInput is one before/after value.
type ChangeInput struct {
	Field string         `json:"field"`
	Old   jsontext.Value `json:"old"`
	New   jsontext.Value `json:"new"`
}

// BatchInput is the body of a batch request.
type BatchInput struct {
	Events []EventInput `json:"events"`
}

// PlatformEventInput is one event as a platform key sends it: an event and
// the account it goes to, by account_id or external_id.
type PlatformEventInput struct {
	AccountID  int64  `json:"account_id"`
	ExternalID string `json:"external_id"`
	EventInput `json:",inline"`
}

// PlatformBatchInput is the body of a platform batch request.
type PlatformBatchInput struct {
	Events []PlatformEventInput `json:"events"`
}

// Problem is one invalid field of one event in a request.
type Problem struct {
	Index   int    `json:"index"` // the event's position in the batch; 0 for a single event
	Field   string `json:"field"`
	Message string `json:"message"`
}

// InvalidError lists every problem found in a request; nothing of it was
// written.
type InvalidError struct {
	Problems []Problem
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 1 {
		p := e.Problems[0]
		return fmt.Sprintf("event %d: %s", p.Index, p.Message)
	}
	return fmt.Sprintf("%d problems in %d events", len(e.Problems), countEvents(e.Problems))
}

func countEvents(ps []Problem) int {
	seen := map[int]bool{}
	for _, p := range ps {
		seen[p.Index] = true
	}
	return len(seen)
}

// strict is how request bodies are decoded.
var strict = jsonv2.JoinOptions(jsonv2.RejectUnknownMembers(true))

// DecodeEvent decodes a single-event body.
func DecodeEvent(body []byte) (*EventInput, error) {
	var in EventInput
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// DecodeBatch decodes a batch body: {"events": [...]} with 1 to MaxBatch events.
func DecodeBatch(body []byte) ([]EventInput, error) {
	var in BatchInput
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	return in.Events, checkBatch(len(in.Events), in.Events == nil)
}

// DecodePlatformEvent decodes a platform key's single-event body.
func DecodePlatformEvent(body []byte) (*PlatformEventInput, error) {
	var in PlatformEventInput
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// DecodePlatformBatch decodes a platform key's batch body: {"events":
// [...]} with 1 to MaxBatch events, each naming its account.
func DecodePlatformBatch(body []byte) ([]PlatformEventInput, error) {
	var in PlatformBatchInput
	if err := unmarshal(body, &in); err != nil {
		return nil, err
	}
	return in.Events, checkBatch(len(in.Events), in.Events == nil)
}

// checkBatch checks the size of a batch of n events (missing: no events
// member at all).
func checkBatch(n int, missing bool) error {
	switch {
	case missing:
		return audit.FieldError("events", "events is required: a list of 1 to %d events.", MaxBatch)
	case n == 0:
		return audit.FieldError("events", "events must hold at least one event.")
	case n > MaxBatch:
		return audit.FieldError("events", "a batch holds at most %d events; this one has %d.", MaxBatch, n)
	}
	return nil
}

// unmarshal decodes strictly and turns decoder errors into client errors
// that name the field, without echoing the body.
func unmarshal(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return audit.Errorf(audit.EINVALID, "Request body is required: send a JSON object.")
	}
	err := jsonv2.Unmarshal(body, v, strict)
	if err == nil {
		return nil
	}
	var se *jsonv2.SemanticError
	if errors.As(err, &se) {
		field := fieldPath(string(se.JSONPointer))
		switch {
		case errors.Is(err, jsonv2.ErrUnknownName):
			return audit.FieldError(field, "unknown field %s: check its spelling against the API reference.", field)
		case se.JSONKind != 0 && field != "":
			return audit.FieldError(field, "%s has the wrong type (%s).", field, kindName(se.JSONKind))
		case field != "":
			return audit.FieldError(field, "%s is not valid.", field)
		}
		return audit.Errorf(audit.EINVALID, "Request body must be a JSON object.")
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		switch {
		case errors.Is(err, jsontext.ErrDuplicateName):
			return audit.FieldError(fieldPath(string(syn.JSONPointer)), "a field appears twice.")
		case strings.Contains(syn.Error(), "UTF-8"):
			return audit.Errorf(audit.EINVALID, "Request body holds text that is not valid UTF-8.")
		}
		return audit.Errorf(audit.EINVALID, "Request body is not valid JSON (at byte %d).", syn.ByteOffset)
	}
	return audit.Errorf(audit.EINVALID, "Request body is not valid JSON.")
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "got a string"
	case '0':
		return "got a number"
	case 't', 'f':
		return "got a boolean"
	case 'n':
		return "got null"
	case '{':
		return "got an object"
	case '[':
		return "got an array"
	}
	return "unexpected value"
}

// fieldPath turns a JSON pointer such as /events/3/actor/user_id into the
// field name used in errors: events[3].actor.user_id.
func fieldPath(ptr string) string {
	if ptr == "" {
		return ""
	}
	var b strings.Builder
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		if tok != "" && strings.Trim(tok, "0123456789") == "" {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// Validate checks one event and converts it, collecting its problems at the
// given index. The event's account and acting user are the caller's to set.
func (in *EventInput) Validate(index int, now time.Time) (*audit.Event, []Problem) {
	var ps []Problem
	bad := func(field, format string, args ...any) {
		ps = append(ps, Problem{Index: index, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	text := func(field, v string, max int, multiline bool) {
		switch {
		case !utf8.ValidString(v):
			bad(field, "%s must be valid UTF-8 text.", field)
		case utf8.RuneCountInString(v) > max:
			bad(field, "%s must be at most %d characters.", field, max)
		case strings.ContainsFunc(v, func(r rune) bool {
			return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r'))
		}):
			bad(field, "%s must not contain control characters.", field)
		}
	}
	e := &audit.Event{
		EventID: in.EventID, Action: in.Action, ResourceType: in.ResourceType, ResourceID: in.ResourceID,
		Details: in.Details, IPAddress: in.IPAddress, UserAgent: in.UserAgent, Outcome: in.Outcome,
	}
	switch {
	case in.Action == "":
		bad("action", "action is required, such as order.refunded or product_created.")
	case len(in.Action) > MaxActionLen || !actionPattern.MatchString(in.Action):
		bad("action", "action must be lower-case words of letters, digits and underscores joined by dots, such as order.refunded (at most %d characters).", MaxActionLen)
	}
	if in.EventID != "" && (len(in.EventID) > MaxEventIDLen || !eventIDPattern.MatchString(in.EventID)) {
		bad("event_id", "event_id must be at most %d letters, digits and . _ : - characters.", MaxEventIDLen)
	}
	text("resource_type", in.ResourceType, MaxResourceLen, false)
	text("resource_id", in.ResourceID, MaxResourceLen, false)
	if emailPattern.MatchString(in.ResourceID) {
		bad("resource_id", "resource_id must not hold an email address: it is stored in the log's leaf in clear text and can never be erased. Use an opaque identifier (such as the customer's ID) and put the email in actor.email, details or metadata, which can be erased.")
	}
	text("details", in.Details, MaxDetailsLen, true)
	text("user_agent", in.UserAgent, MaxUserAgentLen, false)
	if in.IPAddress != "" {
		if a, err := netip.ParseAddr(in.IPAddress); err != nil {
			bad("ip_address", "ip_address must be an IPv4 or IPv6 address.")
		} else {
			e.IPAddress = a.Unmap().String()
		}
	}
	switch in.Outcome {
	case "", audit.OutcomeSuccess, audit.OutcomeFailure:
	default:
		bad("outcome", "outcome must be success or failure.")
	}
	if in.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339Nano, in.OccurredAt)
		switch {
		case err != nil:
			bad("occurred_at", "occurred_at must be an RFC 3339 date-time such as 2024-01-31T12:00:00Z.")
		case t.Year() < 1971 || t.After(now.Add(MaxFutureSkew)):
			bad("occurred_at", "occurred_at must be after 1970 and at most a day in the future.")
		default:
			e.OccurredAt = t.UTC().Truncate(time.Microsecond)
		}
	}
	if a := in.Actor; a != nil {
		switch {
		case a.UserID != 0 && (a.ID != "" || a.Name != "" || a.Email != ""):
			bad("actor", "actor names either a user of the account (user_id) or an external actor (id, name, email), not both.")
		case a.UserID < 0:
			bad("actor.user_id", "actor.user_id must be a positive number.")
		case a.UserID > 0:
			if a.Type != "" && a.Type != audit.ActorUser {
				bad("actor.type", "an actor given by user_id has type user.")
			}
			e.UserID, e.ActorType = a.UserID, audit.ActorUser
		case a.ID == "":
			bad("actor.id", "actor needs user_id (a user of the account) or id (an external actor).")
		default:
			text("actor.id", a.ID, MaxActorFieldLen, false)
			text("actor.name", a.Name, MaxActorFieldLen, false)
			text("actor.email", a.Email, MaxActorEmailLen, false)
			e.ActorType, e.ActorID, e.ActorName, e.ActorEmail = "external", a.ID, a.Name, a.Email
			if a.Type != "" {
				if !actorTypePattern.MatchString(a.Type) || reservedActorTypes[a.Type] {
					bad("actor.type", "actor.type must be a lower-case word such as customer (not user, api_key, platform_key, viewer or system).")
				}
				e.ActorType = a.Type
			}
		}
	}
	if len(in.Metadata) > 0 && string(in.Metadata) != "null" {
		if in.Metadata.Kind() != '{' {
			bad("metadata", "metadata must be a JSON object.")
		} else if compact, err := compactJSON(in.Metadata); err != nil {
			bad("metadata", "metadata is not valid JSON.")
		} else if len(compact) > MaxMetadataBytes {
			bad("metadata", "metadata must be at most %d bytes of compact JSON.", MaxMetadataBytes)
		} else {
			e.Metadata = compact
		}
	}
	if in.Changes != nil {
		if len(in.Changes) > MaxChanges {
			bad("changes", "changes holds at most %d entries.", MaxChanges)
		}
		for i, c := range in.Changes {
			field := fmt.Sprintf("changes[%d].field", i)
			if c.Field == "" {
				bad(field, "%s is required.", field)
			}
			text(field, c.Field, MaxChangeField, false)
		}
		if compact, err := compactChanges(in.Changes); err != nil {
			bad("changes", "changes is not valid JSON.")
		} else if len(compact) > MaxChangesBytes {
			bad("changes", "changes must be at most %d bytes of compact JSON.", MaxChangesBytes)
		} else if len(in.Changes) > 0 {
			e.Changes = compact
		}
	}
	return e, ps
}

// compactJSON returns v without insignificant space.
func compactJSON(v jsontext.Value) ([]byte, error) {
	c := v.Clone()
	if err := c.Compact(); err != nil {
		return nil, err
	}
	return c, nil
}

// compactChanges encodes changes as compact JSON with a fixed member order.
func compactChanges(cs []ChangeInput) ([]byte, error) {
	type change struct {
		Field string         `json:"field"`
		Old   jsontext.Value `json:"old,omitzero"`
		New   jsontext.Value `json:"new,omitzero"`
	}
	out := make([]change, len(cs))
	for i, c := range cs {
		out[i] = change(c)
	}
	b, err := jsonv2.Marshal(out)
	if err != nil {
		return nil, err
	}
	return compactJSON(b)
}

// FieldPath turns a JSON pointer such as /actor/user_id or /changes/0/old
// into the field name used in errors: actor.user_id, changes[0].old.
func FieldPath(ptr string) string { return fieldPath(ptr) }

// ValidAction reports whether s is an action name that events may carry:
// lower-case words joined by dots, at most MaxActionLen characters.
func ValidAction(s string) bool { return len(s) <= MaxActionLen && actionPattern.MatchString(s) }

// instanceOptions encode an event for an event schema: the members the
// client sent, none added.
var instanceOptions = jsonv2.JoinOptions(jsonv2.OmitZeroStructFields(true), jsonv2.Deterministic(true))

// SchemaInstance returns the event as an event schema checks it: a JSON
// object of the members the client sent (event_id, action, resource_type,
// resource_id, details, ip_address, user_agent, actor, occurred_at,
// outcome, metadata, changes), as sent; the account a platform names is
// not part of it.
func (in *EventInput) SchemaInstance() ([]byte, error) {
	return jsonv2.Marshal(in, instanceOptions)
}
