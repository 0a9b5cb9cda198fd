package exportfile

import (
	"fmt"
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
	Complete   bool              `json:"complete"`   // every event 1..tree_size follows, in order (from pruned.first_seq when pruned)
	Filter     map[string]string `json:"filter,omitempty"`
	// Pruned is set when retention had removed the log's oldest events.
	Pruned     *Pruned `json:"pruned,omitempty"`
	ExportedAt string  `json:"exported_at"`
}

// Pruned describes the removed prefix of a pruned log: the events before
// FirstSeq are gone (removed by PrunedAt), and Frontier is the frontier of
// the tree of size FirstSeq-1 (tlog.Frontier), from which a complete
// export's remaining leaves recompute the checkpoint's root.
type Pruned struct {
	FirstSeq int64       `json:"first_seq"`
	PrunedAt string      `json:"pruned_at"`
	Frontier []tlog.Hash `json:"frontier"`
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
	var out Event
	SetEvent(&out, e)
	return out
}

// SetEvent sets line to the export line of a stored event, without a proof:
// EventOf without a copy, so that an export can reuse one line.
func SetEvent(line *Event, e *audit.Event) {
	*line = Event{
		Type: TypeEvent, ID: e.ID, Seq: e.Seq, CreatedAt: e.CreatedAt.UTC().Format(timeLayout), UserID: e.UserID,
		ActorType: e.ActorType, EventID: e.EventID, Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		Outcome: e.Outcome, ActorID: e.ActorID, ActorEmail: e.ActorEmail, ActorName: e.ActorName, IPAddress: e.IPAddress,
		UserAgent: e.UserAgent, Details: e.Details, Metadata: string(e.Metadata), Changes: string(e.Changes),
		Salt: e.Salt, Commitment: e.Commitment, LeafHash: e.LeafHash,
	}
	if !e.OccurredAt.IsZero() {
		line.OccurredAt = e.OccurredAt.UTC().Format(timeLayout)
	}
}

// Event returns the stored event that an event line of the given account's
// export shows: the inverse of EventOf (the line's proof aside). Its times
// must be written exactly as EventOf writes them.
func (e *Event) Event(accountID int64) (*audit.Event, error) {
	created, err := parseTime(e.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("export: created_at: %w", err)
	}
	var occurred time.Time
	if e.OccurredAt != "" {
		if occurred, err = parseTime(e.OccurredAt); err != nil {
			return nil, fmt.Errorf("export: occurred_at: %w", err)
		}
	}
	return &audit.Event{
		ID: e.ID, AccountID: accountID, Seq: e.Seq, CreatedAt: created, OccurredAt: occurred, UserID: e.UserID,
		ActorType: e.ActorType, EventID: e.EventID, Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		Outcome: e.Outcome, ActorID: e.ActorID, ActorEmail: e.ActorEmail, ActorName: e.ActorName, IPAddress: e.IPAddress,
		UserAgent: e.UserAgent, Details: e.Details, Metadata: jsonText(e.Metadata), Changes: jsonText(e.Changes),
		Salt: e.Salt, Commitment: e.Commitment, LeafHash: e.LeafHash,
	}, nil
}

// jsonText returns the stored JSON text of a line's metadata or changes:
// nil when absent.
func jsonText(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
