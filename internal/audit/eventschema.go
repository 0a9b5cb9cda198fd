package audit

import "time"

// EventSchema is one version of a JSON Schema that the events of one
// action must match when they are recorded, in one account or in every
// account (AccountID 0). A version never changes; it may be deleted only
// until an event has been checked against it (UsedAt). See
// docs/platform.md#event-schemas.
type EventSchema struct {
	ID int64
	// AccountID is the account whose events the schema checks; 0 is every
	// account.
	AccountID int64
	Action    string
	// Version counts from 1 for each account (or every account) and action.
	Version int
	// Body is the JSON Schema, compact JSON.
	Body      []byte
	CreatedBy string
	CreatedAt time.Time
	// UsedAt is when an event was first checked against this version;
	// zero until then.
	UsedAt time.Time
}

// AllAccounts reports whether the schema checks the events of every
// account.
func (s *EventSchema) AllAccounts() bool { return s.AccountID == 0 }

// Used reports whether an event has been checked against the schema, which
// then can no longer be deleted.
func (s *EventSchema) Used() bool { return !s.UsedAt.IsZero() }
