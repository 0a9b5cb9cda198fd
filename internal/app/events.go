package app

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/query"
)

// Cursors let a client page through a long log without OFFSET, whose cost
// grows with depth: each page's next cursor names the position of its last
// event, and a listing with that cursor returns the events after it. A
// cursor is opaque to clients: the position plus a MAC (Keys.CursorMAC)
// that binds it to the account and the filters it was made for, so it
// cannot be forged or reused with other filters.
//
// A listing with a search (q) adds to its cursors the time that the
// search's relative times were resolved against, and the MAC covers it and
// the search in canonical form (query.Query.String): every later page
// resolves created:>-24h to the same instant as the first, so pages neither
// skip nor repeat events while time passes, and the cursor works only with
// the same search. A cursor without a search is what it always was.

var errBadCursor = audit.FieldError("cursor", "cursor is not one this service issued for this listing: start again without it.")

// EventQuery asks for one page of an account's events.
type EventQuery struct {
	Filter audit.EventFilter
	// Search is a search in the language of package query (the q
	// parameter), combined with Filter: an event must match both. "" is
	// no search.
	Search string
	Page   audit.PageRequest
	// Cursor, when set, asks for the events after the position it names
	// (a NextCursor of an earlier page with the same filter and search);
	// Page.Page is then ignored.
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

// ListEvents returns one page of p's account's events that match the
// filter and the search, newest first: by page number or after a cursor. A
// search that does not parse is an *audit.Error with field "q" whose
// message names the problem and its column (query.Error).
func (a *App) ListEvents(ctx context.Context, p *Principal, q EventQuery) (*EventList, error) {
	if err := p.authorizeRead(q.Search); err != nil {
		return nil, err
	}
	l, err := a.resolveListing(p, q)
	if err != nil {
		return nil, err
	}
	page, err := a.store.SearchEvents(ctx, p.AccountID, a.narrow(p, query.FromFilter(q.Filter).And(l.search)), l.page)
	if err != nil {
		return nil, err
	}
	out := &EventList{EventPage: page, ByCursor: l.page.After != nil}
	if page.More && len(page.Events) > 0 {
		last := page.Events[len(page.Events)-1]
		c := l.cursor
		c.micros, c.seq = last.CreatedAt.UnixMicro(), last.Seq
		out.NextCursor = c.encode(a.keys, p.AccountID, q.Filter)
	}
	return out, nil
}

// listing is an EventQuery checked and resolved: its search parsed at the
// time it counts back from, its cursor's MAC checked.
type listing struct {
	// cursor carries the search in canonical form and the time its
	// relative times were resolved against, for the next page's cursor.
	cursor listCursor
	search *query.Query
	// page is the page asked for, with After set when asked by cursor.
	page audit.PageRequest
}

// resolveListing parses q's search and checks its cursor for p's account:
// the part of a listing that needs no database.
func (a *App) resolveListing(p *Principal, q EventQuery) (*listing, error) {
	c := listCursor{now: a.now().UTC().Truncate(time.Microsecond)}
	var raw []byte
	if q.Cursor != "" {
		var err error
		if raw, err = c.decode(q.Cursor); err != nil {
			return nil, err
		}
	}
	search, err := query.Parse(q.Search, c.now)
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return nil, qe.AuditError()
		}
		return nil, err
	}
	if !search.IsZero() {
		c.search = search.String()
	}
	if raw != nil {
		if !c.searched() && len(raw) != cursorLen || c.searched() && len(raw) != searchCursorLen ||
			!hmac.Equal(raw[len(raw)-cursorMACLen:], c.mac(a.keys, p.AccountID, q.Filter)) {
			return nil, errBadCursor
		}
		q.Page.After = &audit.Position{CreatedAt: time.UnixMicro(c.micros).UTC(), Seq: c.seq}
	}
	return &listing{cursor: c, search: search, page: q.Page}, nil
}

// Cursor layouts: position (created_at in Unix microseconds, seq), then for
// a search the time its relative times count back from (Unix
// microseconds), then the MAC.
const (
	cursorMACLen    = 16
	cursorLen       = 8 + 8 + cursorMACLen
	searchCursorLen = 8 + 8 + 8 + cursorMACLen
)

// listCursor is a listing position and what its MAC binds.
type listCursor struct {
	micros, seq int64
	// search is the search in canonical form; "" for none.
	search string
	// now resolves the search's relative times: the first page's time,
	// carried from page to page.
	now time.Time
}

func (c *listCursor) searched() bool { return c.search != "" }

// decode reads a cursor's position and time, unchecked, and returns its
// bytes; the caller checks the MAC once it knows the search.
func (c *listCursor) decode(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorLen && len(b) != searchCursorLen {
		return nil, errBadCursor
	}
	c.micros, c.seq = int64(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint64(b[8:]))
	if len(b) == searchCursorLen {
		c.now = time.UnixMicro(int64(binary.BigEndian.Uint64(b[16:]))).UTC()
	}
	return b, nil
}

// mac returns the cursor's MAC for the account and filter.
func (c *listCursor) mac(k Keys, accountID int64, f audit.EventFilter) []byte {
	if !c.searched() {
		return k.CursorMAC(accountID, f, c.micros, c.seq)
	}
	return k.CursorMAC(accountID, f, c.micros, c.seq, "q", c.search, strconv.FormatInt(c.now.UnixMicro(), 10))
}

// encode returns the cursor as a client sees it.
func (c *listCursor) encode(k Keys, accountID int64, f audit.EventFilter) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(c.micros))
	b = binary.BigEndian.AppendUint64(b, uint64(c.seq))
	if c.searched() {
		b = binary.BigEndian.AppendUint64(b, uint64(c.now.UnixMicro()))
	}
	b = append(b, c.mac(k, accountID, f)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// PrepareEvents validates the events a platform service (or a signed-in
// user) sends to p's account and converts them for the write path, filling
// in the account, the recording key and the actor: a user named by
// actor.user_id (who must belong to the account), an external actor, or by
// default p. Events of an action with an event schema must match it
// (eventschema.go). Every problem of every event is reported together, in
// an *ingest.InvalidError.
func (a *App) PrepareEvents(ctx context.Context, p *Principal, ins []ingest.EventInput) ([]*audit.Event, error) {
	if err := p.Authorize(audit.PermWriteEvents); err != nil {
		return nil, err
	}
	who := make([]*Principal, len(ins))
	for i := range who {
		who[i] = p
	}
	return a.prepareEvents(ctx, who, ins, nil)
}

// prepareEvents is PrepareEvents with the principal of each event (who[i],
// scoped to the event's account; nil when the account is unknown, which
// problems already reports) and the problems found so far.
func (a *App) prepareEvents(ctx context.Context, who []*Principal, ins []ingest.EventInput, problems []ingest.Problem) ([]*audit.Event, error) {
	now := a.now().UTC()
	events := make([]*audit.Event, len(ins))
	userIDs := map[int64][]int64{} // by account
	for i := range ins {
		e, ps := ins[i].Validate(i, now)
		problems = append(problems, ps...)
		events[i] = e
		p := who[i]
		if p == nil {
			continue
		}
		e.AccountID = p.AccountID
		if p.APIKey != nil {
			e.APIKeyID = p.APIKey.ID
		}
		if e.UserID != 0 && !slices.Contains(userIDs[p.AccountID], e.UserID) {
			userIDs[p.AccountID] = append(userIDs[p.AccountID], e.UserID)
		}
	}
	users := map[int64]map[int64]*audit.User{}
	for _, acct := range accountsOf(who) {
		var err error
		if users[acct], err = a.store.UsersByID(ctx, acct, userIDs[acct]); err != nil {
			return nil, err
		}
	}
	for i, e := range events {
		p := who[i]
		if p == nil {
			continue
		}
		u := users[p.AccountID][e.UserID]
		switch {
		case e.UserID != 0 && u == nil:
			problems = append(problems, ingest.Problem{Index: i, Field: "actor.user_id", Message: fmt.Sprintf("no user %d in this account.", e.UserID)})
		case e.UserID != 0:
			e.SetUserActor(u)
			e.User = u
		case e.ActorType == "":
			p.setActor(e)
		}
	}
	bad := map[int]bool{}
	for _, pr := range problems {
		bad[pr.Index] = true
	}
	schemaProblems, used, err := a.checkSchemas(ctx, who, ins, bad)
	if err != nil {
		return nil, err
	}
	problems = append(problems, schemaProblems...)
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b ingest.Problem) int { return a.Index - b.Index })
		return nil, &ingest.InvalidError{Problems: problems}
	}
	if err := a.markSchemasUsed(ctx, used); err != nil {
		return nil, err
	}
	return events, nil
}

// Event returns the event with the given ID of p's account, with its
// acting user as the listing shows it: ErrEventNotFound when p's account
// has no such event, whether or not another account does.
func (a *App) Event(ctx context.Context, p *Principal, id int64) (*audit.Event, error) {
	if err := p.authorizeRead(""); err != nil {
		return nil, err
	}
	if err := a.checkNarrowed(ctx, p, id); err != nil {
		return nil, err
	}
	e, err := a.store.Event(ctx, p.AccountID, id)
	if err != nil {
		return nil, notFoundAs(err, ErrEventNotFound)
	}
	if e.UserID != 0 {
		users, err := a.store.UsersByID(ctx, p.AccountID, []int64{e.UserID})
		if err != nil {
			return nil, err
		}
		e.User = users[e.UserID]
	}
	return e, nil
}
