package web

import (
	"net/http"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// accountView is the body of the account page.
type accountView struct {
	Account     *audit.Account
	RequireMFA  bool
	VerifierKey string
	KeyName     string
	Origin      string
	// Checkpoint is the log's latest signed checkpoint; nil when the role
	// may not read the log, or the log is empty.
	Checkpoint *sqlstore.Checkpoint
	Done       string
	Error      string
}

// account shows the account, its MFA policy, the verifier key and the
// latest checkpoint (app.Account, app.AccountSecurity, app.Checkpoint).
func (c *Console) account(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	v := accountView{Done: doneMessages[r.URL.Query().Get("done")]}
	return c.renderAccount(w, r, p, http.StatusOK, v)
}

func (c *Console) renderAccount(w http.ResponseWriter, r *http.Request, p *app.Principal, status int, v accountView) error {
	ctx := r.Context()
	acct, err := c.app.Account(ctx, p, p.AccountID)
	if err != nil {
		return err
	}
	if v.RequireMFA, err = c.app.AccountSecurity(ctx, p, p.AccountID); err != nil {
		return err
	}
	v.Account = acct
	v.VerifierKey, v.KeyName = c.app.VerifierKey()
	v.Origin = c.app.Origin(p.AccountID)
	if p.Authorize(audit.PermViewAuditLogs) == nil {
		cp, err := c.app.Checkpoint(ctx, p, 0)
		switch {
		case audit.ErrorCode(err) == audit.ENOTFOUND:
		case err != nil:
			return err
		default:
			v.Checkpoint = cp
		}
	}
	c.render(w, r, status, "account", view{Title: "Account", Principal: p, Active: "/account", Body: v})
	return nil
}

// setSecurity sets whether the account requires MFA of its owners and
// admins (app.SetAccountSecurity).
func (c *Console) setSecurity(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	require := r.PostFormValue("require_mfa") == "true"
	err := c.app.SetAccountSecurity(r.Context(), p, c.client(r), p.AccountID, app.SecurityChange{RequireMFA: &require})
	if err != nil {
		if _, msg, ok := formError(err); ok {
			return c.renderAccount(w, r, p, statusOf(err), accountView{Error: msg})
		}
		return err
	}
	http.Redirect(w, r, "/account?done=security", http.StatusSeeOther)
	return nil
}
