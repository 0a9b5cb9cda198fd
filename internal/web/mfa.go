package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/httpx"
)

// mfaView is the body of the two-factor page. Its step decides what it
// shows: the state and the start form (""), the QR code and the
// confirmation form ("confirm"), or the recovery codes ("recovery").
type mfaView struct {
	Status *app.MFAStatus
	Step   string
	// Secret, URI and QRCode are the started enrolment's, shown once.
	Secret string
	URI    string
	QRCode template.URL
	// Recovery are the recovery codes of a confirmed enrolment, shown
	// once; RecoveryText is them one a line, for the copy button.
	Recovery     []string
	RecoveryText string
	Done         string
	Field, Error string
}

// mfaPage shows the user's two-factor state with the form that changes it
// (app.UserMFAStatus): enrol when off, turn off when on and the account
// lets the role.
func (c *Console) mfaPage(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	return c.renderMFA(w, r, p, http.StatusOK, mfaView{Done: doneMessages[r.URL.Query().Get("done")]})
}

func (c *Console) renderMFA(w http.ResponseWriter, r *http.Request, p *app.Principal, status int, v mfaView) error {
	st, err := c.app.UserMFAStatus(r.Context(), p)
	if err != nil {
		return err
	}
	v.Status = st
	c.render(w, r, status, "mfa", view{Title: "Two-factor authentication", Principal: p, Active: "/account", Body: v})
	return nil
}

// startMFA starts an enrolment (app.StartMFASetup, which asks for the
// password again) and shows its secret as a QR code and as text, with the
// form for the first code. The answer is the page itself, never a
// redirect: the secret travels in no URL and is shown this once.
func (c *Console) startMFA(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	setup, err := c.app.StartMFASetup(r.Context(), p, c.client(r), r.PostFormValue("password"))
	if err != nil {
		return c.mfaFormError(w, r, p, err, "")
	}
	return c.renderMFA(w, r, p, http.StatusOK, mfaView{
		Step:   "confirm",
		Secret: setup.Secret,
		URI:    setup.URI,
		QRCode: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(setup.QRCodePNG)),
	})
}

// confirmMFA turns the pending enrolment on with its first code
// (app.ConfirmMFA) and shows the recovery codes, this once.
func (c *Console) confirmMFA(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	codes, err := c.app.ConfirmMFA(r.Context(), p, c.client(r), r.PostFormValue("code"))
	if err != nil {
		return c.mfaFormError(w, r, p, err, "confirm")
	}
	text := ""
	for _, code := range codes {
		text += code + "\n"
	}
	return c.renderMFA(w, r, p, http.StatusOK, mfaView{Step: "recovery", Recovery: codes, RecoveryText: text})
}

// disableMFA turns the user's MFA off with a current or recovery code
// (app.DisableMFA), which refuses while the account requires it.
func (c *Console) disableMFA(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	if err := c.app.DisableMFA(r.Context(), p, c.client(r), r.PostFormValue("code")); err != nil {
		return c.mfaFormError(w, r, p, err, "")
	}
	http.Redirect(w, r, "/account/mfa?done=mfa-disabled", http.StatusSeeOther)
	return nil
}

// consoleWordings are the console's words for the application errors
// whose messages tell an API client which route to call: the console has
// a page or a form for it instead.
var consoleWordings = []struct {
	err error
	msg string
}{
	{app.ErrMFANotEnrolling, "No set-up is pending: it was finished or abandoned, perhaps in another tab. Start again below."},
	{app.ErrMFAChanged, "The set-up was started again meanwhile, perhaps in another tab. Start again below, and scan the new QR code."},
	{app.ErrMFAEnrolment, "This account requires two-factor authentication of its owners and admins: set it up to continue."},
}

// consoleMessage is err's client-safe message (audit.ErrorMessage), in
// the console's words where the application's name an API route.
func consoleMessage(err error) string {
	for _, w := range consoleWordings {
		if errors.Is(err, w.err) {
			return w.msg
		}
	}
	return audit.ErrorMessage(err)
}

// mfaFormError shows an error of a two-factor form on the page, next to
// its field, at step, and a conflict (MFA on already, or required) in the
// page's banner; other errors (a rate limit) go to their page.
func (c *Console) mfaFormError(w http.ResponseWriter, r *http.Request, p *app.Principal, err error, step string) error {
	field, msg, ok := formError(err)
	if code := audit.ErrorCode(err); code == audit.ECONFLICT || code == audit.EMFAREQUIRED {
		// MFA on already, no enrolment pending, or required: the page
		// shows the state as it is now, with why.
		field, msg, ok, step = "", consoleMessage(err), true, ""
	}
	if !ok {
		return err
	}
	return c.renderMFA(w, r, p, statusOf(err), mfaView{Step: step, Field: field, Error: msg})
}

// passwordView is the body of the password page.
type passwordView struct {
	Done         string
	Field, Error string
}

// passwordPage shows the password change form.
func (c *Console) passwordPage(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	c.render(w, r, http.StatusOK, "password", view{Title: "Change password", Principal: p, Active: "/account",
		Body: passwordView{Done: doneMessages[r.URL.Query().Get("done")]}})
	return nil
}

// changePassword sets a new password (app.ChangePassword). As with the
// API, every session of the user ends, this one too, and the browser gets
// the new session the operation starts. The app's password rules answer
// next to their field.
func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	token, err := c.app.ChangePassword(r.Context(), p, c.client(r), app.PasswordChange{
		Current: r.PostFormValue("current_password"), New: r.PostFormValue("new_password"),
	})
	if err != nil {
		field, msg, ok := formError(err)
		if !ok {
			return err
		}
		c.render(w, r, statusOf(err), "password", view{Title: "Change password", Principal: p, Active: "/account",
			Body: passwordView{Field: field, Error: msg}})
		return nil
	}
	httpx.SetSessionCookie(w, c.cfg, token)
	http.Redirect(w, r, "/account/password?done=password", http.StatusSeeOther)
	return nil
}
