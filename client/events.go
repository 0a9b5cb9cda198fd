package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// MaxBatch is the most events one SendBatch request may carry.
const MaxBatch = 1000

// EventInput is an event to record (docs/api.md, POST /api/audit-logs).
// Only Action is required.
type EventInput struct {
	// EventID identifies the event in its account: a request that repeats
	// it records nothing and returns the event already recorded. Send,
	// SendBatch and Batcher.Add generate one when it is empty; set your
	// own when your program itself may send the same event twice (say,
	// after a restart), such as your own record's id.
	EventID string `json:"event_id,omitempty"`
	// Action is lower-case words joined by dots: "order.refunded".
	Action       string `json:"action"`
	ResourceType string `json:"resource_type,omitempty"`
	ResourceID   string `json:"resource_id,omitempty"`
	Details      string `json:"details,omitempty"`
	IPAddress    string `json:"ip_address,omitempty"`
	UserAgent    string `json:"user_agent,omitempty"`
	// Actor says who acted; nil means the API key itself.
	Actor *ActorInput `json:"actor,omitempty"`
	// OccurredAt is when the event happened at the caller; zero leaves
	// it out (the server's receive time orders the log either way).
	OccurredAt time.Time `json:"-"`
	// Outcome is "success", "failure" or "".
	Outcome string `json:"outcome,omitempty"`
	// Metadata is any JSON object, at most 16 KiB.
	Metadata map[string]any `json:"metadata,omitempty"`
	// Changes lists what changed, at most 100 entries.
	Changes []Change `json:"changes,omitempty"`
}

// MarshalJSON writes the event as the API reads it.
func (e EventInput) MarshalJSON() ([]byte, error) {
	type plain EventInput
	out := struct {
		plain
		OccurredAt string `json:"occurred_at,omitempty"`
	}{plain: plain(e)}
	if !e.OccurredAt.IsZero() {
		out.OccurredAt = e.OccurredAt.UTC().Format(time.RFC3339Nano)
	}
	return json.Marshal(out)
}

// ActorInput is who acted: a user of the account (UserID), or someone
// outside it (ID, Name, Email and Type, such as "customer").
type ActorInput struct {
	UserID int64  `json:"user_id,omitempty"`
	ID     string `json:"id,omitempty"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
	Type   string `json:"type,omitempty"`
}

// Change is one changed field.
type Change struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// Event is a recorded event, as the API shows it (docs/api.md, "Audit-log
// entry"). Text the event does not have is "".
type Event struct {
	ID           int64      `json:"id"`
	Seq          int64      `json:"seq"` // its place in the account's log, from 1
	UserID       int64      `json:"user_id"`
	User         *EventUser `json:"user"`
	Action       string     `json:"action"`
	ResourceType string     `json:"resource_type"`
	ResourceID   string     `json:"resource_id"`
	Details      string     `json:"details"`
	IPAddress    string     `json:"ip_address"`
	UserAgent    string     `json:"user_agent"`
	CreatedAt    time.Time  `json:"created_at"`
	LeafHash     string     `json:"leaf_hash"`
	EventID      string     `json:"event_id"`
	// OccurredAt is zero when the sender gave none.
	OccurredAt time.Time       `json:"occurred_at"`
	Outcome    string          `json:"outcome"`
	Actor      Actor           `json:"actor"`
	Metadata   json.RawMessage `json:"metadata"` // a JSON object, or null
	Changes    json.RawMessage `json:"changes"`  // a JSON array, or null
}

// EventUser is the account's user who acted.
type EventUser struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Role      string `json:"role"`
}

// Actor is who acted, as recorded.
type Actor struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Send records one event and returns it as recorded. When ev has no
// EventID, Send gives it a random one, so its own retries never record it
// twice. An event whose EventID the account already holds is not recorded
// again: Send returns the one recorded first.
func (c *Client) Send(ctx context.Context, ev EventInput) (*Event, error) {
	if ev.EventID == "" {
		ev.EventID = newEventID()
	}
	var out struct {
		Event Event `json:"audit_log"`
	}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/api/audit-logs"}, ev, &out); err != nil {
		return nil, err
	}
	return &out.Event, nil
}

// BatchResult is what SendBatch recorded.
type BatchResult struct {
	// Items says of each event, in the order sent, where it is.
	Items []BatchItem `json:"audit_logs"`
	// Created counts the events recorded now; Replayed those the account
	// held already.
	Created  int `json:"created"`
	Replayed int `json:"replayed"`
}

// BatchItem is one event of a batch as recorded.
type BatchItem struct {
	ID        int64     `json:"id"`
	Seq       int64     `json:"seq"`
	EventID   string    `json:"event_id"`
	LeafHash  string    `json:"leaf_hash"`
	CreatedAt time.Time `json:"created_at"`
	// Replayed is true when the account held the event already.
	Replayed bool `json:"replayed"`
}

// SendBatch records 1 to MaxBatch events atomically: all of them, or,
// when any is invalid, none (the *Error's Problems then lists each
// invalid field by event index). Events without an EventID get a random
// one (evs itself is not changed; BatchResult.Items names each), so the
// request's retries never record an event twice.
func (c *Client) SendBatch(ctx context.Context, evs []EventInput) (*BatchResult, error) {
	if len(evs) == 0 {
		return nil, errNoEvents
	}
	if len(evs) > MaxBatch {
		return nil, fmt.Errorf("auditlog: a batch holds at most %d events, not %d", MaxBatch, len(evs))
	}
	body := struct {
		Events []EventInput `json:"events"`
	}{make([]EventInput, len(evs))}
	for i, ev := range evs {
		if ev.EventID == "" {
			ev.EventID = newEventID()
		}
		body.Events[i] = ev
	}
	var out BatchResult
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/api/audit-logs/batch"}, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Query selects events, as GET /api/audit-logs's parameters do. The zero
// Query selects every event.
type Query struct {
	UserID       int64
	Action       string
	ResourceType string
	// Start and End bound created_at, both inclusive; zero is unbounded.
	Start, End time.Time
	// Q is a search in the query language (docs/search.md), such as
	// "actor:cust_77 outcome:failure".
	Q string
}

func (q Query) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.UserID != 0 {
		v.Set("user_id", strconv.FormatInt(q.UserID, 10))
	}
	set("action", q.Action)
	set("resource_type", q.ResourceType)
	if !q.Start.IsZero() {
		v.Set("start_date", q.Start.UTC().Format(time.RFC3339Nano))
	}
	if !q.End.IsZero() {
		v.Set("end_date", q.End.UTC().Format(time.RFC3339Nano))
	}
	set("q", q.Q)
	return v
}

// searchPage is the number of events Search asks for per request.
const searchPage = 100

// Search returns the events that q selects, newest first, reading them a
// page at a time by cursor as the loop asks for more (stop early with
// break). A failed request ends the sequence with its error.
//
//	for ev, err := range c.Search(ctx, client.Query{Action: "order.refunded"}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(ev.Seq, ev.Action)
//	}
func (c *Client) Search(ctx context.Context, q Query) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		params := q.values()
		params.Set("per_page", strconv.Itoa(searchPage))
		for {
			var page struct {
				Events     []Event `json:"audit_logs"`
				Pagination struct {
					NextCursor *string `json:"next_cursor"`
				} `json:"pagination"`
			}
			if _, err := c.do(ctx, request{method: http.MethodGet, path: "/api/audit-logs", query: params}, nil, &page); err != nil {
				yield(Event{}, err)
				return
			}
			for _, ev := range page.Events {
				if !yield(ev, nil) {
					return
				}
			}
			if page.Pagination.NextCursor == nil {
				return
			}
			params.Set("cursor", *page.Pagination.NextCursor)
		}
	}
}
