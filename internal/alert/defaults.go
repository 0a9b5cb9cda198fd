package alert

import (
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// Default is a rule the service offers every account, which an owner or
// admin switches on by creating a rule from it (POST /api/alert-rules with
// "default": Key). Nothing is created until then.
type Default struct {
	// Key names the default; a rule created from it keeps it.
	Key string
	// Description says what the rule watches for and why.
	Description string
	// Rule holds the rule's fields.
	Rule audit.AlertRule
}

// Defaults are the default rules, for an ecommerce account. Their actions
// are those the service records about itself (user_role_changed,
// login_failed, mfa_disabled, api_key_created) and those platform services
// send in the sample data and the generator's catalogue (order_refunded,
// order.refunded, payout.destination_changed).
var Defaults = []Default{
	{
		Key:         "role_escalation",
		Description: "A user was given the owner or admin role: the account's most powerful roles, and the first thing an intruder grants itself.",
		Rule: audit.AlertRule{Name: "Role raised to owner or admin", Action: audit.ActionUserRoleChanged,
			Query: "metadata.role:owner,admin"},
	},
	{
		Key:         "payout_destination_changed",
		Description: "The bank account that payouts go to was changed: the usual aim of an account takeover in ecommerce.",
		Rule: audit.AlertRule{Name: "Payout bank details changed",
			Action: "payout.destination_changed,payout_destination_changed"},
	},
	{
		Key:         "refund_spike",
		Description: "More than 10 refunds within an hour: fraud, a compromised staff account or a broken integration.",
		Rule: audit.AlertRule{Name: "Refund spike", Action: "order.refunded,order_refunded",
			Threshold: 10, Window: time.Hour},
	},
	{
		Key:         "api_key_created",
		Description: "A new API key was created: a key can write to and read the audit log without a person signing in.",
		Rule:        audit.AlertRule{Name: "New API key", Action: audit.ActionAPIKeyCreated},
	},
	{
		Key:         "failed_logins",
		Description: "More than 5 failed sign-ins for one user within 10 minutes: someone guessing a password.",
		Rule: audit.AlertRule{Name: "Many failed sign-ins", Action: audit.ActionLoginFailed,
			Threshold: 5, Window: 10 * time.Minute, GroupBy: audit.GroupActor},
	},
	{
		Key:         "mfa_disabled",
		Description: "A user turned off two-factor sign-in.",
		Rule:        audit.AlertRule{Name: "MFA disabled", Action: audit.ActionMFADisabled},
	},
}

// DefaultByKey returns the default rule with the key.
func DefaultByKey(key string) (Default, bool) {
	for _, d := range Defaults {
		if d.Key == key {
			return d, true
		}
	}
	return Default{}, false
}
