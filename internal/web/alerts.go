package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/alert"
	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// alertsView is the body of the alert rules page.
type alertsView struct {
	Rules []*audit.AlertRule
	// Defaults are the default rules not created yet.
	Defaults []alert.Default
	Form     ruleForm
	Done     string
	// DefaultError is an error of creating a default rule.
	DefaultError string
	// RowID, RowError: an error of a rule's row.
	RowID    int64
	RowError string
}

// ruleForm is the create or edit form of a rule, as sent, with the error
// of its field. ID is 0 for a new rule.
type ruleForm struct {
	ID                                                     int64
	Name, Action, Query, Threshold, WindowSeconds, GroupBy string
	Field, Error                                           string
}

// groupChoices are the group-by values the form offers.
var groupChoices = []struct{ Value, Label string }{
	{audit.GroupNone, "Everything together"}, {audit.GroupActor, "Each actor"},
	{audit.GroupIP, "Each IP address"}, {audit.GroupResource, "Each resource"},
}

// formOf is the form of an existing rule.
func formOf(r *audit.AlertRule) ruleForm {
	return ruleForm{ID: r.ID, Name: r.Name, Action: r.Action, Query: r.Query, Threshold: strconv.Itoa(r.Threshold),
		WindowSeconds: strconv.Itoa(int(r.Window.Seconds())), GroupBy: r.GroupBy}
}

// alerts lists the account's alert rules and the defaults not yet created
// (app.AlertRules, app.AlertRuleDefaults).
func (c *Console) alerts(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	return c.renderAlerts(w, r, p, http.StatusOK, alertsView{Done: doneMessages[r.URL.Query().Get("done")], Form: ruleForm{Threshold: "0", WindowSeconds: "0"}})
}

func (c *Console) renderAlerts(w http.ResponseWriter, r *http.Request, p *app.Principal, status int, v alertsView) error {
	ctx := r.Context()
	rules, err := c.app.AlertRules(ctx, p)
	if err != nil {
		return err
	}
	defaults, err := c.app.AlertRuleDefaults(ctx, p)
	if err != nil {
		return err
	}
	made := map[string]bool{}
	for _, rule := range rules {
		made[rule.DefaultKey] = true
	}
	for _, d := range defaults {
		if !made[d.Key] {
			v.Defaults = append(v.Defaults, d)
		}
	}
	v.Rules = rules
	c.render(w, r, status, "alerts", view{Title: "Alert rules", Principal: p, Active: "/account", Body: v})
	return nil
}

// readRuleForm reads the rule form; numbers that are not numbers are the
// form's errors, every other rule is the app's.
func readRuleForm(r *http.Request) (ruleForm, *int, *int, error) {
	f := ruleForm{Name: r.PostFormValue("name"), Action: strings.TrimSpace(r.PostFormValue("action")), Query: r.PostFormValue("q"),
		Threshold: strings.TrimSpace(r.PostFormValue("threshold")), WindowSeconds: strings.TrimSpace(r.PostFormValue("window_seconds")),
		GroupBy: r.PostFormValue("group_by")}
	number := func(field, s string) (*int, error) {
		if s == "" {
			s = "0"
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, audit.FieldError(field, "Give a whole number.")
		}
		return &n, nil
	}
	threshold, err := number("threshold", f.Threshold)
	if err != nil {
		return f, nil, nil, err
	}
	window, err := number("window_seconds", f.WindowSeconds)
	return f, threshold, window, err
}

// createAlertRule creates a rule from a default (its key in "default") or
// from the form's fields (app.CreateAlertRule).
func (c *Console) createAlertRule(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	if key := r.PostFormValue("default"); key != "" {
		if _, err := c.app.CreateAlertRule(r.Context(), p, c.client(r), app.NewAlertRule{Default: key}); err != nil {
			if _, msg, ok := formError(err); ok {
				return c.renderAlerts(w, r, p, statusOf(err), alertsView{DefaultError: msg})
			}
			return err
		}
		http.Redirect(w, r, "/account/alerts?done=rule-created", http.StatusSeeOther)
		return nil
	}
	f, threshold, window, err := readRuleForm(r)
	if err == nil {
		_, err = c.app.CreateAlertRule(r.Context(), p, c.client(r), app.NewAlertRule{Name: f.Name, Action: f.Action, Query: f.Query,
			Threshold: *threshold, WindowSeconds: *window, GroupBy: f.GroupBy})
	}
	if err != nil {
		field, msg, ok := formError(err)
		if !ok {
			return err
		}
		f.Field, f.Error = field, msg
		return c.renderAlerts(w, r, p, statusOf(err), alertsView{Form: f})
	}
	http.Redirect(w, r, "/account/alerts?done=rule-created", http.StatusSeeOther)
	return nil
}

// alertRulePage shows one rule's edit form (app.AlertRule).
func (c *Console) alertRulePage(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return app.ErrAlertRuleNotFound
	}
	rule, err := c.app.AlertRule(r.Context(), p, id)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "alert", view{Title: "Alert rule", Principal: p, Active: "/account", Body: formOf(rule)})
	return nil
}

// alertRuleAction edits, enables, disables or deletes a rule
// (app.UpdateAlertRule, app.DeleteAlertRule).
func (c *Console) alertRuleAction(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return app.ErrAlertRuleNotFound
	}
	ctx, client := r.Context(), c.client(r)
	var done string
	switch r.PathValue("action") {
	case "enable", "disable":
		on := r.PathValue("action") == "enable"
		done = "rule-" + r.PathValue("action") + "d"
		_, err = c.app.UpdateAlertRule(ctx, p, client, id, app.AlertRulePatch{Enabled: &on})
	case "delete":
		done = "rule-deleted"
		err = c.app.DeleteAlertRule(ctx, p, client, id)
	case "edit":
		f, threshold, window, ferr := readRuleForm(r)
		f.ID = id
		err = ferr
		if err == nil {
			_, err = c.app.UpdateAlertRule(ctx, p, client, id, app.AlertRulePatch{Name: &f.Name, Action: &f.Action, Query: &f.Query,
				Threshold: threshold, WindowSeconds: window, GroupBy: &f.GroupBy})
		}
		if field, msg, ok := formError(err); ok {
			f.Field, f.Error = field, msg
			c.render(w, r, statusOf(err), "alert", view{Title: "Alert rule", Principal: p, Active: "/account", Body: f})
			return nil
		}
		done = "rule-saved"
	default:
		return errPageNotFound
	}
	if err != nil {
		if _, msg, ok := formError(err); ok {
			return c.renderAlerts(w, r, p, statusOf(err), alertsView{RowID: id, RowError: msg})
		}
		return err
	}
	http.Redirect(w, r, "/account/alerts?done="+done, http.StatusSeeOther)
	return nil
}
