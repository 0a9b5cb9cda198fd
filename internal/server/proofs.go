package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// CheckpointJSON is a signed checkpoint as the API shows it.
type CheckpointJSON struct {
	Origin     string    `json:"origin"`
	TreeSize   int64     `json:"tree_size"`
	RootHash   tlog.Hash `json:"root_hash"`  // standard base64
	Checkpoint string    `json:"checkpoint"` // the C2SP signed note
	CreatedAt  string    `json:"created_at"`
}

func (s *Server) checkpointJSON(c *sqlstore.Checkpoint) CheckpointJSON {
	return CheckpointJSON{
		Origin: tlog.Origin(s.signer.Name(), c.AccountID), TreeSize: c.Size, RootHash: c.Root,
		Checkpoint: c.Note, CreatedAt: formatTime(c.CreatedAt),
	}
}

// sizeParam reads an optional positive tree-size parameter; 0 means latest.
func sizeParam(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, audit.FieldError(name, "%s must be a positive whole number: the size of a signed checkpoint.", name)
	}
	return n, nil
}

var errNoCheckpoint = audit.Errorf(audit.ENOTFOUND, "No checkpoint of that size: checkpoints exist only at the sizes the log was signed at.")

// notFoundAs replaces a not-found error with a more precise one.
func notFoundAs(err error, replacement error) error {
	if errors.Is(err, audit.ErrNotFound) {
		return replacement
	}
	return err
}

// verifierKey publishes the public key that signs every checkpoint.
func (s *Server) verifierKey(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{
		"verifier_key": s.signer.VerifierKey(), "key_name": s.signer.Name(), "algorithm": "Ed25519",
	})
}

// checkpoint returns the account's latest checkpoint, or the one of ?size=N.
func (s *Server) checkpoint(w http.ResponseWriter, r *http.Request) error {
	size, err := sizeParam(r, "size")
	if err != nil {
		return err
	}
	c, err := s.store.Checkpoint(r.Context(), principalFrom(r.Context()).AccountID, size)
	if err != nil {
		return notFoundAs(err, errNoCheckpoint)
	}
	return writeJSON(w, http.StatusOK, s.checkpointJSON(c))
}

// proof returns the inclusion proof of one event at the latest checkpoint,
// or at the one of ?size=N.
func (s *Server) proof(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return audit.Errorf(audit.ENOTFOUND, "Audit log entry not found.")
	}
	size, err := sizeParam(r, "size")
	if err != nil {
		return err
	}
	accountID := principalFrom(ctx).AccountID
	if _, err := s.store.Event(ctx, accountID, id); err != nil {
		return notFoundAs(err, audit.Errorf(audit.ENOTFOUND, "Audit log entry not found."))
	}
	p, err := s.store.ProveEvent(ctx, accountID, id, size)
	if err != nil {
		return notFoundAs(err, errNoCheckpoint)
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"event_id": p.Event.ID, "seq": p.Event.Seq, "leaf_index": p.Event.Seq - 1, "leaf_hash": tlog.Hash(p.Event.LeafHash),
		"tree_size": p.Checkpoint.Size, "root_hash": p.Checkpoint.Root, "proof": hashes(p.Proof),
		"checkpoint": s.checkpointJSON(p.Checkpoint),
	})
}

func hashes(hs []tlog.Hash) []tlog.Hash {
	if hs == nil {
		return []tlog.Hash{}
	}
	return hs
}

// consistency proves that the log at checkpoint size from is a prefix of the
// log at checkpoint size to (the latest when to is absent).
func (s *Server) consistency(w http.ResponseWriter, r *http.Request) error {
	from, err := sizeParam(r, "from")
	if err != nil {
		return err
	}
	if from == 0 {
		return audit.FieldError("from", "from is required: the size of an earlier signed checkpoint.")
	}
	to, err := sizeParam(r, "to")
	if err != nil {
		return err
	}
	if to != 0 && from > to {
		return audit.FieldError("from", "from must not be larger than to.")
	}
	p, err := s.store.ProveConsistency(r.Context(), principalFrom(r.Context()).AccountID, from, to)
	if err != nil {
		return notFoundAs(err, errNoCheckpoint)
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"from": s.checkpointJSON(p.From), "to": s.checkpointJSON(p.To), "proof": hashes(p.Proof),
	})
}

// verify re-checks the caller's account's whole stored log.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	extendDeadline(w)
	rep, err := s.store.VerifyLog(ctx, principalFrom(ctx).AccountID, s.signer.VerifierKey())
	if err != nil {
		return err
	}
	out := map[string]any{
		"ok":         rep.Failure == nil,
		"account_id": rep.AccountID,
		"tree_size":  rep.TreeSize,
		"checked": map[string]int64{
			"events": rep.CheckedEvents, "checkpoints": rep.CheckedCheckpoints, "tree_hashes": rep.CheckedTreeHashes,
		},
		"failure": nil,
	}
	if f := rep.Failure; f != nil {
		fail := map[string]any{"reason": f.Reason, "index": nil, "seq": nil}
		if f.Index >= 0 {
			fail["index"], fail["seq"] = f.Index, f.Index+1
		}
		out["failure"] = fail
	}
	return writeJSON(w, http.StatusOK, out)
}

// extendDeadline lifts the server's write timeout for a response that may
// take long to produce or stream (verification, exports).
func extendDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
}

// exportEvents streams the caller's account's events as a self-proving
// NDJSON file: the latest signed checkpoint, the events up to it that match
// the seed's filters (each with its inclusion proof when filtered), and an
// end line. The export itself is recorded as an audit event first.
func (s *Server) exportEvents(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	if f := q.Get("format"); f != "" && f != "ndjson" {
		return audit.FieldError("format", "format must be ndjson.")
	}
	f, _, err := parseEventQuery(q)
	if err != nil {
		return err
	}
	p := principalFrom(ctx)
	accountID := p.AccountID
	filter := filterMap(f)
	if err := s.app.RecordExport(ctx, p, s.client(r), filter); err != nil {
		return err
	}
	c, err := s.store.Checkpoint(ctx, accountID, 0)
	if err != nil {
		return err
	}
	complete := f == (audit.EventFilter{})
	extendDeadline(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="audit-log-account-%d-size-%d.ndjson"`, accountID, c.Size))
	w.WriteHeader(http.StatusOK)
	ew := export.NewWriter(w, export.Header{
		AccountID: accountID, Origin: tlog.Origin(s.signer.Name(), accountID), TreeSize: c.Size, RootHash: c.Root,
		Checkpoint: c.Note, Complete: complete, Filter: filter, ExportedAt: formatTime(s.now()),
	})
	var tiles *tlog.Tiles
	n := 0
	err = s.store.ExportEvents(ctx, accountID, f, c.Size, func(e *audit.Event) error {
		line := export.EventOf(e)
		if !complete {
			if n%1000 == 0 {
				tiles = s.store.Tiles(ctx, accountID) // bounded cache: a fresh view per thousand events
			}
			var err error
			if line.Proof, err = tiles.InclusionProof(c.Size, e.Seq-1); err != nil {
				return err
			}
		}
		n++
		return ew.Write(line)
	})
	if err == nil {
		err = ew.Close()
	}
	if err != nil {
		// The status is sent; a truncated file (no end line) tells the
		// client, and the verifier, that the export failed.
		s.log.ErrorContext(ctx, "export failed", "account", accountID, "err", err)
	}
	return nil
}

// filterMap returns the filter as the query parameters that select it.
func filterMap(f audit.EventFilter) map[string]string {
	m := map[string]string{}
	if f.UserID != 0 {
		m["user_id"] = strconv.FormatInt(f.UserID, 10)
	}
	if f.Action != "" {
		m["action"] = f.Action
	}
	if f.ResourceType != "" {
		m["resource_type"] = f.ResourceType
	}
	if !f.Start.IsZero() {
		m["start_date"] = formatTime(f.Start)
	}
	if !f.End.IsZero() {
		m["end_date"] = formatTime(f.End)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
