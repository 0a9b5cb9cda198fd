package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// dataView is the body of the retention and erasure page.
type dataView struct {
	Account   *audit.Account
	Retention retentionForm
	Erase     eraseForm
	// Confirm is set when the erasure form waits for its confirmation.
	Confirm  bool
	Erased   *audit.Erasure // the erasure just done
	Erasures []*audit.Erasure
	Done     string
}

// retentionForm is the retention form as sent, with its error.
type retentionForm struct {
	Days, Error string
}

// eraseForm is the erasure form as sent: whose data (Kind: user_id,
// actor_id or email) and the subject, with the error of its field.
type eraseForm struct {
	Kind, Subject string
	Anonymize     bool
	Field, Error  string
}

// dataPage shows the account's retention period and its erasures
// (app.Account, app.Erasures).
func (c *Console) dataPage(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	return c.renderData(w, r, p, http.StatusOK, dataView{Done: doneMessages[r.URL.Query().Get("done")], Erase: eraseForm{Kind: "user_id"}})
}

func (c *Console) renderData(w http.ResponseWriter, r *http.Request, p *app.Principal, status int, v dataView) error {
	ctx := r.Context()
	acct, err := c.app.Account(ctx, p, p.AccountID)
	if err != nil {
		return err
	}
	if v.Erasures, err = c.app.Erasures(ctx, p); err != nil {
		return err
	}
	v.Account = acct
	if v.Retention.Days == "" && v.Retention.Error == "" && acct.Retention != nil && acct.Retention.EffectiveDays > 0 {
		v.Retention.Days = strconv.Itoa(acct.Retention.EffectiveDays)
	}
	c.render(w, r, status, "data", view{Title: "Retention and erasure", Principal: p, Active: "/account", Body: v})
	return nil
}

// setRetention sets how long the account keeps its events
// (app.SetRetention); empty keeps them forever, and the use_default
// button returns the account to the service's default.
func (c *Console) setRetention(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	f := retentionForm{Days: strings.TrimSpace(r.PostFormValue("retention_days"))}
	change := app.RetentionChange{Default: r.PostFormValue("use_default") == "true"}
	var err error
	if !change.Default {
		days := 0
		if f.Days != "" {
			if days, err = strconv.Atoi(f.Days); err != nil {
				err = audit.FieldError("retention_days", "Give a number of days, or leave it empty to keep events forever.")
			}
		}
		change.Days = &days
	}
	if err == nil {
		_, err = c.app.SetRetention(r.Context(), p, c.client(r), p.AccountID, change)
	}
	if err != nil {
		if _, msg, ok := formError(err); ok {
			f.Error = msg
			return c.renderData(w, r, p, statusOf(err), dataView{Retention: f, Erase: eraseForm{Kind: "user_id"}})
		}
		return err
	}
	http.Redirect(w, r, "/account/data?done=retention", http.StatusSeeOther)
	return nil
}

// erase erases one person's personal data (app.Erase), after a
// confirmation step: the first post checks the request (app.CheckErasure:
// a bad email, a user of no such ID, … are refused beside the field
// then), shows what will happen and asks again; the second, with
// confirm=yes, erases.
func (c *Console) erase(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	f := eraseForm{Kind: r.PostFormValue("kind"), Subject: strings.TrimSpace(r.PostFormValue("subject")), Anonymize: r.PostFormValue("anonymize_user") == "true"}
	var in app.ErasureRequest
	var err error
	switch f.Kind {
	case "user_id":
		if f.Subject != "" {
			if in.UserID, err = strconv.ParseInt(f.Subject, 10, 64); err != nil || in.UserID < 1 {
				err = audit.FieldError("user_id", "Give the user's ID, as the people page and the events show it.")
			}
		}
	case "actor_id":
		in.ActorID = f.Subject
	case "email":
		in.Email = f.Subject
	default:
		err = audit.FieldError("kind", "Choose whose data to erase: a user, an actor or an email.")
	}
	if err == nil && f.Subject == "" {
		err = audit.FieldError(f.Kind, "Say whose personal data to erase.")
	}
	in.AnonymizeUser = f.Anonymize
	confirmed := r.PostFormValue("confirm") == "yes"
	if err == nil && !confirmed {
		if err = c.app.CheckErasure(r.Context(), p, in); err == nil {
			return c.renderData(w, r, p, http.StatusOK, dataView{Erase: f, Confirm: true})
		}
	}
	var done *audit.Erasure
	if err == nil {
		done, err = c.app.Erase(r.Context(), p, c.client(r), in)
	}
	if err != nil {
		field, msg, ok := formError(err)
		switch code := audit.ErrorCode(err); {
		case ok:
		case code == audit.ENOTFOUND && f.Kind == "user_id":
			field, msg = "user_id", "No user of this account has this ID: the people page lists them."
		case code == audit.ECONFLICT:
			msg = audit.ErrorMessage(err)
		default:
			return err
		}
		switch field {
		case "user_id", "actor_id", "email":
			field = "subject"
		}
		f.Field, f.Error = field, msg
		return c.renderData(w, r, p, statusOf(err), dataView{Erase: f})
	}
	return c.renderData(w, r, p, http.StatusCreated, dataView{Erased: done, Erase: eraseForm{Kind: "user_id"}})
}
