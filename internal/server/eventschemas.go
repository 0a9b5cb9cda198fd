package server

import (
	"net/http"
	"strconv"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/go-json-experiment/json/jsontext"
)

// Event schemas (app.CreateEventSchema and the rest): /api/event-schemas,
// with a platform key holding schemas:write or an owner's (to write) or
// admin's (to read) session.

// EventSchemaJSON is an event schema version in responses.
type EventSchemaJSON struct {
	ID int64 `json:"id"`
	// AccountID is the account whose events it checks; null for every
	// account.
	AccountID *int64         `json:"account_id"`
	Action    string         `json:"action"`
	Version   int            `json:"version"`
	Schema    jsontext.Value `json:"schema"`
	CreatedBy string         `json:"created_by"`
	CreatedAt string         `json:"created_at"`
	// Used: an event has been checked against it, so it cannot be deleted.
	Used bool `json:"used"`
}

func eventSchemaJSON(s *audit.EventSchema) EventSchemaJSON {
	out := EventSchemaJSON{ID: s.ID, Action: s.Action, Version: s.Version, Schema: jsontext.Value(s.Body),
		CreatedBy: s.CreatedBy, CreatedAt: formatTime(s.CreatedAt), Used: s.Used()}
	if !s.AllAccounts() {
		id := s.AccountID
		out.AccountID = &id
	}
	return out
}

type createEventSchemaRequest struct {
	AccountID   int64          `json:"account_id"`
	ExternalID  string         `json:"external_id"`
	AllAccounts bool           `json:"all_accounts"`
	Action      string         `json:"action"`
	Schema      jsontext.Value `json:"schema"`
}

// createEventSchema registers the next version of an action's event
// schema: POST /api/event-schemas.
func (s *Server) createEventSchema(w http.ResponseWriter, r *http.Request) error {
	var req createEventSchemaRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	es, err := s.app.CreateEventSchema(r.Context(), principalFrom(r.Context()), s.client(r), app.NewEventSchema{
		Account: app.AccountRef{ID: req.AccountID, ExternalID: req.ExternalID}, AllAccounts: req.AllAccounts,
		Action: req.Action, Schema: req.Schema,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"event_schema": eventSchemaJSON(es)})
}

// listEventSchemas lists the schema versions that apply to an account's
// events: GET /api/event-schemas[?account_id=…|external_id=…][&action=…].
func (s *Server) listEventSchemas(w http.ResponseWriter, r *http.Request) error {
	qs := r.URL.Query()
	var ref app.AccountRef
	if v := qs.Get("account_id"); v != "" {
		id, ok := canonicalID(v)
		if !ok {
			return audit.FieldError("account_id", "account_id must be a positive number.")
		}
		ref.ID = id
	}
	ref.ExternalID = qs.Get("external_id")
	list, err := s.app.ListEventSchemas(r.Context(), principalFrom(r.Context()), ref, qs.Get("action"))
	if err != nil {
		return err
	}
	out := make([]EventSchemaJSON, len(list))
	for i, es := range list {
		out[i] = eventSchemaJSON(es)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"event_schemas": out})
}

// getEventSchema returns one schema version: GET /api/event-schemas/{id}.
func (s *Server) getEventSchema(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrEventSchemaNotFound)
	if err != nil {
		return err
	}
	es, err := s.app.EventSchema(r.Context(), principalFrom(r.Context()), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"event_schema": eventSchemaJSON(es)})
}

// deleteEventSchema deletes a schema version no event was checked
// against: DELETE /api/event-schemas/{id}.
func (s *Server) deleteEventSchema(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrEventSchemaNotFound)
	if err != nil {
		return err
	}
	es, err := s.app.DeleteEventSchema(r.Context(), principalFrom(r.Context()), s.client(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"message":      "Deleted version " + strconv.Itoa(es.Version) + " of the event schema of " + es.Action + ".",
		"event_schema": eventSchemaJSON(es),
	})
}
