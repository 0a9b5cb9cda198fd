package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/httpx"
)

// signInView is the body of the sign-in page and of its MFA step.
type signInView struct {
	Next      string
	Email     string
	MFAToken  string // set on the second step
	SignedOut bool
	Field     string // the input at fault
	Error     string
}

// signInPage shows the sign-in form; a signed-in user goes home.
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	next := localPath(r.URL.Query().Get("next"))
	if p != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	c.render(w, r, http.StatusOK, "signin", view{Title: "Sign in", Body: signInView{Next: next, SignedOut: r.URL.Query().Has("out")}})
	return nil
}

// signIn is the password step (app.Login): a session, or the MFA step.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request, _ *app.Principal) error {
	next := localPath(r.PostFormValue("next"))
	email := r.PostFormValue("email")
	res, err := c.app.Login(r.Context(), c.client(r), app.Credentials{
		Email: email, Password: r.PostFormValue("password"), OldToken: httpx.SessionToken(r),
	})
	switch {
	case audit.ErrorCode(err) == audit.ERATELIMITED:
		// Too many attempts: say so on the form, with when to try again.
		var limited *app.RateLimitError
		if errors.As(err, &limited) {
			w.Header().Set("Retry-After", strconv.FormatInt(app.Seconds(limited.RetryAfter), 10))
		}
		c.render(w, r, http.StatusTooManyRequests, "signin", view{Title: "Sign in", Body: signInView{
			Next: next, Email: email, Error: audit.ErrorMessage(err),
		}})
		return nil
	case audit.ErrorCode(err) == audit.EINVALID || audit.ErrorCode(err) == audit.EUNAUTHORIZED:
		field := audit.ErrorField(err)
		if field == "" {
			field = "password"
		}
		c.render(w, r, statusOf(err), "signin", view{Title: "Sign in", Body: signInView{
			Next: next, Email: email, Field: field, Error: audit.ErrorMessage(err),
		}})
		return nil
	case err != nil:
		return err
	case res.MFAToken != "":
		c.render(w, r, http.StatusOK, "signin", view{Title: "Two-factor code", Body: signInView{Next: next, MFAToken: res.MFAToken}})
		return nil
	}
	httpx.SetSessionCookie(w, c.cfg, res.Token)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// signInMFA is the second step (app.VerifyMFA): the authenticator's code or
// a recovery code.
func (c *Console) signInMFA(w http.ResponseWriter, r *http.Request, _ *app.Principal) error {
	next := localPath(r.PostFormValue("next"))
	token := r.PostFormValue("mfa_token")
	res, err := c.app.VerifyMFA(r.Context(), c.client(r), app.MFAVerification{
		Token: token, Code: r.PostFormValue("code"), OldToken: httpx.SessionToken(r),
	})
	switch code := audit.ErrorCode(err); {
	case code == audit.EINVALID || (code == audit.EUNAUTHORIZED && audit.ErrorField(err) == "code"):
		c.render(w, r, statusOf(err), "signin", view{Title: "Two-factor code", Body: signInView{
			Next: next, MFAToken: token, Field: "code", Error: audit.ErrorMessage(err),
		}})
		return nil
	case code == audit.EUNAUTHORIZED:
		// The pending sign-in is over (expired, used, or too many codes):
		// start again from the password.
		c.render(w, r, statusOf(err), "signin", view{Title: "Sign in", Body: signInView{
			Next: next, Field: "email", Error: audit.ErrorMessage(err) + " Sign in again.",
		}})
		return nil
	case err != nil:
		return err
	}
	httpx.SetSessionCookie(w, c.cfg, res.Token)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// signOut ends the session (app.Logout) and forgets the cookie.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	if err := c.app.Logout(r.Context(), p, c.client(r)); err != nil && audit.ErrorCode(err) != audit.EUNAUTHORIZED {
		return err
	}
	httpx.ClearSessionCookie(w, c.cfg)
	http.Redirect(w, r, "/signin?out", http.StatusSeeOther)
	return nil
}

// statusOf is the status of a page that shows err next to a form field.
func statusOf(err error) int {
	if p, ok := errorPages[audit.ErrorCode(err)]; ok {
		return p.status
	}
	if audit.ErrorCode(err) == audit.EUNAUTHORIZED {
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}
