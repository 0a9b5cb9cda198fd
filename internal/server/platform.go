package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/ingest"
)

// The platform routes (/api/platform/…) take a platform key only; the
// routes of one account take its API keys and sessions only (see
// authenticate). docs/platform.md is the integration guide.

// authenticatePlatform finds the platform key of an "Authorization:
// Bearer plk_…" header and, for a route under
// /api/platform/accounts/{account}/, scopes it to that account.
func (s *Server) authenticatePlatform(r *http.Request, scoped bool) (*http.Request, error) {
	key, ok := bearerToken(r)
	if !ok {
		return r, app.ErrUnauthorized
	}
	ctx := r.Context()
	p, err := s.app.AuthenticatePlatformKey(ctx, key)
	if err != nil {
		return r, err
	}
	if scoped {
		id, ok := canonicalID(r.PathValue("account"))
		if !ok {
			return r, app.ErrAccountNotFound
		}
		if p, _, err = s.app.PlatformAccount(ctx, p, app.AccountRef{ID: id}); err != nil {
			return r, err
		}
	}
	return r.WithContext(context.WithValue(ctx, principalKey{}, p)), nil
}

type createPlatformAccountRequest struct {
	Name           string `json:"name"`
	Domain         string `json:"domain"`
	ExternalID     string `json:"external_id"`
	OwnerEmail     string `json:"owner_email"`
	OwnerPassword  string `json:"owner_password"`
	OwnerFirstName string `json:"owner_first_name"`
	OwnerLastName  string `json:"owner_last_name"`
}

// createPlatformAccount creates an account for one of the platform's
// merchants (app.CreatePlatformAccount): POST /api/platform/accounts.
func (s *Server) createPlatformAccount(w http.ResponseWriter, r *http.Request) error {
	var req createPlatformAccountRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	acct, owner, err := s.app.CreatePlatformAccount(r.Context(), principalFrom(r.Context()), s.client(r), app.NewPlatformAccount{
		Name: req.Name, Domain: req.Domain, ExternalID: req.ExternalID,
		Owner: app.NewAccount{OwnerEmail: req.OwnerEmail, OwnerPassword: req.OwnerPassword,
			OwnerFirstName: req.OwnerFirstName, OwnerLastName: req.OwnerLastName},
	})
	switch {
	case errors.Is(err, audit.ErrDomainTaken):
		return conflictOn("domain", err)
	case err != nil:
		return err
	}
	body := map[string]any{"account": accountJSON(acct)}
	if owner != nil {
		body["user"] = userJSON(owner)
	}
	return writeJSON(w, http.StatusCreated, body)
}

// getPlatformAccount returns an account by ID: GET /api/platform/accounts/{account}.
func (s *Server) getPlatformAccount(w http.ResponseWriter, r *http.Request) error {
	id, ok := canonicalID(r.PathValue("account"))
	if !ok {
		return app.ErrAccountNotFound
	}
	return s.lookUpAccount(w, r, app.AccountRef{ID: id})
}

// getPlatformAccountByExternalID returns an account by the platform's own
// ID of the merchant: GET /api/platform/accounts?external_id=….
func (s *Server) getPlatformAccountByExternalID(w http.ResponseWriter, r *http.Request) error {
	ext := r.URL.Query().Get("external_id")
	if ext == "" {
		return audit.FieldError("external_id", "external_id is required: GET /api/platform/accounts?external_id=….")
	}
	return s.lookUpAccount(w, r, app.AccountRef{ExternalID: ext})
}

func (s *Server) lookUpAccount(w http.ResponseWriter, r *http.Request, ref app.AccountRef) error {
	acct, err := s.app.LookUpAccount(r.Context(), principalFrom(r.Context()), ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"account": accountJSON(acct)})
}

// platformEvent converts a decoded platform event for the app.
func platformEvent(in ingest.PlatformEventInput) app.PlatformEvent {
	return app.PlatformEvent{Account: app.AccountRef{ID: in.AccountID, ExternalID: in.ExternalID}, Event: in.EventInput}
}

// ingestPlatformEvent records one event in the account it names: POST
// /api/platform/events. It answers as POST /api/audit-logs does, with the
// account's ID in the event.
func (s *Server) ingestPlatformEvent(w http.ResponseWriter, r *http.Request) error {
	body, key, err := s.ingestRequest(w, r, maxEventBody)
	if err != nil {
		return err
	}
	in, err := ingest.DecodePlatformEvent(body)
	if err != nil {
		return err
	}
	if err := applyIdempotencyKey(&in.EventInput, key); err != nil {
		return err
	}
	res, err := s.app.PlatformIngest(r.Context(), principalFrom(r.Context()), []app.PlatformEvent{platformEvent(*in)})
	if err != nil {
		return err
	}
	return writeIngested(w, res[0])
}

// ingestPlatformBatch records up to 1,000 events, each in the account it
// names, all or none: POST /api/platform/events/batch.
func (s *Server) ingestPlatformBatch(w http.ResponseWriter, r *http.Request) error {
	body, key, err := s.ingestRequest(w, r, maxBatchBody)
	if err != nil {
		return err
	}
	ins, err := ingest.DecodePlatformBatch(body)
	if err != nil {
		return err
	}
	events := make([]app.PlatformEvent, len(ins))
	for i := range ins {
		events[i] = platformEvent(ins[i])
		keyBatchEvent(&events[i].Event, key, i)
	}
	res, err := s.app.PlatformIngest(r.Context(), principalFrom(r.Context()), events)
	if err != nil {
		return err
	}
	return writeBatch(w, res, true)
}

type createViewerTokenRequest struct {
	AccountID  int64             `json:"account_id"`
	ExternalID string            `json:"external_id"`
	Q          string            `json:"q"`
	Features   []string          `json:"features"`
	Origins    []string          `json:"origins"`
	TTLSeconds int64             `json:"ttl_seconds"`
	Theme      map[string]string `json:"theme"`
}

// createViewerToken mints a token of the embeddable viewer
// (app.CreateViewerToken): POST /api/viewer-tokens, with a platform key
// holding viewer:create or an owner's or admin's session.
func (s *Server) createViewerToken(w http.ResponseWriter, r *http.Request) error {
	var req createViewerTokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int64(app.MaxViewerTTL/time.Second) {
		return audit.FieldError("ttl_seconds", "ttl_seconds must be between 1 and %d.", int64(app.MaxViewerTTL/time.Second))
	}
	token, g, err := s.app.CreateViewerToken(r.Context(), principalFrom(r.Context()), s.client(r), app.NewViewerToken{
		Account: app.AccountRef{ID: req.AccountID, ExternalID: req.ExternalID}, Query: req.Q, Features: req.Features,
		Origins: req.Origins, TTL: time.Duration(req.TTLSeconds) * time.Second, Theme: req.Theme,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"token":      token,
		"url":        "/embed?token=" + token,
		"id":         g.ID,
		"account_id": g.AccountID,
		"q":          g.Query,
		"features":   append([]string{}, g.Features...),
		"origins":    g.Origins,
		"theme":      g.Theme,
		"expires_at": formatTime(g.ExpiresAt),
	})
}

// ViewerSettingsJSON is an account's settings of the embeddable viewer.
type ViewerSettingsJSON struct {
	// RecordViews: opening the viewer records audit_log.viewed.
	RecordViews bool `json:"record_views"`
}

// getViewerSettings returns the account's viewer settings: GET
// /api/accounts/{id}/viewer.
func (s *Server) getViewerSettings(w http.ResponseWriter, r *http.Request) error {
	id, err := accountID(r)
	if err != nil {
		return err
	}
	rec, err := s.app.RecordViews(r.Context(), principalFrom(r.Context()), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ViewerSettingsJSON{RecordViews: rec})
}

// updateViewerSettings lets an owner choose whether views are recorded:
// PATCH /api/accounts/{id}/viewer {"record_views": false}.
func (s *Server) updateViewerSettings(w http.ResponseWriter, r *http.Request) error {
	id, err := accountID(r)
	if err != nil {
		return err
	}
	var req struct {
		RecordViews *bool `json:"record_views"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.RecordViews == nil {
		return audit.FieldError("record_views", "record_views is required: true or false.")
	}
	p := principalFrom(r.Context())
	if err := s.app.SetRecordViews(r.Context(), p, s.client(r), id, *req.RecordViews); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ViewerSettingsJSON{RecordViews: *req.RecordViews})
}
