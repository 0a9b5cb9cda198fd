package audit

import "time"

// Actions of alert rules: the changes owners and admins make to them, and
// the event an alert raises in the account's log.
const (
	ActionAlertRuleCreated  = "alert_rule.created"
	ActionAlertRuleUpdated  = "alert_rule.updated"
	ActionAlertRuleEnabled  = "alert_rule.enabled"
	ActionAlertRuleDisabled = "alert_rule.disabled"
	ActionAlertRuleDeleted  = "alert_rule.deleted"
	// ActionAlertTriggered is the event an alert raises. Rules never
	// match it, so that no alert raises another.
	ActionAlertTriggered = "alert.triggered"
)

// ResourceAlertRule is the resource type of alert rules and their alerts.
const ResourceAlertRule = "alert_rule"

// PermManageAlerts defines, changes and deletes the account's alert rules.
// Owners and admins have it; no API key may.
const PermManageAlerts Permission = "alerts:manage"

// Group-by values of an alert rule: what a threshold counts separately.
const (
	GroupNone     = ""
	GroupActor    = "actor"
	GroupIP       = "ip"
	GroupResource = "resource"
)

// AlertRule is one of an account's alert rules: the events it selects (an
// action pattern and a search) and when they raise an alert (every match,
// or more than Threshold in Window, per group).
type AlertRule struct {
	AccountID int64
	ID        int64 // counts within the account
	Name      string
	// Action is an action or a comma-separated list of actions, each of
	// which may end in "*" (a prefix), as in the search's action:
	// qualifier; "" selects every action.
	Action string
	// Query is a search in the query language (docs/search.md) that the
	// events must also match; "" for none.
	Query string
	// Threshold, when above 0, makes the rule alert when more than
	// Threshold selected events (of one group) fall within Window; 0
	// alerts on every selected event.
	Threshold int
	// Window is the threshold's window; with Threshold 0 it may be set to
	// alert at most once per window (and group), else 0.
	Window time.Duration
	// GroupBy is GroupNone, GroupActor, GroupIP or GroupResource.
	GroupBy string
	Enabled bool
	// DefaultKey names the default rule this one was created from; "" for
	// none.
	DefaultKey string
	// Position is the log position up to which the rule was evaluated.
	Position  int64
	CreatedBy int64 // 0 when unknown
	CreatedAt time.Time
	UpdatedAt time.Time
	// LastTriggeredAt is when the rule last raised an alert; zero for
	// never. Reads fill it in.
	LastTriggeredAt time.Time
}

// Alert is one alert a rule raised: at most one per rule, group key and
// bucket.
type Alert struct {
	AccountID int64
	RuleID    int64
	// GroupKey names the group the events were counted in ("user:42",
	// "203.0.113.7", "order:1001"); "" without grouping.
	GroupKey string
	// Bucket is the window's number (WindowStart / Window) for a rule with
	// a window, else the triggering event's seq.
	Bucket int64
	// WindowStart is the start of the window the alert is for; zero for a
	// rule without a window.
	WindowStart time.Time
	// Count is how many selected events were in the window ending at the
	// triggering event (1 for a rule without a threshold).
	Count int64
	// Trigger is the event that raised the alert.
	Trigger *Event
}
