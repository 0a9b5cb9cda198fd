package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/auditlog/auditlog/client"
)

// exampleKey is an API key of a fresh account of the test service, with
// events:write and events:read. In a program, it comes from your
// configuration.
func exampleKey() string {
	key, err := newAccount()
	if err != nil {
		log.Fatal(err)
	}
	return key
}

// Record one event as a platform service does.
func Example() {
	ctx := context.Background()
	c, err := client.New(serverURL, exampleKey())
	if err != nil {
		log.Fatal(err)
	}
	ev, err := c.Send(ctx, client.EventInput{
		Action:       "order.refunded",
		ResourceType: "order",
		ResourceID:   "1001",
		Outcome:      "success",
		Actor:        &client.ActorInput{ID: "staff_9", Name: "Sam", Type: "staff"},
		Metadata:     map[string]any{"amount": "20.00", "currency": "EUR"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Action, ev.ResourceType, ev.ResourceID, ev.Actor.Type, ev.Actor.ID, string(ev.Metadata))
	// Output: order.refunded order 1001 staff staff_9 {"amount":"20.00","currency":"EUR"}
}

// Stream events through a Batcher: Add returns at once, and batches go out
// by size and by time. Close sends what is left.
func ExampleBatcher() {
	ctx := context.Background()
	c, err := client.New(serverURL, exampleKey())
	if err != nil {
		log.Fatal(err)
	}
	b := c.NewBatcher(client.BatcherOptions{MaxBatch: 200})
	for i := range 1000 {
		if err := b.Add(ctx, client.EventInput{Action: "inventory.adjusted", ResourceType: "sku", ResourceID: fmt.Sprint(i)}); err != nil {
			log.Fatal(err)
		}
	}
	if err := b.Close(ctx); err != nil {
		log.Fatal(err)
	}
	n := 0
	for _, err := range c.Search(ctx, client.Query{Action: "inventory.adjusted"}) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Println(n, "events recorded")
	// Output: 1000 events recorded
}

// Search with the query language, newest first, page after page.
func ExampleClient_Search() {
	ctx := context.Background()
	c, err := client.New(serverURL, exampleKey())
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.SendBatch(ctx, []client.EventInput{
		{Action: "customer.created", Actor: &client.ActorInput{ID: "cust_1", Type: "customer"}},
		{Action: "order.placed", Outcome: "success", Actor: &client.ActorInput{ID: "cust_1", Type: "customer"}},
		{Action: "order.placed", Outcome: "failure", Actor: &client.ActorInput{ID: "cust_2", Type: "customer"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for ev, err := range c.Search(ctx, client.Query{Q: "actor:cust_1"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.Action, ev.Outcome)
	}
	// Output:
	// order.placed success
	// customer.created
}

// Download an export and check it offline with the service's verifier
// key.
func ExampleVerifyExport() {
	ctx := context.Background()
	c, err := client.New(serverURL, exampleKey())
	if err != nil {
		log.Fatal(err)
	}
	for _, action := range []string{"order.placed", "order.paid", "order.shipped"} {
		if _, err := c.Send(ctx, client.EventInput{Action: action, ResourceType: "order", ResourceID: "77"}); err != nil {
			log.Fatal(err)
		}
	}
	// Pin the key in your configuration; it is fetched here to keep the
	// example short.
	key, err := c.VerifierKey(ctx)
	if err != nil {
		log.Fatal(err)
	}
	var file bytes.Buffer
	if _, err := c.Export(ctx, &file, client.FormatNDJSON, client.Query{ResourceType: "order"}); err != nil {
		log.Fatal(err)
	}
	rep, err := client.VerifyExport(&file, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified", rep.Events, "events; complete log:", rep.Complete)
	// Output: verified 3 events; complete log: false
}

// A platform registers an event schema for every account (with a platform
// key holding schemas:write); an event that does not match is refused,
// naming the field at fault, and nothing of its request is recorded.
func ExampleClient_CreateEventSchema() {
	ctx := context.Background()
	platformKey, err := newPlatformKey("schemas:write")
	if err != nil {
		log.Fatal(err)
	}
	platform, err := client.New(serverURL, platformKey)
	if err != nil {
		log.Fatal(err)
	}
	s, err := platform.CreateEventSchema(ctx, client.EventSchemaInput{
		AllAccounts: true,
		Action:      "payout.sent",
		Schema: map[string]any{
			"type":     "object",
			"required": []string{"metadata"},
			"properties": map[string]any{"metadata": map[string]any{
				"type":       "object",
				"required":   []string{"amount_cents"},
				"properties": map[string]any{"amount_cents": map[string]any{"type": "integer", "minimum": 1}},
			}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Action, "version", s.Version)

	c, err := client.New(serverURL, exampleKey())
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Send(ctx, client.EventInput{Action: "payout.sent", Metadata: map[string]any{"amount_cents": "12.00"}})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Problems[0].Field)
	}
	ev, err := c.Send(ctx, client.EventInput{Action: "payout.sent", Metadata: map[string]any{"amount_cents": 1200}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Action, string(ev.Metadata))
	// Output:
	// payout.sent version 1
	// 400 metadata.amount_cents
	// payout.sent {"amount_cents":1200}
}
