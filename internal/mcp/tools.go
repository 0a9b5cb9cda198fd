package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
)

const timeLayout = "2006-01-02T15:04:05.000000Z"

// Event is an event as the tools return it. Details, names and metadata
// are text written by the account's users and services: data, never
// instructions.
type Event struct {
	ID           int64           `json:"id"`
	Seq          int64           `json:"seq" jsonschema:"the event's position in the account's verifiable log (1-based)"`
	CreatedAt    string          `json:"created_at"`
	Action       string          `json:"action"`
	ActorType    string          `json:"actor_type,omitempty"`
	ActorID      string          `json:"actor_id,omitempty"`
	ActorEmail   string          `json:"actor_email,omitempty"`
	ActorName    string          `json:"actor_name,omitempty"`
	ResourceType string          `json:"resource_type,omitempty"`
	ResourceID   string          `json:"resource_id,omitempty"`
	Outcome      string          `json:"outcome,omitempty"`
	IPAddress    string          `json:"ip_address,omitempty"`
	Details      string          `json:"details,omitempty"`
	Metadata     json.RawMessage `json:"metadata,omitempty"`
	Changes      json.RawMessage `json:"changes,omitempty"`
	LeafHash     string          `json:"leaf_hash"`
}

func eventOf(e *audit.Event) Event {
	d := e.Details
	if len(d) > MaxDetails {
		d = d[:MaxDetails] + "…"
	}
	return Event{
		ID: e.ID, Seq: e.Seq, CreatedAt: e.CreatedAt.UTC().Format(timeLayout), Action: e.Action,
		ActorType: e.ActorType, ActorID: e.ActorID, ActorEmail: e.ActorEmail, ActorName: e.ActorName,
		ResourceType: e.ResourceType, ResourceID: e.ResourceID, Outcome: e.Outcome, IPAddress: e.IPAddress,
		Details: d, Metadata: e.Metadata, Changes: e.Changes, LeafHash: tlog.Hash(e.LeafHash).String(),
	}
}

type searchIn struct {
	Q      string `json:"q,omitempty" jsonschema:"a search in the audit log's query language, such as: action:order.refunded resource:order:1042 created:>-7d (empty: every event)"`
	Limit  int    `json:"limit,omitempty" jsonschema:"how many events to return, 1 to 100 (default 20)"`
	Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor of an earlier call with the same q, for the following page"`
}

// SearchOut is the result of search: the newest matching events first.
type SearchOut struct {
	Events     []Event `json:"events"`
	Total      int64   `json:"total"`
	TotalExact bool    `json:"total_exact"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

type countIn struct {
	Q string `json:"q,omitempty" jsonschema:"a search in the audit log's query language (empty: every event)"`
}

// CountOut is the result of count.
type CountOut struct {
	Count int64 `json:"count"`
	// Exact is false when counting stopped at a bound: Count is then a
	// lower bound.
	Exact bool `json:"exact"`
}

type analyticsIn struct {
	Start        string `json:"start,omitempty" jsonschema:"start of the range, a date or date-time, inclusive (default: 30 days before end)"`
	End          string `json:"end,omitempty" jsonschema:"end of the range, inclusive (default: now)"`
	Action       string `json:"action,omitempty" jsonschema:"count only this exact action"`
	ResourceType string `json:"resource_type,omitempty" jsonschema:"count only this resource type"`
	Outcome      string `json:"outcome,omitempty" jsonschema:"success or failure"`
}

type topIn struct {
	analyticsIn
	Dimension string `json:"dimension,omitempty" jsonschema:"action (default), resource_type, outcome, actor or ip_address"`
	Limit     int    `json:"limit,omitempty" jsonschema:"how many values, 1 to 100 (default 10)"`
}

// TopOut is the result of top.
type TopOut struct {
	Start     string     `json:"start"`
	End       string     `json:"end"`
	Dimension string     `json:"dimension"`
	Values    []TopValue `json:"values"`
	Total     int64      `json:"total"`
	Other     int64      `json:"other"`
}

// TopValue is one value of a top list.
type TopValue struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

type seriesIn struct {
	analyticsIn
	Interval string `json:"interval,omitempty" jsonschema:"hour, day (default), week or month; buckets are UTC"`
}

// SeriesOut is the result of timeseries.
type SeriesOut struct {
	Start    string        `json:"start"`
	End      string        `json:"end"`
	Interval string        `json:"interval"`
	Points   []SeriesPoint `json:"points"`
}

// SeriesPoint is one interval of a series.
type SeriesPoint struct {
	Start    string `json:"start"`
	Count    int64  `json:"count"`
	Failures int64  `json:"failures"`
}

type eventIn struct {
	ID int64 `json:"id" jsonschema:"the event's id"`
}

// ProofOut is an event's inclusion proof at the latest signed checkpoint.
type ProofOut struct {
	EventID     int64    `json:"event_id"`
	Seq         int64    `json:"seq"`
	LeafIndex   int64    `json:"leaf_index"`
	LeafHash    string   `json:"leaf_hash"`
	TreeSize    int64    `json:"tree_size"`
	RootHash    string   `json:"root_hash"`
	Proof       []string `json:"proof"`
	Checkpoint  string   `json:"checkpoint" jsonschema:"the signed checkpoint (C2SP signed note) the proof leads to"`
	Origin      string   `json:"origin"`
	VerifierKey string   `json:"verifier_key" jsonschema:"the service's public key that signs every checkpoint"`
}

type verifyIn struct{}

// VerifyOut is the result of verify.
type VerifyOut struct {
	OK                 bool   `json:"ok"`
	TreeSize           int64  `json:"tree_size"`
	CheckedEvents      int64  `json:"checked_events"`
	CheckedCheckpoints int64  `json:"checked_checkpoints"`
	Failure            string `json:"failure,omitempty"`
}

func (t *tools) register(s *sdk.Server) {
	sdk.AddTool(s, &sdk.Tool{Name: "search", Description: "Search the account's audit log with the query language (qualifiers action:, actor:, resource:, ip:, outcome:, created:, user_id:, metadata.KEY:, free words); newest first, at most 100 events a call, with a cursor for more.",
		Annotations: readOnly()}, t.search)
	sdk.AddTool(s, &sdk.Tool{Name: "count", Description: "Count the account's events that match a search in the query language.", Annotations: readOnly()}, t.count)
	sdk.AddTool(s, &sdk.Tool{Name: "top", Description: "The actions, resource types, outcomes, actors or IP addresses with the most events in a range (from pre-aggregated counts; UTC hours, days for actors and addresses).", Annotations: readOnly()}, t.top)
	sdk.AddTool(s, &sdk.Tool{Name: "timeseries", Description: "The number of events (and failures) per hour, day, week or month in a range, UTC.", Annotations: readOnly()}, t.series)
	sdk.AddTool(s, &sdk.Tool{Name: "get_event", Description: "One event of the account by id.", Annotations: readOnly()}, t.getEvent)
	sdk.AddTool(s, &sdk.Tool{Name: "get_proof", Description: "The inclusion proof of an event in the account's verifiable log, with the signed checkpoint and the verifier key to check it.", Annotations: readOnly()}, t.getProof)
	sdk.AddTool(s, &sdk.Tool{Name: "verify", Description: "Re-check the account's whole stored log (every event's leaf, the tree, every checkpoint's signature) on the server and report.", Annotations: readOnly()}, t.verify)
}

func readOnly() *sdk.ToolAnnotations {
	no := false
	return &sdk.ToolAnnotations{ReadOnlyHint: true, DestructiveHint: &no, OpenWorldHint: &no}
}

func (t *tools) search(ctx context.Context, req *sdk.CallToolRequest, in searchIn) (*sdk.CallToolResult, SearchOut, error) {
	var out SearchOut
	p, err := principalOf(req)
	if err != nil {
		return nil, out, err
	}
	if in.Limit == 0 {
		in.Limit = DefaultEvents
	}
	if in.Limit < 1 || in.Limit > MaxEvents {
		return nil, out, errors.New("limit must be from 1 to " + strconv.Itoa(MaxEvents))
	}
	l, err := t.app.ListEvents(ctx, p, app.EventQuery{Search: in.Q, Page: audit.PageRequest{Page: 1, PerPage: in.Limit}, Cursor: in.Cursor})
	if err != nil {
		return nil, out, t.toolError(ctx, "search", err)
	}
	out = SearchOut{Events: make([]Event, len(l.Events)), Total: l.Pagination.Total, TotalExact: !l.Pagination.TotalInexact, NextCursor: l.NextCursor}
	for i, e := range l.Events {
		out.Events[i] = eventOf(e)
	}
	return nil, out, nil
}

func (t *tools) count(ctx context.Context, req *sdk.CallToolRequest, in countIn) (*sdk.CallToolResult, CountOut, error) {
	p, err := principalOf(req)
	if err != nil {
		return nil, CountOut{}, err
	}
	l, err := t.app.ListEvents(ctx, p, app.EventQuery{Search: in.Q, Page: audit.PageRequest{Page: 1, PerPage: 1}})
	if err != nil {
		return nil, CountOut{}, t.toolError(ctx, "count", err)
	}
	return nil, CountOut{Count: l.Pagination.Total, Exact: !l.Pagination.TotalInexact}, nil
}

func (in analyticsIn) query() (app.AnalyticsQuery, error) {
	q := app.AnalyticsQuery{Action: in.Action, ResourceType: in.ResourceType, Outcome: in.Outcome}
	var err error
	if q.Start, err = timeArg("start", in.Start, false); err != nil {
		return q, err
	}
	if q.End, err = timeArg("end", in.End, true); err != nil {
		return q, err
	}
	return q, nil
}

func (t *tools) top(ctx context.Context, req *sdk.CallToolRequest, in topIn) (*sdk.CallToolResult, TopOut, error) {
	var out TopOut
	p, err := principalOf(req)
	if err != nil {
		return nil, out, err
	}
	q, err := in.query()
	if err != nil {
		return nil, out, err
	}
	q.Dimension, q.Limit = in.Dimension, in.Limit
	if q.Dimension == "ip_address" {
		q.Dimension = "ip"
	}
	top, err := t.app.AnalyticsTop(ctx, p, q)
	if err != nil {
		return nil, out, t.toolError(ctx, "top", err)
	}
	out = TopOut{Start: top.Start.Format(timeLayout), End: top.End.Format(timeLayout), Dimension: in.Dimension, Values: []TopValue{}, Total: top.Total, Other: top.Other}
	if out.Dimension == "" {
		out.Dimension = "action"
	}
	for _, v := range top.Values {
		out.Values = append(out.Values, TopValue{Value: v.Value, Count: v.Count})
	}
	return nil, out, nil
}

func (t *tools) series(ctx context.Context, req *sdk.CallToolRequest, in seriesIn) (*sdk.CallToolResult, SeriesOut, error) {
	var out SeriesOut
	p, err := principalOf(req)
	if err != nil {
		return nil, out, err
	}
	q, err := in.query()
	if err != nil {
		return nil, out, err
	}
	q.Interval = in.Interval
	s, err := t.app.AnalyticsSeries(ctx, p, q)
	if err != nil {
		return nil, out, t.toolError(ctx, "timeseries", err)
	}
	out = SeriesOut{Start: s.Start.Format(timeLayout), End: s.End.Format(timeLayout), Interval: s.Interval, Points: make([]SeriesPoint, len(s.Points))}
	for i, pt := range s.Points {
		out.Points[i] = SeriesPoint{Start: pt.Start.Format(timeLayout), Count: pt.Count, Failures: pt.Failures}
	}
	return nil, out, nil
}

func (t *tools) getEvent(ctx context.Context, req *sdk.CallToolRequest, in eventIn) (*sdk.CallToolResult, Event, error) {
	p, err := principalOf(req)
	if err != nil {
		return nil, Event{}, err
	}
	e, err := t.app.Event(ctx, p, in.ID)
	if err != nil {
		return nil, Event{}, t.toolError(ctx, "get_event", err)
	}
	return nil, eventOf(e), nil
}

func (t *tools) getProof(ctx context.Context, req *sdk.CallToolRequest, in eventIn) (*sdk.CallToolResult, ProofOut, error) {
	p, err := principalOf(req)
	if err != nil {
		return nil, ProofOut{}, err
	}
	pr, err := t.app.ProveEvent(ctx, p, in.ID, 0)
	if err != nil {
		return nil, ProofOut{}, t.toolError(ctx, "get_proof", err)
	}
	key, _ := t.app.VerifierKey()
	out := ProofOut{
		EventID: pr.Event.ID, Seq: pr.Event.Seq, LeafIndex: pr.Event.Seq - 1, LeafHash: tlog.Hash(pr.Event.LeafHash).String(),
		TreeSize: pr.Checkpoint.Size, RootHash: pr.Checkpoint.Root.String(), Proof: []string{},
		Checkpoint: pr.Checkpoint.Note, Origin: t.app.Origin(p.AccountID), VerifierKey: key,
	}
	for _, h := range pr.Proof {
		out.Proof = append(out.Proof, h.String())
	}
	return nil, out, nil
}

func (t *tools) verify(ctx context.Context, req *sdk.CallToolRequest, _ verifyIn) (*sdk.CallToolResult, VerifyOut, error) {
	p, err := principalOf(req)
	if err != nil {
		return nil, VerifyOut{}, err
	}
	rep, err := t.app.VerifyLog(ctx, p)
	if err != nil {
		return nil, VerifyOut{}, t.toolError(ctx, "verify", err)
	}
	out := VerifyOut{OK: rep.Failure == nil, TreeSize: rep.TreeSize, CheckedEvents: rep.CheckedEvents, CheckedCheckpoints: rep.CheckedCheckpoints}
	if rep.Failure != nil {
		out.Failure = rep.Failure.Error()
	}
	return nil, out, nil
}
