package audit

import (
	"slices"
	"strings"
	"time"
)

// API key scopes.
const (
	ScopeEventsWrite = "events:write" // record events (POST /api/audit-logs, /batch)
	ScopeEventsRead  = "events:read"  // read, prove and export the account's events
)

// Scopes lists every scope a key may hold.
var Scopes = []string{ScopeEventsWrite, ScopeEventsRead}

// APIKey lets a platform service act on one account without a user. Only a
// hash of its secret is stored; Prefix, the key's first part, finds it and
// shows it to people.
type APIKey struct {
	ID         int64
	AccountID  int64
	Name       string
	Prefix     string
	SecretHash []byte
	Scopes     []string
	CreatedBy  int64 // the user who created it
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
	RevokedAt  time.Time // zero while the key works
}

// Revoked reports whether the key has been revoked.
func (k *APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// Has reports whether the key holds scope.
func (k *APIKey) Has(scope string) bool { return slices.Contains(k.Scopes, scope) }

// MaxAPIKeyNameLen bounds an API key's name.
const MaxAPIKeyNameLen = 100

// Validate checks a new key's name and scopes, normalizing the scopes to a
// sorted set.
func (k *APIKey) Validate() error { return validateKey(&k.Name, &k.Scopes, Scopes) }

// validateKey checks a new key's name (trimmed) and its scopes against
// allowed, and normalizes the scopes to a sorted set: the rule of account
// and platform keys alike.
func validateKey(name *string, scopes *[]string, allowed []string) error {
	*name = strings.TrimSpace(*name)
	if err := ValidateText("name", *name, MaxAPIKeyNameLen, true); err != nil {
		return err
	}
	if len(*scopes) == 0 {
		return FieldError("scopes", "scopes is required: a list of %s.", strings.Join(allowed, ", "))
	}
	for _, s := range *scopes {
		if !slices.Contains(allowed, s) {
			return FieldError("scopes", "unknown scope %q: use %s.", s, strings.Join(allowed, ", "))
		}
	}
	slices.Sort(*scopes)
	*scopes = slices.Compact(*scopes)
	return nil
}

// ScopeFor returns the API key scope that grants permission p, or "" when no
// key may have it (managing users and keys needs a person).
func ScopeFor(p Permission) string {
	switch p {
	case PermViewAuditLogs:
		return ScopeEventsRead
	case PermWriteEvents:
		return ScopeEventsWrite
	}
	return ""
}
