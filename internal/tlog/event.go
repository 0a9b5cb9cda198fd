package tlog

import (
	"crypto/rand"

	"github.com/auditlog/auditlog/internal/audit"
)

// PersonalOf returns the personal data of an event.
func PersonalOf(e *audit.Event) Personal {
	return Personal{
		ActorID: e.ActorID, ActorEmail: e.ActorEmail, ActorName: e.ActorName, IPAddress: e.IPAddress, UserAgent: e.UserAgent,
		Details: e.Details, Metadata: string(e.Metadata), Changes: string(e.Changes),
	}
}

// LeafOf returns the leaf of an event, using its stored commitment.
func LeafOf(e *audit.Event) *Leaf {
	return &Leaf{
		AccountID: e.AccountID, Seq: e.Seq, CreatedAt: e.CreatedAt, OccurredAt: e.OccurredAt, UserID: e.UserID,
		ActorType: e.ActorType, EventID: e.EventID, Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		Outcome: e.Outcome, Commitment: e.Commitment,
	}
}

// Seal gives an event whose Seq and CreatedAt are set a fresh salt, commits
// to its personal data and sets its leaf hash. The write path calls it once
// per event, just before the event joins the log.
func Seal(e *audit.Event) {
	e.Salt = make([]byte, SaltSize)
	rand.Read(e.Salt) // never fails
	e.Commitment = PersonalOf(e).Commit(e.Salt)
	e.LeafHash = LeafOf(e).Hash()
}
