package export

import (
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
)

// Format names this version of the export format; it is the header's
// "format" value.
const Format = "auditlog-export/1"

// Line types.
const (
	TypeHeader = "header"
	TypeEvent  = "event"
	TypeEnd    = "end"
)

// Header is the first line of an export.
type Header struct {
	Type       string            `json:"type"` // "header"
	Format     string            `json:"format"`
	AccountID  int64             `json:"account_id"`
	Origin     string            `json:"origin"`
	TreeSize   int64             `json:"tree_size"`
	RootHash   tlog.Hash         `json:"root_hash"`
	Checkpoint string            `json:"checkpoint"` // the signed note
	Complete   bool              `json:"complete"`   // every event 1..tree_size follows, in order
	Filter     map[string]string `json:"filter,omitempty"`
	ExportedAt string            `json:"exported_at"`
}

// Event is one event line.
type Event struct {
	Type         string      `json:"type"` // "event"
	ID           int64       `json:"id"`
	Seq          int64       `json:"seq"`
	CreatedAt    string      `json:"created_at"`  // RFC 3339, UTC, microseconds
	OccurredAt   string      `json:"occurred_at"` // "" when not given
	UserID       int64       `json:"user_id"`
	ActorType    string      `json:"actor_type"`
	EventID      string      `json:"event_id"`
	Action       string      `json:"action"`
	ResourceType string      `json:"resource_type"`
	ResourceID   string      `json:"resource_id"`
	Outcome      string      `json:"outcome"`
	ActorID      string      `json:"actor_id"`
	ActorEmail   string      `json:"actor_email"`
	ActorName    string      `json:"actor_name"`
	IPAddress    string      `json:"ip_address"`
	UserAgent    string      `json:"user_agent"`
	Details      string      `json:"details"`
	Metadata     string      `json:"metadata"` // the JSON text the leaf commits to, "" when absent
	Changes      string      `json:"changes"`  // the JSON text the leaf commits to, "" when absent
	Salt         []byte      `json:"salt"`     // null once the personal data is erased
	Commitment   tlog.Hash   `json:"commitment"`
	LeafHash     tlog.Hash   `json:"leaf_hash"`
	Proof        []tlog.Hash `json:"proof,omitempty"` // inclusion proof, in filtered exports
}

// End is the last line: it lets a verifier tell a whole file from a cut one.
type End struct {
	Type   string `json:"type"` // "end"
	Events int64  `json:"events"`
}

// timeLayout renders event times in exports.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// EventOf returns the export line of a stored event.
func EventOf(e *audit.Event) Event {
	out := Event{
		Type: TypeEvent, ID: e.ID, Seq: e.Seq, CreatedAt: e.CreatedAt.UTC().Format(timeLayout), UserID: e.UserID,
		ActorType: e.ActorType, EventID: e.EventID, Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		Outcome: e.Outcome, ActorID: e.ActorID, ActorEmail: e.ActorEmail, ActorName: e.ActorName, IPAddress: e.IPAddress,
		UserAgent: e.UserAgent, Details: e.Details, Metadata: string(e.Metadata), Changes: string(e.Changes),
		Salt: e.Salt, Commitment: e.Commitment, LeafHash: e.LeafHash,
	}
	if !e.OccurredAt.IsZero() {
		out.OccurredAt = e.OccurredAt.UTC().Format(timeLayout)
	}
	return out
}

// personal returns the personal data of an event line.
func (e *Event) personal() tlog.Personal {
	return tlog.Personal{
		ActorID: e.ActorID, ActorEmail: e.ActorEmail, ActorName: e.ActorName, IPAddress: e.IPAddress,
		UserAgent: e.UserAgent, Details: e.Details, Metadata: e.Metadata, Changes: e.Changes,
	}
}

// leaf rebuilds the leaf of an event line.
func (e *Event) leaf(accountID int64) (*tlog.Leaf, error) {
	t, err := time.Parse(time.RFC3339Nano, e.CreatedAt)
	if err != nil {
		return nil, err
	}
	var occurred time.Time
	if e.OccurredAt != "" {
		if occurred, err = time.Parse(time.RFC3339Nano, e.OccurredAt); err != nil {
			return nil, err
		}
	}
	return &tlog.Leaf{
		AccountID: accountID, Seq: e.Seq, CreatedAt: t, OccurredAt: occurred, UserID: e.UserID, ActorType: e.ActorType,
		EventID: e.EventID, Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID, Outcome: e.Outcome,
		Commitment: e.Commitment,
	}, nil
}
