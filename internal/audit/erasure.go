package audit

import "time"

// ActionPersonalDataErased is the action of the event that records an
// erasure of personal data (docs/privacy.md).
const ActionPersonalDataErased = "personal_data_erased"

// ResourcePersonalData is the resource type of that event.
const ResourcePersonalData = "personal_data"

// PermErasePersonalData erases the personal data of a user or external
// actor from the account's events. Only owners hold it; it is not in the
// seed's table.
const PermErasePersonalData Permission = "personal_data:erase"

// Subject types of an erasure: whose personal data it erased.
const (
	SubjectUser  = "user"
	SubjectActor = "actor"
	SubjectEmail = "email"
)

// PersonalFields are the personal fields of an event, as the API and
// export name them: what the leaf holds only as a commitment, and what an
// erasure removes.
var PersonalFields = []string{"actor_id", "actor_email", "actor_name", "ip_address", "user_agent", "details", "metadata", "changes"}

// Erasure is one erasure of a person's personal data from an account's
// events. It holds what was erased, never the data: the subject only as an
// opaque reference.
type Erasure struct {
	AccountID int64
	// Seq is the seq of the erasure's own event in the account's log, and
	// the erasure's ID in the API.
	Seq int64
	// SubjectType is SubjectUser, SubjectActor or SubjectEmail; SubjectRef
	// is "user:" and the user's ID, or for the other two the type, a colon
	// and a keyed hash of the actor ID or email, so that the same subject
	// always gets the same reference without the reference revealing it.
	SubjectType string
	SubjectRef  string
	// RequestedBy is the owner who asked; 0 for an operator.
	RequestedBy int64
	// Events is how many events had their personal data erased; Fields,
	// per personal field (PersonalFields), how many of them held it.
	Events int64
	Fields map[string]int64
	// ChatTurns is how many chat turns quoted the subject's email and had
	// it replaced.
	ChatTurns int64
	// UserAnonymized reports that the user record was anonymised.
	UserAnonymized bool
	CreatedAt      time.Time
}
