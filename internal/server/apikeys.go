package server

import (
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// APIKeyJSON is an API key as the API shows it: never its secret or hash.
type APIKeyJSON struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	Prefix     string   `json:"prefix"`
	Scopes     []string `json:"scopes"`
	CreatedBy  *int64   `json:"created_by"`
	CreatedAt  string   `json:"created_at"`
	LastUsedAt *string  `json:"last_used_at"`
	RevokedAt  *string  `json:"revoked_at"`
}

func apiKeyJSON(k *audit.APIKey) APIKeyJSON {
	j := APIKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, CreatedAt: formatTime(k.CreatedAt)}
	if k.CreatedBy != 0 {
		j.CreatedBy = &k.CreatedBy
	}
	if !k.LastUsedAt.IsZero() {
		t := formatTime(k.LastUsedAt)
		j.LastUsedAt = &t
	}
	if k.Revoked() {
		t := formatTime(k.RevokedAt)
		j.RevokedAt = &t
	}
	return j
}

type createAPIKeyRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// createAPIKey creates a key (app.CreateAPIKey) and shows its secret, this
// once.
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var req createAPIKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	key, k, err := s.app.CreateAPIKey(r.Context(), principalFrom(r.Context()), s.client(r), app.NewAPIKey{Name: req.Name, Scopes: req.Scopes})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"message": "API key created. Store the key now: it is shown only this once.",
		"key":     key,
		"api_key": apiKeyJSON(k),
	})
}

// listAPIKeys lists the account's keys, revoked ones too.
func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.app.APIKeys(r.Context(), principalFrom(r.Context()))
	if err != nil {
		return err
	}
	out := make([]APIKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = apiKeyJSON(k)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"api_keys": out})
}

// revokeAPIKey revokes a key (app.RevokeAPIKey); it stops working at once.
func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrKeyNotFound)
	if err != nil {
		return err
	}
	k, err := s.app.RevokeAPIKey(r.Context(), principalFrom(r.Context()), s.client(r), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": "API key revoked", "api_key": apiKeyJSON(k)})
}
