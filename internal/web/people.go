package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// peopleView is the body of the people page.
type peopleView struct {
	Users []personRow
	// Assignable are the roles the signed-in user may give (the create
	// form's choices); empty when they may not create users.
	Assignable []audit.Role
	New        newUserForm
	Done       string // what the last change did
}

// personRow is a user, with what the signed-in user may do to them.
type personRow struct {
	*audit.User
	Manage     bool // the signed-in user may change this user's role and activation
	Assignable []audit.Role
	Field      string // the row's input at fault
	Error      string
}

// newUserForm is the create form as sent, with the error of its field.
type newUserForm struct {
	FirstName, LastName, Email string
	Role                       audit.Role
	Field, Error               string
}

// doneMessages are the confirmations a change redirects to, by name.
var doneMessages = map[string]string{
	"created":        "The user was created. They can sign in now.",
	"role":           "The role was changed.",
	"deactivated":    "The user was deactivated: their sessions ended and their API keys were revoked.",
	"activated":      "The user was reactivated.",
	"revoked":        "The API key was revoked. It stops working at once.",
	"security":       "The MFA policy was saved.",
	"mfa-disabled":   "Two-factor authentication is off. You sign in with your password alone.",
	"password":       "Your password was changed. Your other sessions were signed out; this one goes on.",
	"stream-paused":  "The stream was paused. It keeps its place and catches up when resumed.",
	"stream-resumed": "The stream was resumed. It delivers from where it stopped.",
	"stream-deleted": "The stream was deleted. Its delivery stopped.",
	"stream-updated": "The stream was saved. A new URL or secret is used from the next delivery on.",
	"rule-created":   "The alert rule was created. It watches the events recorded from now on.",
	"rule-saved":     "The alert rule was saved.",
	"rule-enabled":   "The alert rule is on. It watches the events recorded from now on.",
	"rule-disabled":  "The alert rule is off.",
	"rule-deleted":   "The alert rule was deleted.",
	"retention":      "The retention period was saved. Events older than it are removed at the next prune.",
	"chat-deleted":   "The conversation was deleted. The record of its questions (chat.query events) stays in the log.",
}

// people lists the account's users (app.Users).
func (c *Console) people(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	v := peopleView{Done: doneMessages[r.URL.Query().Get("done")]}
	return c.renderPeople(w, r, p, http.StatusOK, v, 0, "", "")
}

// renderPeople renders the people page with v's forms, and errField/errMsg
// next to the row of user rowID when it is not 0.
func (c *Console) renderPeople(w http.ResponseWriter, r *http.Request, p *app.Principal, status int, v peopleView, rowID int64, errField, errMsg string) error {
	users, err := c.app.Users(r.Context(), p)
	if err != nil {
		return err
	}
	me := p.User.Role
	manage := p.Authorize(audit.PermManageUsers) == nil
	var assignable []audit.Role
	for _, role := range audit.Roles {
		if me.CanAssign(role) {
			assignable = append(assignable, role)
		}
	}
	if p.Authorize(audit.PermCreateUsers) == nil {
		v.Assignable = assignable
	}
	if v.New.Role == "" {
		v.New.Role = audit.RoleAnalyst // the least a new person needs
	}
	for _, u := range users {
		row := personRow{User: u, Manage: manage && me.CanAssign(u.Role), Assignable: assignable}
		if u.ID == rowID {
			row.Field, row.Error = errField, errMsg
		}
		v.Users = append(v.Users, row)
	}
	c.render(w, r, status, "people", view{Title: "People", Principal: p, Active: "/people", Body: v})
	return nil
}

// createUser adds a user (app.CreateUser); errors show next to their field.
func (c *Console) createUser(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	form := newUserForm{
		FirstName: r.PostFormValue("first_name"), LastName: r.PostFormValue("last_name"),
		Email: r.PostFormValue("email"), Role: audit.Role(r.PostFormValue("role")),
	}
	_, err := c.app.CreateUser(r.Context(), p, c.client(r), app.NewUser{
		Email: form.Email, Password: r.PostFormValue("password"), FirstName: form.FirstName, LastName: form.LastName, Role: form.Role,
	})
	if err == nil {
		http.Redirect(w, r, "/people?done=created", http.StatusSeeOther)
		return nil
	}
	field, msg, ok := formError(err)
	if errors.Is(err, audit.ErrEmailTaken) {
		field, msg, ok = "email", "A user with this email already exists.", true
	}
	if !ok {
		return err
	}
	form.Field, form.Error = field, msg
	return c.renderPeople(w, r, p, statusOf(err), peopleView{New: form}, 0, "", "")
}

// updateUser changes a user's role, or deactivates or reactivates them
// (app.UpdateUser); an error shows on the user's row.
func (c *Console) updateUser(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return app.ErrUserNotFound
	}
	var in app.UserChange
	done := ""
	switch r.PostFormValue("change") {
	case "role":
		role := audit.Role(r.PostFormValue("role"))
		in.Role, done = &role, "role"
	case "deactivate":
		f := false
		in.IsActive, done = &f, "deactivated"
	case "activate":
		t := true
		in.IsActive, done = &t, "activated"
	}
	_, err = c.app.UpdateUser(r.Context(), p, c.client(r), id, in)
	if err == nil {
		http.Redirect(w, r, "/people?done="+done, http.StatusSeeOther)
		return nil
	}
	code := audit.ErrorCode(err)
	if code != audit.EINVALID && code != audit.EFORBIDDEN && code != audit.ECONFLICT {
		return err
	}
	field := audit.ErrorField(err)
	if field == "" {
		field = "role"
		if in.IsActive != nil {
			field = "is_active"
		}
	}
	return c.renderPeople(w, r, p, statusOf(err), peopleView{}, id, field, audit.ErrorMessage(err))
}

// formError reports whether err belongs next to a form field: an invalid
// or refused input, or a conflict, that names its field.
func formError(err error) (field, msg string, ok bool) {
	switch audit.ErrorCode(err) {
	case audit.EINVALID, audit.ECONFLICT, audit.EFORBIDDEN:
		if f := audit.ErrorField(err); f != "" {
			return f, audit.ErrorMessage(err), true
		}
		if audit.ErrorCode(err) == audit.EINVALID {
			return "", audit.ErrorMessage(err), true
		}
	}
	return "", "", false
}
