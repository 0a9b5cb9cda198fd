package audit

import (
	"slices"
	"time"
)

// Platform key scopes: what a platform service may do across the accounts
// of the service (docs/platform.md).
const (
	PlatformScopeAccountsWrite = "accounts:write" // create accounts
	PlatformScopeAccountsRead  = "accounts:read"  // look accounts up, by ID or external ID
	PlatformScopeEventsWrite   = "events:write"   // record events in any account
	PlatformScopeEventsRead    = "events:read"    // read, prove and export one named account's events
	PlatformScopeViewerCreate  = "viewer:create"  // mint viewer tokens for the embeddable viewer
	PlatformScopeSchemasWrite  = "schemas:write"  // register, read and delete event schemas, of one account or of all
)

// PlatformScopes lists every scope a platform key may hold.
var PlatformScopes = []string{PlatformScopeAccountsRead, PlatformScopeAccountsWrite, PlatformScopeEventsRead,
	PlatformScopeEventsWrite, PlatformScopeSchemasWrite, PlatformScopeViewerCreate}

// ActorPlatformKey is the actor type of what a platform key does in an
// account: its ActorID is the key's prefix, its ActorName the key's name.
const ActorPlatformKey = "platform_key"

// PlatformKey lets the platform that hosts the accounts act on any of
// them, within its scopes. An operator creates it; no account owns it.
// Only a hash of its secret is stored; Prefix, the key's first part, finds
// it and shows it to people.
type PlatformKey struct {
	ID         int64
	Name       string
	Prefix     string
	SecretHash []byte
	Scopes     []string
	CreatedBy  string // the operator's command that created it
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
	RevokedAt  time.Time // zero while the key works
}

// Revoked reports whether the key has been revoked.
func (k *PlatformKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// Has reports whether the key holds scope.
func (k *PlatformKey) Has(scope string) bool { return slices.Contains(k.Scopes, scope) }

// Validate checks a new platform key's name and scopes, normalizing the
// scopes to a sorted set.
func (k *PlatformKey) Validate() error { return validateKey(&k.Name, &k.Scopes, PlatformScopes) }

// PlatformScopeFor returns the platform key scope that grants permission p
// on an account the request names, or "" when no platform key may have it
// (managing users, keys and settings needs a person of the account).
func PlatformScopeFor(p Permission) string {
	switch p {
	case PermViewAuditLogs:
		return PlatformScopeEventsRead
	case PermWriteEvents:
		return PlatformScopeEventsWrite
	case PermViewAccount:
		return PlatformScopeAccountsRead
	}
	return ""
}

// MaxExternalIDLen bounds an account's external ID.
const MaxExternalIDLen = 255

// ErrExternalIDTaken means another account has the external ID.
var ErrExternalIDTaken = &Error{Code: ECONFLICT, Field: "external_id", Message: "An account with this external_id already exists."}
