package server

import (
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// ErasureJSON is an erasure of personal data as the API shows it: what was
// erased, never the data (docs/privacy.md).
type ErasureJSON struct {
	// ID is the seq of the erasure's personal_data_erased event.
	ID      int64              `json:"id"`
	Subject ErasureSubjectJSON `json:"subject"`
	// Events is how many events were erased; Fields, per personal field,
	// how many of them held it.
	Events         int64            `json:"events"`
	Fields         map[string]int64 `json:"fields"`
	ChatTurns      int64            `json:"chat_turns"`
	UserAnonymized bool             `json:"user_anonymized"`
	RequestedBy    *int64           `json:"requested_by"` // the owner's user ID; null for an operator
	CreatedAt      string           `json:"created_at"`
}

// ErasureSubjectJSON names an erasure's subject: its type and its opaque
// reference.
type ErasureSubjectJSON struct {
	Type string `json:"type"`
	Ref  string `json:"ref"`
}

func erasureJSON(r *audit.Erasure) ErasureJSON {
	j := ErasureJSON{
		ID: r.Seq, Subject: ErasureSubjectJSON{Type: r.SubjectType, Ref: r.SubjectRef},
		Events: r.Events, Fields: r.Fields, ChatTurns: r.ChatTurns, UserAnonymized: r.UserAnonymized, CreatedAt: formatTime(r.CreatedAt),
	}
	if j.Fields == nil {
		j.Fields = map[string]int64{}
	}
	if r.RequestedBy != 0 {
		id := r.RequestedBy
		j.RequestedBy = &id
	}
	return j
}

type eraseRequest struct {
	UserID        int64  `json:"user_id"`
	ActorID       string `json:"actor_id"`
	Email         string `json:"email"`
	AnonymizeUser bool   `json:"anonymize_user"`
}

// erase erases one person's personal data from the account's events
// (app.Erase).
func (s *Server) erase(w http.ResponseWriter, r *http.Request) error {
	var req eraseRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	rec, err := s.app.Erase(r.Context(), principalFrom(r.Context()), s.client(r), app.ErasureRequest{
		UserID: req.UserID, ActorID: req.ActorID, Email: req.Email, AnonymizeUser: req.AnonymizeUser,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"message": "Personal data erased", "erasure": erasureJSON(rec)})
}

// listErasures lists the account's erasures, newest first.
func (s *Server) listErasures(w http.ResponseWriter, r *http.Request) error {
	recs, err := s.app.Erasures(r.Context(), principalFrom(r.Context()))
	if err != nil {
		return err
	}
	out := make([]ErasureJSON, len(recs))
	for i, rec := range recs {
		out[i] = erasureJSON(rec)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"erasures": out})
}
