package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// Versions of the event listing, for HTTP validators (ETag and
// If-None-Match) and for caches of rendered pages.
//
// The rule they rely on: an account's log only grows, and nothing changes
// how any of its events reads without appending an event to the same
// account's log in the same transaction. Events are never updated in
// place (the log's hashes would break); the only other data a listing
// shows is the acting user's email, name and role, and the one write that
// changes those (App.UpdateUser, a role change) records user_role_changed
// in the same transaction, as every change it makes does. So the
// account's log size, read when the request arrives, together with
// everything that chooses the page (filter, search, page or cursor, page
// size) and what the caller may see, identifies the page: equal versions,
// equal pages. Retention removes the oldest events without appending
// (until its retention.pruned event), so the version names how far the
// log was pruned too. A future write that changes how events read (erasing an
// event's personal data, say) must append an event too, or bump
// listingVersion. TestWritesThatChangeHowEventsRead (package sqlstore)
// lists every statement that updates or deletes events or users and fails
// on a new one; TestListingETag (package server) checks the role change.
//
// The log size is read before the page, in another statement: a page may
// be newer than its version (an event appended between the two reads),
// never older. A client then holds a newer page under an older version,
// and its next request, at the new size, gets a 200 with the same events.

// listingVersion labels the format of listing versions: change it when
// what a listing shows for the same inputs changes (a new field, a new
// rendering), so that no version issued before the change matches after.
const listingVersion = "l1"

// ListingVersion returns the version of the page of events ListEvents
// would return for p and q now: a weak HTTP entity tag, W/"…", of p's
// account, its log size, p's view (role or API-key scopes) and the
// listing's canonical inputs. It returns "" when the page cannot be
// versioned: a search with a relative time (created:>-24h) on its first
// page matches different events as time passes, whatever the log holds.
// It fails as ListEvents would on a search that does not parse or a
// cursor it did not issue, before reading the database.
func (a *App) ListingVersion(ctx context.Context, p *Principal, q EventQuery) (string, error) {
	if err := p.authorizeRead(q.Search); err != nil {
		return "", err
	}
	l, err := a.resolveListing(p, q)
	if err != nil {
		return "", err
	}
	if l.page.After == nil && l.search.Relative() {
		return "", nil
	}
	head, err := a.store.LogPrune(ctx, p.AccountID)
	if err != nil {
		return "", err
	}
	f := q.Filter
	parts := []string{
		listingVersion,
		strconv.FormatInt(p.AccountID, 10),
		strconv.FormatInt(head.Size, 10), strconv.FormatInt(head.Pruned, 10),
		p.view(),
		strconv.FormatInt(f.UserID, 10), f.Action, f.ResourceType,
		strconv.FormatInt(f.Start.UnixMicro(), 10), strconv.FormatInt(f.End.UnixMicro(), 10),
		l.cursor.search,
		strconv.Itoa(l.page.PerPage),
	}
	if at := l.page.After; at != nil {
		parts = append(parts, "after", strconv.FormatInt(at.CreatedAt.UnixMicro(), 10), strconv.FormatInt(at.Seq, 10))
		if l.cursor.searched() {
			parts = append(parts, strconv.FormatInt(l.cursor.now.UnixMicro(), 10))
		}
	} else {
		parts = append(parts, "page", strconv.Itoa(l.page.Page))
	}
	return weakTag(listingVersion, parts), nil
}

// view names what p may see of a listing: the events are the same for
// every caller who may list them today, but a role or a scope that shows
// more (or less) must never share a version with one that does not.
func (p *Principal) view() string {
	switch {
	case p.User != nil:
		return "user:" + string(p.User.Role)
	case p.APIKey != nil:
		scopes := slices.Clone(p.APIKey.Scopes)
		slices.Sort(scopes)
		return "key:" + strings.Join(scopes, ",")
	case p.Platform != nil:
		return "platform:" + strings.Join(p.Platform.Scopes, ",")
	case p.Viewer != nil:
		// Each grant sees its own narrowed log: no version is shared.
		return "viewer:" + p.Viewer.ID
	}
	return "operator"
}

// weakTag returns W/"label.hash" for parts, each written NUL-terminated so
// that no two lists of parts hash alike.
func weakTag(label string, parts []string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return `W/"` + label + "." + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}
