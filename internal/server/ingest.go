package server

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/tlog"
)

// Body limits of the ingest endpoints: a single event is at most a few tens
// of kilobytes (see the field limits in package ingest); a batch of 1,000
// typical events is well under a megabyte.
const (
	maxEventBody = 256 << 10
	maxBatchBody = 8 << 20
)

// idempotencyKeyPattern is what an Idempotency-Key header may hold; the
// same characters as an event_id.
var idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,100}$`)

// readBody reads a JSON request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, audit.Errorf(audit.EUNSUPPORTED, "Content-Type must be application/json.")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, audit.Errorf(audit.ETOOLARGE, "Request body must be at most %d bytes.", limit)
	case err != nil:
		return nil, audit.Errorf(audit.EINVALID, "Request body could not be read.")
	}
	return body, nil
}

// idempotencyKey returns the request's Idempotency-Key header, if any.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if k != "" && !idempotencyKeyPattern.MatchString(k) {
		return "", audit.FieldError("Idempotency-Key", "the Idempotency-Key header must be 1 to 100 letters, digits and . _ : - characters.")
	}
	return k, nil
}

// ingestRequest reads an ingest request's body (at most limit bytes) and
// Idempotency-Key header. The route has drawn its rate-limit token.
func (s *Server) ingestRequest(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, key string, err error) {
	if body, err = readBody(w, r, limit); err != nil {
		return nil, "", err
	}
	key, err = idempotencyKey(r)
	return body, key, err
}

// ingestEvent records one event: POST /api/audit-logs.
func (s *Server) ingestEvent(w http.ResponseWriter, r *http.Request) error {
	body, key, err := s.ingestRequest(w, r, maxEventBody)
	if err != nil {
		return err
	}
	in, err := ingest.DecodeEvent(body)
	if err != nil {
		return err
	}
	if err := applyIdempotencyKey(in, key); err != nil {
		return err
	}
	res, err := s.app.Ingest(r.Context(), principalFrom(r.Context()), []ingest.EventInput{*in})
	if err != nil {
		return err
	}
	return writeIngested(w, res[0])
}

// applyIdempotencyKey makes a single event's Idempotency-Key header (key,
// "" for none) its event_id.
func applyIdempotencyKey(in *ingest.EventInput, key string) error {
	switch {
	case key == "":
	case in.EventID == "":
		in.EventID = key
	case in.EventID != key:
		return audit.FieldError("event_id", "event_id differs from the Idempotency-Key header; send one or make them equal.")
	}
	return nil
}

// writeIngested answers a single event's ingest: 201 with the event, or
// 200 with Idempotent-Replayed for a replay.
func writeIngested(w http.ResponseWriter, a audit.Appended) error {
	status := http.StatusCreated
	if a.Replayed {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	return writeJSON(w, status, map[string]any{"audit_log": eventJSON(a.Event)})
}

// keyBatchEvent gives event i of a batch with Idempotency-Key key (""
// for none) the event_id "<key>:<i>" when it has none of its own, so a
// retry of the whole batch is recognised.
func keyBatchEvent(in *ingest.EventInput, key string, i int) {
	if key != "" && in.EventID == "" {
		in.EventID = key + ":" + strconv.Itoa(i)
	}
}

// BatchItemJSON is what a batch response says of each event, in request
// order: enough to find it (GET /api/audit-logs, its proof) without echoing
// a thousand full events back.
type BatchItemJSON struct {
	ID        int64     `json:"id"`
	Seq       int64     `json:"seq"`
	EventID   *string   `json:"event_id"`
	LeafHash  tlog.Hash `json:"leaf_hash"`
	CreatedAt string    `json:"created_at"`
	Replayed  bool      `json:"replayed"`
	// AccountID is the event's account, in the platform's batches only.
	AccountID int64 `json:"account_id,omitempty"`
}

// ingestBatch records up to 1,000 events atomically: POST /api/audit-logs/batch.
func (s *Server) ingestBatch(w http.ResponseWriter, r *http.Request) error {
	body, key, err := s.ingestRequest(w, r, maxBatchBody)
	if err != nil {
		return err
	}
	ins, err := ingest.DecodeBatch(body)
	if err != nil {
		return err
	}
	for i := range ins {
		keyBatchEvent(&ins[i], key, i)
	}
	res, err := s.app.Ingest(r.Context(), principalFrom(r.Context()), ins)
	if err != nil {
		return err
	}
	return writeBatch(w, res, false)
}

// writeBatch answers a batch ingest: 201 with an item per event, or 200
// with Idempotent-Replayed when every event was a replay. withAccount
// names each item's account (the platform's batches span accounts).
func writeBatch(w http.ResponseWriter, res []audit.Appended, withAccount bool) error {
	out := make([]BatchItemJSON, len(res))
	created := 0
	for i, a := range res {
		e := a.Event
		out[i] = BatchItemJSON{ID: e.ID, Seq: e.Seq, EventID: optional(e.EventID), LeafHash: e.LeafHash, CreatedAt: formatTime(e.CreatedAt), Replayed: a.Replayed}
		if withAccount {
			out[i].AccountID = e.AccountID
		}
		if !a.Replayed {
			created++
		}
	}
	status := http.StatusCreated
	if created == 0 {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	return writeJSON(w, status, map[string]any{"audit_logs": out, "created": created, "replayed": len(res) - created})
}
