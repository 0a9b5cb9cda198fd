package web

import (
	"net/http"
	"strconv"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// keysView is the body of the API keys page.
type keysView struct {
	Keys    []*audit.APIKey
	Scopes  []string
	New     newKeyForm
	Created *audit.APIKey // the key just created
	Secret  string        // its secret, shown this once
	Done    string
}

// newKeyForm is the create form as sent, with the error of its field.
type newKeyForm struct {
	Name         string
	Scopes       map[string]bool
	Field, Error string
}

// keys lists the account's API keys, revoked ones too (app.APIKeys).
func (c *Console) keys(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	v := keysView{Done: doneMessages[r.URL.Query().Get("done")], New: newKeyForm{Scopes: map[string]bool{audit.ScopeEventsWrite: true}}}
	return c.renderKeys(w, r, p, http.StatusOK, v)
}

func (c *Console) renderKeys(w http.ResponseWriter, r *http.Request, p *app.Principal, status int, v keysView) error {
	keys, err := c.app.APIKeys(r.Context(), p)
	if err != nil {
		return err
	}
	v.Keys, v.Scopes = keys, audit.Scopes
	c.render(w, r, status, "keys", view{Title: "API keys", Principal: p, Active: "/keys", Body: v})
	return nil
}

// createKey creates a key (app.CreateAPIKey) and shows its secret once:
// the service keeps only its hash. The answer is the page itself, not a
// redirect, so the secret never travels in a URL.
func (c *Console) createKey(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	if err := r.ParseForm(); err != nil {
		return audit.Errorf(audit.EINVALID, "The form could not be read.")
	}
	form := newKeyForm{Name: r.PostForm.Get("name"), Scopes: map[string]bool{}}
	for _, s := range r.PostForm["scopes"] {
		form.Scopes[s] = true
	}
	secret, k, err := c.app.CreateAPIKey(r.Context(), p, c.client(r), app.NewAPIKey{Name: form.Name, Scopes: r.PostForm["scopes"]})
	if err != nil {
		field, msg, ok := formError(err)
		if !ok {
			return err
		}
		form.Field, form.Error = field, msg
		return c.renderKeys(w, r, p, statusOf(err), keysView{New: form})
	}
	return c.renderKeys(w, r, p, http.StatusCreated, keysView{Created: k, Secret: secret, New: newKeyForm{Scopes: map[string]bool{audit.ScopeEventsWrite: true}}})
}

// revokeKey revokes a key (app.RevokeAPIKey).
func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return app.ErrKeyNotFound
	}
	if _, err := c.app.RevokeAPIKey(r.Context(), p, c.client(r), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/keys?done=revoked", http.StatusSeeOther)
	return nil
}
