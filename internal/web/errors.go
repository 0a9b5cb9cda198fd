package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// errorPages maps each application error code to the console's answer: the
// HTTP status and the page's heading. It is the only place that does; an
// error without a code is a 500 whose text is logged, never shown.
// EUNAUTHORIZED is not here: it sends the browser to the sign-in page.
var errorPages = map[string]struct {
	status int
	title  string
}{
	audit.EINVALID:     {http.StatusBadRequest, "That request could not be used"},
	audit.EFORBIDDEN:   {http.StatusForbidden, "Not allowed"},
	audit.EMFAREQUIRED: {http.StatusForbidden, "Two-factor authentication required"},
	audit.ENOTFOUND:    {http.StatusNotFound, "Not found"},
	audit.ENOTALLOWED:  {http.StatusMethodNotAllowed, "Not allowed"},
	audit.ECONFLICT:    {http.StatusConflict, "Conflict"},
	audit.ETOOLARGE:    {http.StatusRequestEntityTooLarge, "Too large"},
	audit.EUNSUPPORTED: {http.StatusUnsupportedMediaType, "Not supported"},
	audit.ERATELIMITED: {http.StatusTooManyRequests, "Too many requests"},
	audit.EUNAVAILABLE: {http.StatusServiceUnavailable, "Temporarily unavailable"},
	audit.EFULL:        {http.StatusInsufficientStorage, "Storage full"},
	audit.EINTERNAL:    {http.StatusInternalServerError, "Something went wrong"},
}

// Errors of the console itself; the operations' errors are the app's.
var (
	errPageNotFound = audit.Errorf(audit.ENOTFOUND, "There is no page at this address.")
	errCrossOrigin  = audit.Errorf(audit.EFORBIDDEN, "The form was sent from another site, so it was refused. Open the console and try again.")
	errPanic        = &audit.Error{Code: audit.EINTERNAL, Message: "Internal error."}
)

// errorView is the body of the error page.
type errorView struct {
	Status     int
	Title      string
	Message    string
	RetryAfter int64 // seconds, for a rate-limited request
	MFA        bool  // the account requires MFA of this user, who has none
}

// fail answers a request whose handler returned err: a sign-in redirect
// for a missing or ended session, else the error page with the status of
// the error's code.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *app.Principal, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the browser went away
	}
	code := audit.ErrorCode(err)
	if code == audit.EUNAUTHORIZED {
		target := "/signin"
		if r.Method == http.MethodGet && r.URL.Path != "/" {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	page, ok := errorPages[code]
	if !ok {
		page = errorPages[audit.EINTERNAL]
	}
	v := errorView{Status: page.status, Title: page.title, Message: consoleMessage(err), MFA: code == audit.EMFAREQUIRED}
	if page.status >= 500 {
		c.log.ErrorContext(r.Context(), "page failed", "method", r.Method, "path", r.URL.Path, "status", page.status, "err", err)
		if !ok || code == audit.EINTERNAL {
			v.Message = "The console could not show this page. Try again; if it keeps failing, tell your administrator the time it happened."
		}
	}
	var limited *app.RateLimitError
	if errors.As(err, &limited) {
		v.RetryAfter = app.Seconds(limited.RetryAfter)
		w.Header().Set("Retry-After", strconv.FormatInt(v.RetryAfter, 10))
	}
	switch page.status {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	case http.StatusInsufficientStorage:
		w.Header().Set("Retry-After", "30")
	}
	vw := view{Title: page.title, Principal: p, Body: v}
	if strings.HasPrefix(r.URL.Path, embedPath+"/") || r.URL.Path == embedPath {
		vw.Embedded = true
		if p != nil {
			vw.Theme = embedPath + "/theme.css"
		}
	}
	c.render(w, r, page.status, "error", vw)
}
