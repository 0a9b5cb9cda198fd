package audit

import (
	"strings"
	"time"
)

// Account is a tenant: one merchant and everything recorded about it.
type Account struct {
	ID     int64
	Name   string
	Domain string // unique across the service, normalized to lower case
	// ExternalID is the platform's own ID of the merchant (a platform key
	// sets it when it creates the account); unique across the service, ""
	// for accounts made otherwise.
	ExternalID string
	CreatedAt  time.Time
	// Retention is how long the account keeps its events; nil where the
	// caller may not see it (only owners and admins may).
	Retention *Retention
}

// Retention is how long an account keeps its events.
type Retention struct {
	// Days is the account's own setting: nil when it follows the
	// operator's default, 0 to keep events forever.
	Days *int
	// EffectiveDays is the period that applies: the setting, or the
	// operator's default, within the operator's bounds; 0 is forever.
	EffectiveDays int
	// DefaultDays is the period the operator's default gives, within the
	// operator's bounds; 0 is forever.
	DefaultDays int
}

// Normalize trims the name, and trims and lower-cases the domain, which is
// compared for uniqueness.
func (a *Account) Normalize() {
	a.Name = strings.TrimSpace(a.Name)
	a.Domain = NormalizeDomain(a.Domain)
}

// Validate checks a new account's fields, naming the first field at fault.
// The field names are those of the account-creation request.
func (a *Account) Validate() error {
	if err := ValidateText("name", a.Name, MaxAccountNameLen, true); err != nil {
		return err
	}
	return ValidateDomain("domain", a.Domain)
}
