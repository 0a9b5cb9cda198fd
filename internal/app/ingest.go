package app

import (
	"context"
	"errors"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
)

// ingestWait bounds how long Ingest waits for its events' commit.
const ingestWait = 10 * time.Second

// Errors of Ingest. Both are temporary (code audit.EUNAVAILABLE): the
// client retries after a moment with the same event IDs, and a retry
// never stores an event twice.
var (
	// ErrSaturated means the group-commit writer's queue is full.
	ErrSaturated = audit.Errorf(audit.EUNAVAILABLE, "The service is writing as fast as it can; retry after the Retry-After delay.")
	// ErrCommitSlow means the commit was not confirmed within ingestWait.
	ErrCommitSlow = audit.Errorf(audit.EUNAVAILABLE, "The events were not confirmed in time; they may or may not be stored. Retry with the same event IDs: a retry never stores an event twice.")
)

// Ingest records the events a platform service (or a signed-in owner or
// admin) sends to p's account, all or none: it validates and converts them
// (PrepareEvents), hands them to the group-commit writer, and returns once
// they are committed, with what the write path reports of each, in order
// (an event whose event_id the account already holds is a replay of the
// stored one). The caller's leaving does not cancel the commit.
func (a *App) Ingest(ctx context.Context, p *Principal, ins []ingest.EventInput) ([]audit.Appended, error) {
	events, err := a.PrepareEvents(ctx, p, ins)
	if err != nil {
		return nil, err
	}
	return a.write(ctx, events)
}

// write hands prepared events to the group-commit writer as one request,
// committed all or none, and waits for the commit.
func (a *App) write(ctx context.Context, events []*audit.Event) ([]audit.Appended, error) {
	ctx, cancel := context.WithTimeout(ctx, ingestWait)
	defer cancel()
	res, err := a.ingest.Write(ctx, events)
	switch {
	case errors.Is(err, ingest.ErrBusy), errors.Is(err, ingest.ErrClosed):
		return nil, ErrSaturated
	case errors.Is(err, context.DeadlineExceeded):
		return nil, ErrCommitSlow
	}
	return res, err
}
