package web

import (
	"net/http"
	"net/url"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/httpx"
)

// routes registers every page: its pattern, who may open it, and its
// handler. The app operation each handler calls checks the same
// permission again; the route's check only decides early, so that a page
// never starts rendering for someone who may not see it.
func (c *Console) routes() {
	c.mux.Handle("GET /static/", staticHandler())
	c.mux.Handle("GET /favicon.ico", http.RedirectHandler("/static/favicon.svg", http.StatusMovedPermanently))

	r := c.route
	r("GET /signin", public, c.signInPage)
	r("POST /signin", public, c.signIn)
	r("POST /signin/mfa", public, c.signInMFA)
	r("POST /signout", signedIn, c.signOut)

	r("GET /{$}", signedIn, c.home)
	r("GET /events", can(audit.PermViewAuditLogs), c.explorer)
	r("GET /events/{id}", can(audit.PermViewAuditLogs), c.eventPage)
	r("GET /dashboard", can(audit.PermViewAuditLogs), c.dashboard)
	r("GET /chat", can(audit.PermViewAuditLogs), c.chatPage)
	r("POST /chat", can(audit.PermViewAuditLogs), c.askChat)
	r("POST /chat/{id}/delete", can(audit.PermViewAuditLogs), c.deleteChat)
	r("GET /people", can(audit.PermViewUsers), c.people)
	r("POST /people", can(audit.PermCreateUsers), c.createUser)
	r("POST /people/{id}", can(audit.PermManageUsers), c.updateUser)
	r("GET /keys", can(audit.PermManageAPIKeys), c.keys)
	r("POST /keys", can(audit.PermManageAPIKeys), c.createKey)
	r("POST /keys/{id}/revoke", can(audit.PermManageAPIKeys), c.revokeKey)
	// A user's own credentials: every role, and a user whose MFA
	// enrolment is due (the operations need no permission).
	r("GET /account/mfa", signedIn, c.mfaPage)
	r("POST /account/mfa/setup", signedIn, c.startMFA)
	r("POST /account/mfa/confirm", signedIn, c.confirmMFA)
	r("POST /account/mfa/disable", signedIn, c.disableMFA)
	r("GET /account/password", signedIn, c.passwordPage)
	r("POST /account/password", signedIn, c.changePassword)
	r("GET /account", can(audit.PermViewAccount), c.account)
	r("GET /account/streams", can(audit.PermManageStreams), c.streams)
	r("POST /account/streams", can(audit.PermManageStreams), c.createStream)
	r("GET /account/streams/{id}", can(audit.PermManageStreams), c.streamPage)
	r("POST /account/streams/{id}/{action}", can(audit.PermManageStreams), c.streamAction)
	r("GET /account/data", can(audit.PermErasePersonalData), c.dataPage)
	r("POST /account/retention", can(audit.PermManageRetention), c.setRetention)
	r("POST /account/erasures", can(audit.PermErasePersonalData), c.erase)
	r("GET /account/alerts", can(audit.PermManageAlerts), c.alerts)
	r("POST /account/alerts", can(audit.PermManageAlerts), c.createAlertRule)
	r("GET /account/alerts/{id}", can(audit.PermManageAlerts), c.alertRulePage)
	r("POST /account/alerts/{id}/{action}", can(audit.PermManageAlerts), c.alertRuleAction)
	r("POST /account/security", can(audit.PermManageAccountSecurity), c.setSecurity)
	c.embedRoutes()

	c.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, c.optionalPrincipal(r), errPageNotFound)
	}))
}

// access says who may open a page.
type access struct {
	user bool             // a signed-in user is needed
	perm audit.Permission // and the permission, if any
}

var (
	public   = access{}
	signedIn = access{user: true}
)

func can(perm audit.Permission) access { return access{user: true, perm: perm} }

// handler is the signature of every page: it writes a response and returns
// nil, or writes nothing and returns an error for fail to render. p is the
// signed-in user, nil on public pages.
type handler func(w http.ResponseWriter, r *http.Request, p *app.Principal) error

// route registers h under pattern for who.
func (c *Console) route(pattern string, who access, h handler) {
	c.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := c.authorize(w, r, who)
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			c.fail(w, r, p, err)
		}
	}))
}

// authorize finds the signed-in user of a page that needs one, draws a
// page read from the session's read bucket, and checks the route's
// permission.
func (c *Console) authorize(w http.ResponseWriter, r *http.Request, who access) (*app.Principal, error) {
	if !who.user {
		return c.optionalPrincipal(r), nil
	}
	token := httpx.SessionToken(r)
	if token == "" {
		return nil, app.ErrUnauthorized
	}
	ctx := r.Context()
	p, err := c.app.AuthenticateSession(ctx, token)
	if err != nil {
		if audit.ErrorCode(err) == audit.EUNAUTHORIZED {
			httpx.ClearSessionCookie(w, c.cfg)
		}
		return nil, err
	}
	if r.Method == http.MethodGet {
		if err := c.app.LimitReads(ctx, p); err != nil {
			return p, err
		}
	}
	if who.perm != "" {
		if err := p.Authorize(who.perm); err != nil {
			return p, err
		}
	}
	return p, nil
}

// optionalPrincipal returns the signed-in user of a public page, if any:
// the sign-in page sends a signed-in user home.
func (c *Console) optionalPrincipal(r *http.Request) *app.Principal {
	token := httpx.SessionToken(r)
	if token == "" {
		return nil
	}
	p, err := c.app.AuthenticateSession(r.Context(), token)
	if err != nil {
		return nil
	}
	return p
}

// client returns the request's origin, as the audit trail records it.
func (c *Console) client(r *http.Request) app.Client {
	return app.NewClient(httpx.ClientIP(r, c.cfg.TrustedProxies), r.UserAgent())
}

// home sends a user to the first page their role may open.
func (c *Console) home(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	target := "/account"
	if p.Authorize(audit.PermViewAuditLogs) == nil {
		target = "/events"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// localPath returns next when it is a path on this site, else "/": a
// sign-in link cannot send anyone elsewhere.
func localPath(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		len(next) < 1 || next[0] != '/' || (len(next) > 1 && (next[1] == '/' || next[1] == '\\')) {
		return "/"
	}
	return next
}
