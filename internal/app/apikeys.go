package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
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
const apiKeyType = "alk_"

// Errors of API keys.
var (
	errBadKey = audit.Errorf(audit.EUNAUTHORIZED, "Invalid or revoked API key.")
	// ErrKeyNotFound means no API key with the ID is in the caller's account.
	ErrKeyNotFound = audit.Errorf(audit.ENOTFOUND, "API key not found.")
)

// newAPIKey returns a fresh key, its prefix and the hash to store.
func newAPIKey() (key, prefix string, hash []byte) { return newSecretKey(apiKeyType) }

// newSecretKey returns a fresh key of type typ (such as "alk_"), its prefix
// and the hash to store: the layout every key of the service shares.
func newSecretKey(typ string) (key, prefix string, hash []byte) {
	p := make([]byte, 6)
	secret := make([]byte, 32)
	rand.Read(p)
	rand.Read(secret)
	prefix = typ + hex.EncodeToString(p)
	key = prefix + "_" + base64.RawURLEncoding.EncodeToString(secret)
	sum := sha256.Sum256([]byte(key))
	return key, prefix, sum[:]
}

// keyPrefix returns the prefix of key when it has the layout of a key of
// type typ; ok is false for anything else, which no stored key matches.
func keyPrefix(key, typ string) (prefix string, ok bool) {
	n := len(typ) + 12
	if len(key) <= n || key[n] != '_' || !strings.HasPrefix(key, typ) {
		return "", false
	}
	if _, err := hex.DecodeString(key[len(typ):n]); err != nil {
		return "", false // no key has such a prefix; some engines refuse its bytes in a query
	}
	return key[:n], true
}

// keyMatches reports, in constant time, whether key hashes to hash.
func keyMatches(key string, hash []byte) bool {
	sum := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(sum[:], hash) == 1
}

// AuthenticateKey returns the principal of an API key, checked against its
// stored hash. A revoked key fails at once in every process: the key is
// read from the database on every request.
func (a *App) AuthenticateKey(ctx context.Context, key string) (*Principal, error) {
	return a.authenticateKey(ctx, key, true)
}

// authenticateKey is AuthenticateKey; with touch it records the key's use
// now and then (last_used_at). A live tail's rechecks do not: they are not
// uses, and a thousand tails of one key would queue a write each.
func (a *App) authenticateKey(ctx context.Context, key string, touch bool) (*Principal, error) {
	prefix, ok := keyPrefix(key, apiKeyType)
	if !ok {
		if _, ok := keyPrefix(key, platformKeyType); ok {
			return nil, errPlatformKeyHere
		}
		return nil, errBadKey
	}
	k, err := a.store.APIKeyByPrefix(ctx, prefix)
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return nil, errBadKey
	case err != nil:
		return nil, err
	}
	if !keyMatches(key, k.SecretHash) || k.Revoked() {
		return nil, errBadKey
	}
	now := a.now().UTC()
	if touch && now.Sub(k.LastUsedAt) >= touchEvery {
		// Off the request's path: the write waits its turn behind the
		// ingest commits, and last_used_at is advisory.
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := a.store.TouchAPIKey(ctx, k.ID, now); err != nil {
				a.log.WarnContext(ctx, "could not record API key use", "key", k.Prefix, "err", err)
			}
		}()
	}
	return &Principal{AccountID: k.AccountID, APIKey: k}, nil
}

// NewAPIKey is what creating an API key takes.
type NewAPIKey struct {
	Name   string
	Scopes []string
}

// CreateAPIKey creates a key in p's account and records api_key_created.
// It returns the key itself, which is stored only as a hash and must be
// shown now or never, and the stored key.
func (a *App) CreateAPIKey(ctx context.Context, p *Principal, c Client, in NewAPIKey) (string, *audit.APIKey, error) {
	if err := p.Authorize(audit.PermManageAPIKeys); err != nil {
		return "", nil, err
	}
	key, prefix, hash := newAPIKey()
	k := &audit.APIKey{AccountID: p.AccountID, Name: in.Name, Prefix: prefix, SecretHash: hash, Scopes: in.Scopes}
	if p.User != nil {
		k.CreatedBy = p.User.ID
	}
	if err := k.Validate(); err != nil {
		return "", nil, err
	}
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{keyResource(k), audit.ActionAPIKeyCreated,
			fmt.Sprintf("Created API key %q (%s) with scopes %s", k.Name, k.Prefix, strings.Join(k.Scopes, " "))})
	})
	if err != nil {
		return "", nil, err
	}
	return key, k, nil
}

// APIKeys lists p's account's keys, revoked ones too.
func (a *App) APIKeys(ctx context.Context, p *Principal) ([]*audit.APIKey, error) {
	if err := p.Authorize(audit.PermManageAPIKeys); err != nil {
		return nil, err
	}
	return a.store.APIKeys(ctx, p.AccountID)
}

// RevokeAPIKey revokes the key id of p's account (ErrKeyNotFound for any
// other); it stops working at once. Revoking a revoked key changes nothing
// and is not recorded again.
func (a *App) RevokeAPIKey(ctx context.Context, p *Principal, c Client, id int64) (*audit.APIKey, error) {
	if err := p.Authorize(audit.PermManageAPIKeys); err != nil {
		return nil, err
	}
	var k *audit.APIKey
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if k, err = tx.RevokeAPIKey(ctx, p.AccountID, id); err != nil {
			return err
		}
		if !k.RevokedAt.Equal(tx.Now()) {
			return nil // already revoked before
		}
		return a.record(ctx, tx, p, c, entry{keyResource(k), audit.ActionAPIKeyRevoked, fmt.Sprintf("Revoked API key %q (%s)", k.Name, k.Prefix)})
	})
	if errors.Is(err, audit.ErrNotFound) {
		return nil, ErrKeyNotFound
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}
