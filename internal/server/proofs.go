package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// CheckpointJSON is a signed checkpoint as the API shows it.
type CheckpointJSON struct {
	Origin     string    `json:"origin"`
	TreeSize   int64     `json:"tree_size"`
	RootHash   tlog.Hash `json:"root_hash"`  // standard base64
	Checkpoint string    `json:"checkpoint"` // the C2SP signed note, with the witnesses' cosignature lines
	CreatedAt  string    `json:"created_at"`
	// CosignedBy names the witnesses (key name+ID) whose cosignatures the
	// note carries.
	CosignedBy []string `json:"cosigned_by"`
	// FirstSeq is the seq of the log's oldest event kept: retention
	// removed the events before it, by PrunedAt (null when none was).
	FirstSeq int64   `json:"first_seq"`
	PrunedAt *string `json:"pruned_at"`
}

func (s *Server) checkpointJSON(c *sqlstore.Checkpoint) CheckpointJSON {
	by := c.CosignedBy
	if by == nil {
		by = []string{}
	}
	return CheckpointJSON{
		Origin: s.app.Origin(c.AccountID), TreeSize: c.Size, RootHash: c.Root,
		Checkpoint: c.Note, CreatedAt: formatTime(c.CreatedAt), CosignedBy: by,
		FirstSeq: c.Pruned + 1, PrunedAt: optionalTime(c.PrunedAt),
	}
}

// optionalTime renders t, or null when it is zero.
func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

// sizeParam reads an optional positive tree-size parameter; 0 means latest.
func sizeParam(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, ok := canonicalID(v)
	if !ok {
		return 0, audit.FieldError(name, "%s must be a positive whole number: a size of the log.", name)
	}
	return n, nil
}

// verifierKey publishes the public key that signs new checkpoints, and
// under "keys" every key of the log, current and previous, with its
// validity.
func (s *Server) verifierKey(w http.ResponseWriter, r *http.Request) error {
	key, name := s.app.VerifierKey()
	keys, err := s.app.SigningKeys(r.Context())
	if err != nil {
		return err
	}
	list := make([]map[string]any, len(keys))
	for i, k := range keys {
		j := map[string]any{"verifier_key": k.VerifierKey, "current": k.Current, "valid_from": nil, "valid_until": nil}
		if !k.From.IsZero() {
			j["valid_from"] = formatTime(k.From)
		}
		if !k.Until.IsZero() {
			j["valid_until"] = formatTime(k.Until)
		}
		list[i] = j
	}
	return writeJSONTagged(w, r, map[string]any{"verifier_key": key, "key_name": name, "algorithm": "Ed25519", "keys": list})
}

// checkpoint returns the account's latest checkpoint, or the one of ?size=N
// (app.Checkpoint).
func (s *Server) checkpoint(w http.ResponseWriter, r *http.Request) error {
	size, err := sizeParam(r, "size")
	if err != nil {
		return err
	}
	c, err := s.app.Checkpoint(r.Context(), principalFrom(r.Context()), size)
	if err != nil {
		return err
	}
	return writeJSONTagged(w, r, s.checkpointJSON(c))
}

// proof returns the inclusion proof of one event at the latest checkpoint,
// or at the one of ?size=N (app.ProveEvent).
func (s *Server) proof(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrEventNotFound)
	if err != nil {
		return err
	}
	size, err := sizeParam(r, "size")
	if err != nil {
		return err
	}
	p, err := s.app.ProveEvent(r.Context(), principalFrom(r.Context()), id, size)
	if err != nil {
		return err
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

// consistency proves that the log of size from is a prefix of the log of
// size to, the latest checkpoint's when to is absent
// (app.ProveConsistency). from and to are any sizes up to the log's; each
// side carries its signed checkpoint when the service holds one, else null.
func (s *Server) consistency(w http.ResponseWriter, r *http.Request) error {
	from, err := sizeParam(r, "from")
	if err != nil {
		return err
	}
	to, err := sizeParam(r, "to")
	if err != nil {
		return err
	}
	p, err := s.app.ProveConsistency(r.Context(), principalFrom(r.Context()), from, to)
	if err != nil {
		return err
	}
	cp := func(c *sqlstore.Checkpoint) any {
		if c == nil {
			return nil
		}
		return s.checkpointJSON(c)
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"from_size": p.FromSize, "from_root": p.FromRoot, "to_size": p.ToSize, "to_root": p.ToRoot,
		"from": cp(p.From), "to": cp(p.To), "proof": hashes(p.Proof),
	})
}

// verify re-checks the caller's account's whole stored log (app.VerifyLog).
func (s *Server) verify(w http.ResponseWriter, r *http.Request) error {
	extendDeadline(w)
	rep, err := s.app.VerifyLog(r.Context(), principalFrom(r.Context()))
	if err != nil {
		return err
	}
	out := map[string]any{
		"ok":         rep.Failure == nil,
		"account_id": rep.AccountID,
		"tree_size":  rep.TreeSize,
		"first_seq":  rep.Pruned + 1,
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
	// The witnesses' view: a refusal means the stored log does not extend
	// a checkpoint a witness cosigned, whatever the stored log says of
	// itself (an insider who rewrote it could have made it consistent).
	states, err := s.app.WitnessStates(r.Context(), principalFrom(r.Context()))
	if err != nil {
		return err
	}
	ws := make([]map[string]any, 0, len(states))
	for _, st := range states {
		j := map[string]any{"witness": st.Witness, "cosigned_size": st.CosignedSize, "refusal": nil}
		if ref := st.Refusal; ref != nil {
			reason := fmt.Sprintf("witness %s refused to cosign the checkpoint of size %d (%d: %s): the stored log does not extend the checkpoint of size %d it cosigned; the log was rewritten or rolled back",
				st.Witness, ref.TreeSize, ref.Status, ref.Reason, ref.CosignedSize)
			j["refusal"] = map[string]any{"tree_size": ref.TreeSize, "cosigned_size": ref.CosignedSize, "status": ref.Status,
				"reason": ref.Reason, "created_at": formatTime(ref.CreatedAt)}
			if out["failure"] == nil {
				out["failure"] = map[string]any{"reason": reason, "index": nil, "seq": nil}
			}
			out["ok"] = false
		}
		ws = append(ws, j)
	}
	out["witnesses"] = ws
	return writeJSON(w, http.StatusOK, out)
}

// extendDeadline lifts the server's write timeout for a response that may
// take long to produce or stream (verification, exports).
func extendDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
}
