package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// Alert rules: /api/alert-rules (app.CreateAlertRule and the others;
// docs/alerts.md).

// AlertRuleJSON is an alert rule as the API shows it.
type AlertRuleJSON struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Action        string `json:"action"`
	Query         string `json:"q"`
	Threshold     int    `json:"threshold"`
	WindowSeconds int64  `json:"window_seconds"`
	GroupBy       string `json:"group_by"`
	Enabled       bool   `json:"enabled"`
	// Default is the key of the default rule it was created from, or null.
	Default         *string `json:"default"`
	CreatedBy       *int64  `json:"created_by"`
	CreatedAt       string  `json:"created_at,omitempty"`
	UpdatedAt       string  `json:"updated_at,omitempty"`
	LastTriggeredAt *string `json:"last_triggered_at"`
}

func alertRuleJSON(r *audit.AlertRule) AlertRuleJSON {
	j := AlertRuleJSON{ID: r.ID, Name: r.Name, Action: r.Action, Query: r.Query, Threshold: r.Threshold,
		WindowSeconds: int64(r.Window / time.Second), GroupBy: r.GroupBy, Enabled: r.Enabled}
	if r.DefaultKey != "" {
		j.Default = &r.DefaultKey
	}
	if r.CreatedBy != 0 {
		j.CreatedBy = &r.CreatedBy
	}
	if !r.CreatedAt.IsZero() {
		j.CreatedAt, j.UpdatedAt = formatTime(r.CreatedAt), formatTime(r.UpdatedAt)
	}
	if !r.LastTriggeredAt.IsZero() {
		t := formatTime(r.LastTriggeredAt)
		j.LastTriggeredAt = &t
	}
	return j
}

// DefaultAlertRuleJSON is a default rule, which POST /api/alert-rules
// creates from its key.
type DefaultAlertRuleJSON struct {
	Key         string        `json:"key"`
	Description string        `json:"description"`
	Rule        AlertRuleJSON `json:"rule"`
}

type alertRuleRequest struct {
	Default       string  `json:"default"`
	Name          *string `json:"name"`
	Action        *string `json:"action"`
	Query         *string `json:"q"`
	Threshold     *int    `json:"threshold"`
	WindowSeconds *int    `json:"window_seconds"`
	GroupBy       *string `json:"group_by"`
	Enabled       *bool   `json:"enabled"`
}

func (q alertRuleRequest) patch() app.AlertRulePatch {
	return app.AlertRulePatch{Name: q.Name, Action: q.Action, Query: q.Query, Threshold: q.Threshold,
		WindowSeconds: q.WindowSeconds, GroupBy: q.GroupBy, Enabled: q.Enabled}
}

// listAlertRuleDefaults lists the default rules.
func (s *Server) listAlertRuleDefaults(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.app.AlertRuleDefaults(r.Context(), principalFrom(r.Context()))
	if err != nil {
		return err
	}
	out := make([]DefaultAlertRuleJSON, len(ds))
	for i, d := range ds {
		rule := d.Rule
		rule.DefaultKey, rule.Enabled = d.Key, true
		out[i] = DefaultAlertRuleJSON{Key: d.Key, Description: d.Description, Rule: alertRuleJSON(&rule)}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"defaults": out})
}

// createAlertRule creates a rule from its fields or from a default.
func (s *Server) createAlertRule(w http.ResponseWriter, r *http.Request) error {
	var req alertRuleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	in := app.NewAlertRule{Default: req.Default, Enabled: req.Enabled}
	set(&in.Name, req.Name)
	set(&in.Action, req.Action)
	set(&in.Query, req.Query)
	set(&in.Threshold, req.Threshold)
	set(&in.WindowSeconds, req.WindowSeconds)
	set(&in.GroupBy, req.GroupBy)
	rule, err := s.app.CreateAlertRule(r.Context(), principalFrom(r.Context()), s.client(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"message": "Alert rule created", "alert_rule": alertRuleJSON(rule)})
}

// listAlertRules lists the account's rules.
func (s *Server) listAlertRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.app.AlertRules(r.Context(), principalFrom(r.Context()))
	if err != nil {
		return err
	}
	out := make([]AlertRuleJSON, len(rules))
	for i, rule := range rules {
		out[i] = alertRuleJSON(rule)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"alert_rules": out})
}

// getAlertRule shows one rule.
func (s *Server) getAlertRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrAlertRuleNotFound)
	if err != nil {
		return err
	}
	rule, err := s.app.AlertRule(r.Context(), principalFrom(r.Context()), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"alert_rule": alertRuleJSON(rule)})
}

// updateAlertRule changes the fields given.
func (s *Server) updateAlertRule(w http.ResponseWriter, r *http.Request) error {
	var req alertRuleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Default != "" {
		return audit.FieldError("default", "default can only be given when creating a rule.")
	}
	return s.changeAlertRule(w, r, req.patch())
}

// enableAlertRule and disableAlertRule switch a rule on and off.
func (s *Server) enableAlertRule(w http.ResponseWriter, r *http.Request) error {
	return s.changeAlertRule(w, r, app.AlertRulePatch{Enabled: new(true)})
}

func (s *Server) disableAlertRule(w http.ResponseWriter, r *http.Request) error {
	return s.changeAlertRule(w, r, app.AlertRulePatch{Enabled: new(false)})
}

func (s *Server) changeAlertRule(w http.ResponseWriter, r *http.Request, in app.AlertRulePatch) error {
	id, err := pathID(r, app.ErrAlertRuleNotFound)
	if err != nil {
		return err
	}
	rule, err := s.app.UpdateAlertRule(r.Context(), principalFrom(r.Context()), s.client(r), id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": "Alert rule updated", "alert_rule": alertRuleJSON(rule)})
}

// deleteAlertRule deletes a rule; its alerts stay in the log.
func (s *Server) deleteAlertRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrAlertRuleNotFound)
	if err != nil {
		return err
	}
	if err := s.app.DeleteAlertRule(r.Context(), principalFrom(r.Context()), s.client(r), id); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"message": "Alert rule deleted"})
}

// AlertJSON is an alert as the live tail's alert message carries it: the
// alert.triggered event's metadata (app.AlertData), and the event's ID,
// seq, time and details.
type AlertJSON struct {
	app.AlertData
	EventID   int64  `json:"event_id"`
	Seq       int64  `json:"seq"`
	CreatedAt string `json:"created_at"`
	Details   string `json:"details"`
}

// alertJSON returns the alert an alert.triggered event records.
func alertJSON(e *audit.Event) *AlertJSON {
	a := &AlertJSON{EventID: e.ID, Seq: e.Seq, CreatedAt: formatTime(e.CreatedAt), Details: e.Details}
	// The service wrote the metadata: it decodes. Were it not to, the
	// message still names the event.
	_ = json.Unmarshal(e.Metadata, &a.AlertData)
	return a
}

// set sets *dst to *v when v is not nil.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
