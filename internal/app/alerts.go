package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/alert"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// Alert rules: owners and admins define them (PermManageAlerts; no API
// key may), every change is recorded, and RaiseAlert records what a rule
// raised. Package alert validates rules and evaluates them; docs/alerts.md
// describes both.

// Errors of alert rules.
var (
	// ErrAlertRuleNotFound means no rule with the ID is in the caller's
	// account.
	ErrAlertRuleNotFound = audit.Errorf(audit.ENOTFOUND, "Alert rule not found.")
	errDefaultExists     = &audit.Error{Code: audit.ECONFLICT, Field: "default", Message: "A rule was already created from this default: change or enable that one."}
)

// alertRuleResource is the resource an alert rule's events are about.
func alertRuleResource(r *audit.AlertRule) resource {
	return resource{audit.ResourceAlertRule, strconv.FormatInt(r.ID, 10)}
}

// NewAlertRule is what creating an alert rule takes: a default's key, or
// the rule's fields.
type NewAlertRule struct {
	// Default, when set, creates the default rule with this key
	// (alert.Defaults) as it is; the other fields but Enabled must then
	// be empty.
	Default string
	Name    string
	Action  string
	Query   string
	// Threshold 0 alerts on every match.
	Threshold     int
	WindowSeconds int
	GroupBy       string
	// Enabled is true when nil.
	Enabled *bool
}

// AlertRulePatch changes an alert rule: each field not nil.
type AlertRulePatch struct {
	Name          *string
	Action        *string
	Query         *string
	Threshold     *int
	WindowSeconds *int
	GroupBy       *string
	Enabled       *bool
}

// AlertRuleDefaults lists the default rules an owner or admin may create.
func (a *App) AlertRuleDefaults(ctx context.Context, p *Principal) ([]alert.Default, error) {
	if err := p.Authorize(audit.PermManageAlerts); err != nil {
		return nil, err
	}
	return alert.Defaults, nil
}

// AlertRules lists p's account's rules.
func (a *App) AlertRules(ctx context.Context, p *Principal) ([]*audit.AlertRule, error) {
	if err := p.Authorize(audit.PermManageAlerts); err != nil {
		return nil, err
	}
	return a.store.AlertRules(ctx, p.AccountID)
}

// AlertRule returns the rule id of p's account (ErrAlertRuleNotFound for
// any other).
func (a *App) AlertRule(ctx context.Context, p *Principal, id int64) (*audit.AlertRule, error) {
	if err := p.Authorize(audit.PermManageAlerts); err != nil {
		return nil, err
	}
	r, err := a.store.AlertRule(ctx, p.AccountID, id)
	if errors.Is(err, audit.ErrNotFound) {
		return nil, ErrAlertRuleNotFound
	}
	return r, err
}

// CreateAlertRule creates a rule in p's account and records
// alert_rule.created. An enabled rule starts at the log's end: it alerts on
// the events recorded from now on.
func (a *App) CreateAlertRule(ctx context.Context, p *Principal, c Client, in NewAlertRule) (*audit.AlertRule, error) {
	if err := p.Authorize(audit.PermManageAlerts); err != nil {
		return nil, err
	}
	r := &audit.AlertRule{AccountID: p.AccountID, Name: in.Name, Action: in.Action, Query: in.Query,
		Threshold: in.Threshold, Window: time.Duration(in.WindowSeconds) * time.Second, GroupBy: in.GroupBy, Enabled: true}
	if in.Default != "" {
		d, ok := alert.DefaultByKey(in.Default)
		switch {
		case !ok:
			return nil, audit.FieldError("default", "Unknown default rule %q: GET /api/alert-rules/defaults lists them.", in.Default)
		case in.Name != "" || in.Action != "" || in.Query != "" || in.Threshold != 0 || in.WindowSeconds != 0 || in.GroupBy != "":
			return nil, audit.FieldError("default", "Give either a default or the rule's fields, not both: change the rule once created.")
		}
		*r = d.Rule
		r.AccountID, r.DefaultKey, r.Enabled = p.AccountID, d.Key, true
	}
	if in.Enabled != nil {
		r.Enabled = *in.Enabled
	}
	if err := checkWindowSeconds(in.WindowSeconds); err != nil {
		return nil, err
	}
	if _, err := alert.Validate(r); err != nil {
		return nil, err
	}
	if p.User != nil {
		r.CreatedBy = p.User.ID
	}
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if r.DefaultKey != "" {
			rules, err := a.store.AlertRules(ctx, p.AccountID)
			if err != nil {
				return err
			}
			for _, o := range rules {
				if o.DefaultKey == r.DefaultKey {
					return errDefaultExists
				}
			}
		}
		if r.Enabled {
			var err error
			if r.Position, err = tx.LogSize(ctx, p.AccountID); err != nil {
				return err
			}
		}
		if err := tx.CreateAlertRule(ctx, r); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{alertRuleResource(r), audit.ActionAlertRuleCreated,
			fmt.Sprintf("Created alert rule %q (#%d): %s", r.Name, r.ID, describeRule(r))})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// UpdateAlertRule changes the rule id of p's account (ErrAlertRuleNotFound
// for any other) and records alert_rule.updated for a change of what it
// selects or when it alerts, alert_rule.enabled or alert_rule.disabled for
// a switch. A change that changes nothing records nothing. A rule switched
// on starts at the log's end.
func (a *App) UpdateAlertRule(ctx context.Context, p *Principal, c Client, id int64, in AlertRulePatch) (*audit.AlertRule, error) {
	if err := p.Authorize(audit.PermManageAlerts); err != nil {
		return nil, err
	}
	if in.WindowSeconds != nil {
		if err := checkWindowSeconds(*in.WindowSeconds); err != nil {
			return nil, err
		}
	}
	var r *audit.AlertRule
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		old, err := tx.AlertRuleForUpdate(ctx, p.AccountID, id)
		if err != nil {
			return err
		}
		n := *old
		r = &n
		set(&r.Name, in.Name)
		set(&r.Action, in.Action)
		set(&r.Query, in.Query)
		set(&r.Threshold, in.Threshold)
		set(&r.GroupBy, in.GroupBy)
		set(&r.Enabled, in.Enabled)
		if in.WindowSeconds != nil {
			r.Window = time.Duration(*in.WindowSeconds) * time.Second
		}
		if _, err := alert.Validate(r); err != nil {
			return err
		}
		var entries []entry
		if describeRule(r) != describeRule(old) || r.Name != old.Name {
			entries = append(entries, entry{alertRuleResource(r), audit.ActionAlertRuleUpdated,
				fmt.Sprintf("Changed alert rule %q (#%d): %s; was %q: %s", r.Name, r.ID, describeRule(r), old.Name, describeRule(old))})
		}
		if r.Enabled != old.Enabled {
			action, verb := audit.ActionAlertRuleDisabled, "Disabled"
			if r.Enabled {
				action, verb = audit.ActionAlertRuleEnabled, "Enabled"
				if r.Position, err = tx.LogSize(ctx, p.AccountID); err != nil {
					return err
				}
			}
			entries = append(entries, entry{alertRuleResource(r), action, fmt.Sprintf("%s alert rule %q (#%d)", verb, r.Name, r.ID)})
		}
		if len(entries) == 0 {
			return nil
		}
		if err := tx.UpdateAlertRule(ctx, r); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entries...)
	})
	if errors.Is(err, audit.ErrNotFound) {
		return nil, ErrAlertRuleNotFound
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteAlertRule deletes the rule id of p's account (ErrAlertRuleNotFound
// for any other) and records alert_rule.deleted. The alerts it raised stay
// in the log.
func (a *App) DeleteAlertRule(ctx context.Context, p *Principal, c Client, id int64) error {
	if err := p.Authorize(audit.PermManageAlerts); err != nil {
		return err
	}
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		r, err := tx.AlertRuleForUpdate(ctx, p.AccountID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteAlertRule(ctx, p.AccountID, id); err != nil {
			return err
		}
		return a.record(ctx, tx, p, c, entry{alertRuleResource(r), audit.ActionAlertRuleDeleted,
			fmt.Sprintf("Deleted alert rule %q (#%d): %s", r.Name, r.ID, describeRule(r))})
	})
	if errors.Is(err, audit.ErrNotFound) {
		return ErrAlertRuleNotFound
	}
	return err
}

// alertsActor names the system actor of alert.triggered events.
const alertsActor = "alert rules"

// AlertData is the metadata of an alert.triggered event: what a client
// (the live tail's alert message, a SIEM) reads to act on the alert.
type AlertData struct {
	RuleID        int64  `json:"rule_id"`
	RuleName      string `json:"rule_name"`
	Action        string `json:"action"`
	Query         string `json:"q,omitempty"`
	Threshold     int    `json:"threshold,omitempty"`
	WindowSeconds int64  `json:"window_seconds,omitempty"`
	GroupBy       string `json:"group_by,omitempty"`
	GroupKey      string `json:"group_key,omitempty"`
	// WindowStart is the start of the aligned window the alert is for
	// (RFC 3339), for a rule with a window.
	WindowStart string `json:"window_start,omitempty"`
	// Count is how many selected events were recorded within the window
	// that ends at the trigger (1 for a rule without a threshold).
	Count int64 `json:"count"`
	// TriggerSeq and TriggerAction are the event that raised the alert.
	TriggerSeq    int64  `json:"trigger_seq"`
	TriggerID     int64  `json:"trigger_id"`
	TriggerAction string `json:"trigger_action"`
}

// RaiseAlert records the alert al of rule r: its row, which admits one
// alert per rule, group and window, and an alert.triggered event in the
// account's log by the system actor "alert rules", in one transaction. It
// returns sqlstore.ErrAlertRaised when the alert was raised already. It is
// the alert.Raise of the service's evaluator.
func (a *App) RaiseAlert(ctx context.Context, r *audit.AlertRule, al *audit.Alert) error {
	d := AlertData{RuleID: r.ID, RuleName: r.Name, Action: r.Action, Query: r.Query, Threshold: r.Threshold,
		WindowSeconds: int64(r.Window / time.Second), GroupBy: r.GroupBy, GroupKey: al.GroupKey, Count: al.Count,
		TriggerSeq: al.Trigger.Seq, TriggerID: al.Trigger.ID, TriggerAction: al.Trigger.Action}
	if !al.WindowStart.IsZero() {
		d.WindowStart = al.WindowStart.UTC().Format(time.RFC3339Nano)
	}
	meta, err := json.Marshal(d)
	if err != nil {
		return err
	}
	details := fmt.Sprintf("Alert rule %q (#%d): %s (event #%d)", r.Name, r.ID, al.Trigger.Action, al.Trigger.Seq)
	if r.Threshold > 0 {
		details = fmt.Sprintf("Alert rule %q (#%d): %d events within %s, more than %d", r.Name, r.ID, al.Count, r.Window, r.Threshold)
		if al.GroupKey != "" {
			details += fmt.Sprintf(", for %s %s", r.GroupBy, al.GroupKey)
		}
		details += fmt.Sprintf(" (up to event #%d)", al.Trigger.Seq)
	}
	by := OperatorPrincipal(r.AccountID, alertsActor)
	return a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.InsertAlert(ctx, al); err != nil {
			return err
		}
		return a.recordData(ctx, tx, by, Client{}, dataEntry{entry{alertRuleResource(r), audit.ActionAlertTriggered, details}, meta})
	})
}

// checkWindowSeconds refuses a window_seconds that would overflow a
// duration.
func checkWindowSeconds(n int) error {
	if n < 0 || n > int(alert.MaxWindow/time.Second) {
		return audit.FieldError("window_seconds", "window_seconds must be a whole number of seconds from %d to %d.",
			int(alert.MinWindow/time.Second), int(alert.MaxWindow/time.Second))
	}
	return nil
}

// describeRule says in words what a rule selects and when it alerts.
func describeRule(r *audit.AlertRule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "action %s", r.Action)
	if r.Query != "" {
		fmt.Fprintf(&b, ", q %q", r.Query)
	}
	switch {
	case r.Threshold > 0:
		fmt.Fprintf(&b, ", more than %d within %s", r.Threshold, r.Window)
	case r.Window > 0:
		fmt.Fprintf(&b, ", every match, at most once within %s", r.Window)
	default:
		b.WriteString(", every match")
	}
	if r.GroupBy != "" {
		fmt.Fprintf(&b, " per %s", r.GroupBy)
	}
	return b.String()
}

// set sets *dst to *v when v is not nil.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
