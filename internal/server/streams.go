package server

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/stream"
)

// StreamJSON is a stream as the API shows it: never its secret.
type StreamJSON struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Type  string `json:"type"`
	URL   string `json:"url"`
	State string `json:"state"`
	// CursorSeq is the seq of the last event delivered.
	CursorSeq       int64   `json:"cursor_seq"`
	Failures        int     `json:"failures"`
	NextAttemptAt   *string `json:"next_attempt_at"`
	LastError       *string `json:"last_error"`
	LastErrorAt     *string `json:"last_error_at"`
	LastDeliveredAt *string `json:"last_delivered_at"`
	CreatedBy       *int64  `json:"created_by"`
	CreatedAt       string  `json:"created_at"`
	UpdatedAt       string  `json:"updated_at"`
}

func streamJSON(s *audit.Stream) StreamJSON {
	j := StreamJSON{
		ID: s.ID, Name: s.Name, Type: s.Type, URL: s.URL, State: s.State, CursorSeq: s.Cursor, Failures: s.Failures,
		LastError: optional(s.LastError), CreatedAt: formatTime(s.CreatedAt), UpdatedAt: formatTime(s.UpdatedAt),
	}
	if s.Failures > 0 && s.State == audit.StreamActive {
		t := formatTime(s.NextAttemptAt)
		j.NextAttemptAt = &t
	}
	if !s.LastErrorAt.IsZero() {
		t := formatTime(s.LastErrorAt)
		j.LastErrorAt = &t
	}
	if !s.LastDeliveredAt.IsZero() {
		t := formatTime(s.LastDeliveredAt)
		j.LastDeliveredAt = &t
	}
	if s.CreatedBy != 0 {
		j.CreatedBy = &s.CreatedBy
	}
	return j
}

type createStreamRequest struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// createStream creates a stream (app.CreateStream) and shows a generated
// webhook secret, this once.
func (s *Server) createStream(w http.ResponseWriter, r *http.Request) error {
	var req createStreamRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	st, secret, err := s.app.CreateStream(r.Context(), principalFrom(r.Context()), s.client(r),
		app.NewStream{Name: req.Name, Type: req.Type, URL: req.URL, Secret: req.Secret})
	if err != nil {
		return err
	}
	body := map[string]any{"message": "Stream created.", "stream": streamJSON(st)}
	if secret != "" {
		body["message"] = "Stream created. Store the signing secret now: it is shown only this once."
		body["secret"] = secret
	}
	return writeJSON(w, http.StatusCreated, body)
}

// listStreams lists the account's streams.
func (s *Server) listStreams(w http.ResponseWriter, r *http.Request) error {
	list, err := s.app.Streams(r.Context(), principalFrom(r.Context()))
	if err != nil {
		return err
	}
	out := make([]StreamJSON, len(list))
	for i, st := range list {
		out[i] = streamJSON(st)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"streams": out})
}

// getStream shows one stream.
func (s *Server) getStream(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrStreamNotFound)
	if err != nil {
		return err
	}
	st, err := s.app.Stream(r.Context(), principalFrom(r.Context()), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"stream": streamJSON(st)})
}

type updateStreamRequest struct {
	Name   *string `json:"name"`
	URL    *string `json:"url"`
	Secret *string `json:"secret"`
}

// updateStream changes a stream's name, URL or secret (app.UpdateStream).
func (s *Server) updateStream(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrStreamNotFound)
	if err != nil {
		return err
	}
	var req updateStreamRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	st, err := s.app.UpdateStream(r.Context(), principalFrom(r.Context()), s.client(r), id,
		app.StreamChange{Name: req.Name, URL: req.URL, Secret: req.Secret})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": "Stream updated.", "stream": streamJSON(st)})
}

// pauseStream and resumeStream stop and restart a stream's delivery.
func (s *Server) pauseStream(w http.ResponseWriter, r *http.Request) error {
	return s.streamState(w, r, s.app.PauseStream, "Stream paused.")
}

func (s *Server) resumeStream(w http.ResponseWriter, r *http.Request) error {
	return s.streamState(w, r, s.app.ResumeStream, "Stream resumed.")
}

func (s *Server) streamState(w http.ResponseWriter, r *http.Request,
	op func(ctx context.Context, p *app.Principal, c app.Client, id int64) (*audit.Stream, error), msg string) error {
	id, err := pathID(r, app.ErrStreamNotFound)
	if err != nil {
		return err
	}
	st, err := op(r.Context(), principalFrom(r.Context()), s.client(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": msg, "stream": streamJSON(st)})
}

// deleteStream deletes a stream (app.DeleteStream).
func (s *Server) deleteStream(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrStreamNotFound)
	if err != nil {
		return err
	}
	if err := s.app.DeleteStream(r.Context(), principalFrom(r.Context()), s.client(r), id); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": "Stream deleted."})
}

// testStream sends a test delivery (app.TestStream) and says how it went.
func (s *Server) testStream(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrStreamNotFound)
	if err != nil {
		return err
	}
	res, err := s.app.TestStream(r.Context(), principalFrom(r.Context()), id, s.StreamEncoder().Checkpoint)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"ok": res.OK, "error": optional(res.Error)})
}

// StreamEncoder returns the encoding that streams deliver events and
// checkpoints in: the JSON API's, as GET /api/audit-logs and
// GET /api/audit-logs/checkpoint show them.
func (s *Server) StreamEncoder() stream.Encoder { return streamEncoder{s} }

type streamEncoder struct{ s *Server }

func (e streamEncoder) Event(ev *audit.Event) ([]byte, error) { return json.Marshal(eventJSON(ev)) }

func (e streamEncoder) Checkpoint(c *sqlstore.Checkpoint) ([]byte, error) {
	return json.Marshal(e.s.checkpointJSON(c))
}
