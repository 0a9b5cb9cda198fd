package client_test

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/auditlog/auditlog/client"
)

// TestEventSchemas registers, lists, reads and deletes event schemas
// through the SDK against the real service, and checks that registering
// is not sent twice after a network error.
func TestEventSchemas(t *testing.T) {
	ctx := t.Context()
	key, err := newPlatformKey("schemas:write")
	if err != nil {
		t.Fatal(err)
	}
	p, err := client.New(serverURL, key)
	if err != nil {
		t.Fatal(err)
	}
	in := client.EventSchemaInput{AllAccounts: true, Action: "sdk_schema.checked", Schema: map[string]any{"required": []string{"resource_id"}}}
	v1, err := p.CreateEventSchema(ctx, in)
	if err != nil || v1.Version != 1 || v1.AccountID != nil || v1.Used || string(v1.Schema) != `{"required":["resource_id"]}` {
		t.Fatalf("CreateEventSchema: %+v, %v", v1, err)
	}
	v2, err := p.CreateEventSchema(ctx, in)
	if err != nil || v2.Version != 2 {
		t.Fatalf("second version: %+v, %v", v2, err)
	}
	list, err := p.EventSchemas(ctx, client.EventSchemaQuery{Action: "sdk_schema.checked"})
	if err != nil || len(list) != 2 || list[0].ID != v1.ID || list[1].ID != v2.ID {
		t.Fatalf("EventSchemas: %+v, %v", list, err)
	}
	if got, err := p.EventSchema(ctx, v1.ID); err != nil || got.Action != in.Action || got.Version != 1 {
		t.Errorf("EventSchema: %+v, %v", got, err)
	}

	// The latest version checks events; once it has, it cannot be deleted.
	c, err := client.New(serverURL, mustAccount(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SendBatch(ctx, []client.EventInput{{Action: "sdk_schema.checked", ResourceID: "1"}, {Action: "sdk_schema.checked"}})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || len(apiErr.Problems) != 1 || apiErr.Problems[0].Index != 1 || apiErr.Problems[0].Field != "resource_id" {
		t.Fatalf("a batch with an event outside the schema: %v (%+v)", err, apiErr)
	}
	if _, err := c.Send(ctx, client.EventInput{Action: "sdk_schema.checked", ResourceID: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DeleteEventSchema(ctx, v2.ID); !errors.As(err, &apiErr) || apiErr.Code != "conflict" {
		t.Errorf("deleting a used version: %v", err)
	}
	if got, err := p.DeleteEventSchema(ctx, v1.ID); err != nil || got.ID != v1.ID {
		t.Errorf("deleting an unused version: %+v, %v", got, err)
	}
	if _, err := p.EventSchema(ctx, v1.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("a deleted version: %v", err)
	}

	// A network error after the request left is not retried: the
	// schema might be registered already.
	var posts atomic.Int32
	serveThrough(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			panic(http.ErrAbortHandler) // the connection drops without an answer
		}
		apiHandler.ServeHTTP(w, r)
	}))
	if _, err := p.CreateEventSchema(ctx, in); err == nil || posts.Load() != 1 {
		t.Errorf("after a dropped connection: %v, %d attempts; want an error after 1", err, posts.Load())
	}
}
