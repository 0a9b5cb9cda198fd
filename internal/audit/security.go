package audit

import "time"

// Actions the service records about account security.
const (
	ActionUserRoleChanged      = "user_role_changed"
	ActionUserDeactivated      = "user_deactivated"
	ActionUserReactivated      = "user_reactivated"
	ActionPasswordChanged      = "password_changed"
	ActionMFAEnrollmentStarted = "mfa_enrollment_started"
	ActionMFAEnabled           = "mfa_enabled"
	ActionMFADisabled          = "mfa_disabled"
	ActionRecoveryCodeUsed     = "mfa_recovery_code_used"
	ActionAccountMFAPolicy     = "account_mfa_policy_changed"
)

// MFA is a user's TOTP enrolment. Secret is the TOTP secret sealed by the
// server; the store keeps it as it is given.
type MFA struct {
	AccountID int64
	UserID    int64
	Secret    string
	Enabled   bool      // confirmed with a first code
	LastStep  int64     // time step of the last code accepted
	CreatedAt time.Time // when enrolment started
	EnabledAt time.Time // zero until confirmed
}

// MFAChallenge is a login that passed the password step and waits for the
// second factor. Only a hash of its token is stored.
type MFAChallenge struct {
	TokenHash string
	AccountID int64
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	Attempts  int // wrong codes sent so far
}

// MFARequired reports whether an account that requires MFA requires it of
// a user with role r: owners and admins.
func (r Role) MFARequired() bool { return r == RoleOwner || r == RoleAdmin }
