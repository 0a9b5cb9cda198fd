package app

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
)

// Cursors let a client page through a long log without OFFSET, whose cost
// grows with depth: each page's next cursor names the position of its last
// event, and a listing with that cursor returns the events after it. A
// cursor is opaque to clients: the position plus a MAC (Keys.CursorMAC)
// that binds it to the account and the filters it was made for, so it
// cannot be forged or reused with other filters.

var errBadCursor = audit.FieldError("cursor", "cursor is not one this service issued for this listing: start again without it.")

// EventQuery asks for one page of an account's events.
type EventQuery struct {
	Filter audit.EventFilter
	Page   audit.PageRequest
	// Cursor, when set, asks for the events after the position it names
	// (a NextCursor of an earlier page with the same filter); Page.Page is
	// then ignored.
	Cursor string
}

// EventList is one page of events, newest first.
type EventList struct {
	*audit.EventPage
	// ByCursor is set when the page was asked for by cursor: it has no
	// page number.
	ByCursor bool
	// NextCursor asks for the following page; "" on the last one.
	NextCursor string
}

// ListEvents returns one page of p's account's events, newest first: by
// page number or after a cursor.
func (a *App) ListEvents(ctx context.Context, p *Principal, q EventQuery) (*EventList, error) {
	if err := p.Authorize(audit.PermViewAuditLogs); err != nil {
		return nil, err
	}
	if q.Cursor != "" {
		after, err := a.decodeCursor(p.AccountID, q.Filter, q.Cursor)
		if err != nil {
			return nil, err
		}
		q.Page.After = after
	}
	page, err := a.store.Events(ctx, p.AccountID, q.Filter, q.Page)
	if err != nil {
		return nil, err
	}
	out := &EventList{EventPage: page, ByCursor: q.Page.After != nil}
	if page.More && len(page.Events) > 0 {
		out.NextCursor = a.encodeCursor(p.AccountID, q.Filter, page.Events[len(page.Events)-1])
	}
	return out, nil
}

// encodeCursor returns the cursor of the position after e.
func (a *App) encodeCursor(accountID int64, f audit.EventFilter, e *audit.Event) string {
	micros := e.CreatedAt.UnixMicro()
	b := binary.BigEndian.AppendUint64(nil, uint64(micros))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = append(b, a.keys.CursorMAC(accountID, f, micros, e.Seq)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor checks a cursor and returns its position.
func (a *App) decodeCursor(accountID int64, f audit.EventFilter, c string) (*audit.Position, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 8+8+16 {
		return nil, errBadCursor
	}
	micros, seq := int64(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint64(b[8:]))
	if !hmac.Equal(b[16:], a.keys.CursorMAC(accountID, f, micros, seq)) {
		return nil, errBadCursor
	}
	return &audit.Position{CreatedAt: time.UnixMicro(micros).UTC(), Seq: seq}, nil
}

// PrepareEvents validates the events a platform service (or a signed-in
// user) sends to p's account and converts them for the write path, filling
// in the account, the recording key and the actor: a user named by
// actor.user_id (who must belong to the account), an external actor, or by
// default p. Every problem of every event is reported together, in an
// *ingest.InvalidError.
func (a *App) PrepareEvents(ctx context.Context, p *Principal, ins []ingest.EventInput) ([]*audit.Event, error) {
	if err := p.Authorize(audit.PermWriteEvents); err != nil {
		return nil, err
	}
	now := a.now().UTC()
	events := make([]*audit.Event, len(ins))
	var problems []ingest.Problem
	var userIDs []int64
	for i := range ins {
		e, ps := ins[i].Validate(i, now)
		problems = append(problems, ps...)
		e.AccountID = p.AccountID
		if p.APIKey != nil {
			e.APIKeyID = p.APIKey.ID
		}
		if e.UserID != 0 && !slices.Contains(userIDs, e.UserID) {
			userIDs = append(userIDs, e.UserID)
		}
		events[i] = e
	}
	users, err := a.store.UsersByID(ctx, p.AccountID, userIDs)
	if err != nil {
		return nil, err
	}
	for i, e := range events {
		switch {
		case e.UserID != 0 && users[e.UserID] == nil:
			problems = append(problems, ingest.Problem{Index: i, Field: "actor.user_id", Message: fmt.Sprintf("no user %d in this account.", e.UserID)})
		case e.UserID != 0:
			e.SetUserActor(users[e.UserID])
			e.User = users[e.UserID]
		case e.ActorType == "":
			p.setActor(e)
		}
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b ingest.Problem) int { return a.Index - b.Index })
		return nil, &ingest.InvalidError{Problems: problems}
	}
	return events, nil
}
