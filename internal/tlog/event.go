package tlog

import (
	"crypto/rand"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// PersonalOf returns the personal data of an event: the one place where an
// event's fields become the commitment's input.
func PersonalOf(e *audit.Event) Personal {
	return Personal{
		ActorID: e.ActorID, ActorEmail: e.ActorEmail, ActorName: e.ActorName, IPAddress: e.IPAddress, UserAgent: e.UserAgent,
		Details: e.Details, Metadata: string(e.Metadata), Changes: string(e.Changes),
	}
}

// LeafOf returns the leaf of an event in the current encoding (LeafVersion),
// using its stored commitment: the one place where an event's fields become
// a leaf. The leaf of an event recorded before version 2 is LeafOf's with
// Version set to LeafVersion1.
func LeafOf(e *audit.Event) *Leaf {
	return &Leaf{Version: LeafVersion,
		AccountID: e.AccountID, Seq: e.Seq, CreatedAt: e.CreatedAt, OccurredAt: e.OccurredAt, UserID: e.UserID,
		ActorType: e.ActorType, EventID: e.EventID, Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		Outcome: e.Outcome, Commitment: e.Commitment,
	}
}

// Sealed returns a copy of e as it joins its account's log at position
// seq: its times in UTC truncated to the microsecond (what every store
// keeps), CreatedAt set to now when zero, a fresh salt, the commitment to
// its personal data and its leaf hash. e itself is not changed.
func Sealed(e *audit.Event, seq int64, now time.Time) *audit.Event {
	c := *e
	c.ID, c.Seq = 0, seq
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	c.CreatedAt = c.CreatedAt.UTC().Truncate(time.Microsecond)
	if !c.OccurredAt.IsZero() {
		c.OccurredAt = c.OccurredAt.UTC().Truncate(time.Microsecond)
	}
	c.Salt = make([]byte, SaltSize)
	rand.Read(c.Salt) // never fails
	c.Commitment = PersonalOf(&c).Commit(c.Salt)
	c.LeafHash = LeafOf(&c).Hash()
	return &c
}
