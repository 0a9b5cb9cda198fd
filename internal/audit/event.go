package audit

import "time"

// Actions the service records about itself. Platform services may record any
// other action name that matches the documented pattern.
const (
	ActionUserLogin      = "user_login"
	ActionLoginFailed    = "login_failed"
	ActionUserLogout     = "user_logout"
	ActionAccountCreated = "account_created"
	ActionUserCreated    = "user_created"
	ActionLogExported    = "audit_log_exported"
	ActionAPIKeyCreated  = "api_key_created"
	ActionAPIKeyRevoked  = "api_key_revoked"
)

// Actor types the service sets itself; clients may name other types of
// external actors.
const (
	ActorUser   = "user"
	ActorAPIKey = "api_key"
	ActorSystem = "system"
)

// Outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Resource types the service records about itself.
const (
	ResourceUser     = "user"
	ResourceAccount  = "account"
	ResourceAuditLog = "audit_log"
	ResourceAPIKey   = "api_key"
)

// Event is one entry of an account's audit log.
type Event struct {
	ID           int64
	AccountID    int64
	Seq          int64 // 1-based position in the account's log, gapless
	UserID       int64 // acting user; 0 when the actor is not a user of the account
	Action       string
	ResourceType string
	ResourceID   string
	Details      string
	IPAddress    string
	UserAgent    string
	CreatedAt    time.Time // when the service recorded the event, UTC, microseconds

	// ActorType says what kind of actor acted: ActorUser (a user of the
	// account, UserID), ActorAPIKey (a platform service by API key, with no
	// actor named), ActorSystem, or a client-chosen type of an external
	// actor (such as "customer"). ActorID identifies an external actor or
	// API key; ActorEmail and ActorName record who acted as they were when
	// the event was written. User (below) shows the user as they are now.
	ActorType  string
	ActorID    string
	ActorEmail string
	ActorName  string

	// EventID is the client's idempotency key for the event, unique within
	// the account; "" when the client gave none.
	EventID string
	// OccurredAt is when the client says the event happened; zero when not
	// given. CreatedAt, the server's receive time, orders the log.
	OccurredAt time.Time
	// Outcome is OutcomeSuccess, OutcomeFailure or "" (not stated).
	Outcome string
	// Metadata is a compact JSON object and Changes a compact JSON array of
	// {field, old, new}; nil when absent.
	Metadata []byte
	Changes  []byte
	// APIKeyID is the API key that recorded the event; 0 for events the
	// service recorded for a signed-in user or for itself.
	APIKeyID int64

	// Salt keys the commitment to the event's personal data (actor ID,
	// email and name, IP address, user agent, details, metadata and
	// changes) in its leaf of the account's verifiable log. Commitment is
	// that commitment, and LeafHash the hash of the leaf. The write path sets all three. After erasure of the personal
	// data, Salt is nil and Commitment keeps the leaf verifiable.
	Salt       []byte
	Commitment [32]byte
	LeafHash   [32]byte

	// User is the acting user as it is now, filled in by reads; nil when
	// UserID is 0.
	User *User
}

// Appended is what the write path reports of one event it was given: the
// event as stored, and whether it was a replay. The write path never
// changes the events it is given.
type Appended struct {
	// Event is the stored event: the one written, with its ID, Seq,
	// CreatedAt, Salt, Commitment and LeafHash, or for a replay the event
	// stored earlier under the same EventID.
	Event *Event
	// Replayed reports that the account already held an event with this
	// EventID (or the same call wrote it for an earlier input): nothing was
	// written for this input.
	Replayed bool
}

// SetUserActor records u as the event's actor.
func (e *Event) SetUserActor(u *User) {
	e.UserID, e.ActorType, e.ActorEmail, e.ActorName = u.ID, ActorUser, u.Email, u.FullName()
}

// EventFilter selects events of one account. Zero fields do not filter.
// Start and End are inclusive.
type EventFilter struct {
	UserID       int64
	Action       string
	ResourceType string
	Start        time.Time
	End          time.Time
}

// PageRequest asks for one page of a list, numbered from 1.
type PageRequest struct {
	Page    int
	PerPage int
	// After, when set, asks for the events that follow this position in
	// the listing order (keyset paging); Page is then ignored.
	After *Position
}

// Position is an event's place in the newest-first listing order.
type Position struct {
	CreatedAt time.Time
	Seq       int64
}

// Offset returns the number of rows before the page.
func (p PageRequest) Offset() int {
	if p.After != nil {
		return 0
	}
	return (p.Page - 1) * p.PerPage
}

// Pagination describes one page of a list, as the seed's API reports it.
type Pagination struct {
	Page    int
	PerPage int
	Total   int64
	Pages   int64
	HasNext bool
	HasPrev bool
	// TotalInexact reports that more than Total rows match: counting
	// stopped at a bound, and Pages counts no further than this page
	// (and the next, when HasNext).
	TotalInexact bool
}

// NewPagination computes the page arithmetic for total rows.
func NewPagination(p PageRequest, total int64) Pagination {
	pages := int64(0)
	if total > 0 {
		pages = (total + int64(p.PerPage) - 1) / int64(p.PerPage)
	}
	return Pagination{
		Page:    p.Page,
		PerPage: p.PerPage,
		Total:   total,
		Pages:   pages,
		HasNext: int64(p.Page) < pages,
		HasPrev: p.Page > 1,
	}
}

// EventPage is one page of events, newest first.
type EventPage struct {
	Events     []*Event
	Pagination Pagination
	// More reports whether events follow the page.
	More bool
}
