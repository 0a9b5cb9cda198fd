package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// API keys look like alk_0123456789ab_<43 base64url characters>: a
// recognisable type, a 12-hex-digit prefix that finds the key and may be
// shown and logged, and 256 random bits of secret. Only the SHA-256 of the
// whole key is stored; the key is random, so no slow hash is needed, and a
// lookup costs one indexed read.
const (
	apiKeyType      = "alk_"
	apiKeyPrefixLen = len(apiKeyType) + 12
)

// newAPIKey returns a fresh key, its prefix and the hash to store.
func newAPIKey() (key, prefix string, hash []byte) {
	p := make([]byte, 6)
	secret := make([]byte, 32)
	rand.Read(p)
	rand.Read(secret)
	prefix = apiKeyType + hex.EncodeToString(p)
	key = prefix + "_" + base64.RawURLEncoding.EncodeToString(secret)
	sum := sha256.Sum256([]byte(key))
	return key, prefix, sum[:]
}

// bearerToken returns the token of an "Authorization: Bearer …" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

// authenticateKey checks an API key against its stored hash. A revoked key
// fails at once in every process: the key is read from the database on every
// request.
func (s *Server) authenticateKey(ctx context.Context, key string) (*principal, error) {
	if len(key) <= apiKeyPrefixLen || key[apiKeyPrefixLen] != '_' || !strings.HasPrefix(key, apiKeyType) {
		return nil, errBadKey
	}
	k, err := s.store.APIKeyByPrefix(ctx, key[:apiKeyPrefixLen])
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return nil, errBadKey
	case err != nil:
		return nil, err
	}
	sum := sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(sum[:], k.SecretHash) != 1 || k.Revoked() {
		return nil, errBadKey
	}
	now := s.now().UTC()
	if now.Sub(k.LastUsedAt) >= touchEvery {
		// Off the request's path: the write waits its turn behind the
		// ingest commits, and last_used_at is advisory.
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := s.store.TouchAPIKey(ctx, k.ID, now); err != nil {
				s.log.WarnContext(ctx, "could not record API key use", "key", k.Prefix, "err", err)
			}
		}()
	}
	return &principal{AccountID: k.AccountID, APIKey: k}, nil
}

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

// createAPIKey creates a key and shows its secret, this once.
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var req createAPIKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	p := principalFrom(ctx)
	key, prefix, hash := newAPIKey()
	k := &audit.APIKey{AccountID: p.AccountID, Name: req.Name, Prefix: prefix, SecretHash: hash, Scopes: req.Scopes}
	if p.User != nil {
		k.CreatedBy = p.User.ID
	}
	if err := k.Validate(); err != nil {
		return err
	}
	err := s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, s.keyEvent(r, p, k, audit.ActionAPIKeyCreated,
			fmt.Sprintf("Created API key %q (%s) with scopes %s", k.Name, k.Prefix, strings.Join(k.Scopes, " "))))
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"message": "API key created. Store the key now: it is shown only this once.",
		"key":     key,
		"api_key": apiKeyJSON(k),
	})
}

func (s *Server) keyEvent(r *http.Request, p *principal, k *audit.APIKey, action, details string) *audit.Event {
	e := &audit.Event{
		AccountID: k.AccountID, Action: action, ResourceType: audit.ResourceAPIKey, ResourceID: strconv.FormatInt(k.ID, 10),
		Details: details, IPAddress: s.clientIP(r), UserAgent: r.UserAgent(),
	}
	p.setActor(e)
	return e
}

// listAPIKeys lists the account's keys, revoked ones too.
func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.store.APIKeys(r.Context(), principalFrom(r.Context()).AccountID)
	if err != nil {
		return err
	}
	out := make([]APIKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = apiKeyJSON(k)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"api_keys": out})
}

// revokeAPIKey revokes a key; it stops working at once. Revoking a revoked
// key changes nothing and is not recorded again.
func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := principalFrom(ctx)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errKeyNotFound
	}
	var k *audit.APIKey
	err = s.store.Update(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if k, err = tx.RevokeAPIKey(ctx, p.AccountID, id); err != nil {
			return err
		}
		if !k.RevokedAt.Equal(tx.Now()) {
			return nil // already revoked before
		}
		return s.appendEvents(ctx, tx, s.keyEvent(r, p, k, audit.ActionAPIKeyRevoked, fmt.Sprintf("Revoked API key %q (%s)", k.Name, k.Prefix)))
	})
	if err != nil {
		return notFoundAs(err, errKeyNotFound)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": "API key revoked", "api_key": apiKeyJSON(k)})
}

var errKeyNotFound = audit.Errorf(audit.ENOTFOUND, "API key not found.")
