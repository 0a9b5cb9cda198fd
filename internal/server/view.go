package server

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
)

// The JSON shapes of the API. Field names and nesting follow the seed; fields
// the seed does not show are additions, never renames.

// timeFormat renders times as RFC 3339 in UTC with microseconds.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// UserJSON is a user as the API shows it. It never carries the password hash.
type UserJSON struct {
	ID        int64      `json:"id"`
	Email     string     `json:"email"`
	FirstName string     `json:"first_name"`
	LastName  string     `json:"last_name"`
	Role      audit.Role `json:"role"`
	AccountID int64      `json:"account_id"`
	IsActive  bool       `json:"is_active"`
	CreatedAt string     `json:"created_at"`
}

func userJSON(u *audit.User) UserJSON {
	return UserJSON{
		ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Role: u.Role,
		AccountID: u.AccountID, IsActive: u.IsActive, CreatedAt: formatTime(u.CreatedAt),
	}
}

// EventUserJSON is the acting user nested in an audit-log entry.
type EventUserJSON struct {
	ID        int64      `json:"id"`
	Email     string     `json:"email"`
	FirstName string     `json:"first_name"`
	LastName  string     `json:"last_name"`
	Role      audit.Role `json:"role"`
}

// AccountJSON is an account as the API shows it.
type AccountJSON struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Domain     string `json:"domain"`
	ExternalID string `json:"external_id,omitempty"`
	CreatedAt  string `json:"created_at"`
	// RetentionDays is the retention period that applies, null for
	// forever, and RetentionDefault whether it is the operator's default
	// (the account set none). Shown to owners and admins only.
	RetentionDays    *int  `json:"retention_days,omitzero"`
	RetentionDefault *bool `json:"retention_default,omitempty"`
	retention        bool
}

// MarshalJSON writes retention_days as null (forever) where it is shown,
// and leaves it out where it is not.
func (a AccountJSON) MarshalJSON() ([]byte, error) {
	type plain AccountJSON
	if !a.retention {
		return json.Marshal(plain(a))
	}
	return json.Marshal(struct {
		plain
		RetentionDays *int `json:"retention_days"`
	}{plain(a), a.RetentionDays})
}

func accountJSON(a *audit.Account) AccountJSON {
	j := AccountJSON{ID: a.ID, Name: a.Name, Domain: a.Domain, ExternalID: a.ExternalID, CreatedAt: formatTime(a.CreatedAt)}
	if r := a.Retention; r != nil {
		j.retention = true
		if r.EffectiveDays > 0 {
			d := r.EffectiveDays
			j.RetentionDays = &d
		}
		def := r.Days == nil
		j.RetentionDefault = &def
	}
	return j
}

// EventJSON is an audit-log entry. Optional text that was not recorded is
// null, as in the seed.
type EventJSON struct {
	ID           int64          `json:"id"`
	Seq          int64          `json:"seq"`
	UserID       *int64         `json:"user_id"`
	User         *EventUserJSON `json:"user"`
	Action       string         `json:"action"`
	ResourceType *string        `json:"resource_type"`
	ResourceID   *string        `json:"resource_id"`
	Details      *string        `json:"details"`
	IPAddress    *string        `json:"ip_address"`
	UserAgent    *string        `json:"user_agent"`
	CreatedAt    string         `json:"created_at"`
	LeafHash     tlog.Hash      `json:"leaf_hash"` // the event's leaf in the account's verifiable log

	// Fields of the ingest API.
	EventID    *string         `json:"event_id"`
	OccurredAt *string         `json:"occurred_at"`
	Outcome    *string         `json:"outcome"`
	Actor      ActorJSON       `json:"actor"`
	Metadata   json.RawMessage `json:"metadata"`
	Changes    json.RawMessage `json:"changes"`
	// Erased, present only when true, marks an event whose personal data
	// was erased (docs/privacy.md): its personal fields are null, and its
	// leaf still proves it by its commitment.
	Erased bool `json:"personal_data_erased,omitempty"`
}

// ActorJSON says who acted, as recorded when the event was written.
type ActorJSON struct {
	Type  *string `json:"type"`
	ID    *string `json:"id"`
	Name  *string `json:"name"`
	Email *string `json:"email"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func eventJSON(e *audit.Event) EventJSON {
	j := EventJSON{
		ID: e.ID, Seq: e.Seq, Action: e.Action,
		ResourceType: optional(e.ResourceType), ResourceID: optional(e.ResourceID), Details: optional(e.Details),
		IPAddress: optional(e.IPAddress), UserAgent: optional(e.UserAgent), CreatedAt: formatTime(e.CreatedAt),
		LeafHash: e.LeafHash, EventID: optional(e.EventID), Outcome: optional(e.Outcome),
		Actor:    ActorJSON{Type: optional(e.ActorType), ID: optional(e.ActorID), Name: optional(e.ActorName), Email: optional(e.ActorEmail)},
		Metadata: rawJSON(e.Metadata), Changes: rawJSON(e.Changes), Erased: e.Salt == nil,
	}
	if !e.OccurredAt.IsZero() {
		t := formatTime(e.OccurredAt)
		j.OccurredAt = &t
	}
	if e.ActorType == audit.ActorUser && e.UserID != 0 {
		id := strconv.FormatInt(e.UserID, 10)
		j.Actor.ID = &id
	}
	if e.UserID != 0 {
		id := e.UserID
		j.UserID = &id
	}
	if u := e.User; u != nil {
		j.User = &EventUserJSON{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Role: u.Role}
	}
	return j
}

// PaginationJSON is the seed's pagination object.
type PaginationJSON struct {
	Page    *int  `json:"page"` // null when paging by cursor
	PerPage int   `json:"per_page"`
	Total   int64 `json:"total"`
	Pages   int64 `json:"pages"`
	HasNext bool  `json:"has_next"`
	HasPrev bool  `json:"has_prev"`
	// NextCursor, when more events follow, asks for them with ?cursor=:
	// keyset paging, as fast on the last page as on the first.
	NextCursor *string `json:"next_cursor"`
}

func paginationJSON(p audit.Pagination) PaginationJSON {
	page := p.Page
	return PaginationJSON{Page: &page, PerPage: p.PerPage, Total: p.Total, Pages: p.Pages, HasNext: p.HasNext, HasPrev: p.HasPrev}
}

// rawJSON returns stored JSON text for embedding, or null.
func rawJSON(b []byte) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}
