package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Event schemas (docs/platform.md#event-schemas) are JSON Schemas that the
// events of an action must match when they are recorded, for one account
// or for every account. Registering them takes a platform key with the
// scope schemas:write (client.New(url, "plk_…")); an event that does not
// match is refused with an *Error whose Problems name each field at fault.

// EventSchema is one version of an event schema.
type EventSchema struct {
	ID int64 `json:"id"`
	// AccountID is the account whose events it checks; nil for every
	// account.
	AccountID *int64 `json:"account_id"`
	Action    string `json:"action"`
	Version   int    `json:"version"`
	// Schema is the JSON Schema.
	Schema    json.RawMessage `json:"schema"`
	CreatedBy string          `json:"created_by"`
	CreatedAt time.Time       `json:"created_at"`
	// Used is true once an event has been checked against this version,
	// which then can no longer be deleted.
	Used bool `json:"used"`
}

// EventSchemaInput registers a schema: for the account named by AccountID
// or ExternalID, or, with AllAccounts, for every account.
type EventSchemaInput struct {
	AccountID   int64  `json:"account_id,omitempty"`
	ExternalID  string `json:"external_id,omitempty"`
	AllAccounts bool   `json:"all_accounts,omitempty"`
	Action      string `json:"action"`
	// Schema is the JSON Schema: a value that encodes to a JSON object,
	// such as a map[string]any or a json.RawMessage.
	Schema any `json:"schema"`
}

// EventSchemaQuery selects the schemas EventSchemas lists: those that apply
// to the account named by AccountID or ExternalID (its own and the
// all-accounts ones; none named: the all-accounts ones), of Action when it
// is not "".
type EventSchemaQuery struct {
	AccountID  int64
	ExternalID string
	Action     string
}

// CreateEventSchema registers the next version of in.Action's schema and
// returns it. A failed request is retried only when the server answered
// 429 or 503 (it did nothing); after a network error it is not, since
// sending it again could register two versions.
func (c *Client) CreateEventSchema(ctx context.Context, in EventSchemaInput) (*EventSchema, error) {
	var out struct {
		Schema EventSchema `json:"event_schema"`
	}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/api/event-schemas", noNetworkRetry: true}, in, &out); err != nil {
		return nil, err
	}
	return &out.Schema, nil
}

// EventSchemas lists the schema versions q selects, by action, account and
// version.
func (c *Client) EventSchemas(ctx context.Context, q EventSchemaQuery) ([]EventSchema, error) {
	v := url.Values{}
	if q.AccountID != 0 {
		v.Set("account_id", strconv.FormatInt(q.AccountID, 10))
	}
	if q.ExternalID != "" {
		v.Set("external_id", q.ExternalID)
	}
	if q.Action != "" {
		v.Set("action", q.Action)
	}
	var out struct {
		Schemas []EventSchema `json:"event_schemas"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/api/event-schemas", query: v}, nil, &out); err != nil {
		return nil, err
	}
	return out.Schemas, nil
}

// EventSchema returns one schema version by ID.
func (c *Client) EventSchema(ctx context.Context, id int64) (*EventSchema, error) {
	var out struct {
		Schema EventSchema `json:"event_schema"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/api/event-schemas/" + strconv.FormatInt(id, 10)}, nil, &out); err != nil {
		return nil, err
	}
	return &out.Schema, nil
}

// DeleteEventSchema deletes a schema version that no event has been
// checked against (an *Error with Code "conflict" otherwise) and returns
// it; the previous version, if any, applies again.
func (c *Client) DeleteEventSchema(ctx context.Context, id int64) (*EventSchema, error) {
	var out struct {
		Schema EventSchema `json:"event_schema"`
	}
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: "/api/event-schemas/" + strconv.FormatInt(id, 10)}, nil, &out); err != nil {
		return nil, err
	}
	return &out.Schema, nil
}
