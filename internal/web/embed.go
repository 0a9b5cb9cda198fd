package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
)

// The embeddable viewer: the pages a platform shows its merchant in an
// iframe (docs/platform.md). /embed?token=… exchanges a viewer token for
// a session of its own (app.ExchangeViewerToken) and redirects to /embed,
// so the token never stays in the frame's address, its history or a
// Referer; the token is accepted once. The session's cookie, embed_session,
// is Path=/embed (it never reaches the console or the API), HttpOnly,
// Secure and SameSite=None (a browser sends a cookie to a frame of another
// site only so) and Partitioned (CHIPS: kept in the framing site's jar, as
// browsers that block third-party cookies require). Each page is the console's own (the explorer, the event
// page with its verified badge) over the same app operations, which narrow
// every read to the grant; a page's Content-Security-Policy names the
// grant's origins in frame-ancestors, and the grant's colours and font come
// as a stylesheet of CSS variables (/embed/theme.css), so no inline style
// is needed.

// embedPath is where the embedded viewer lives.
const embedPath = "/embed"

// embedCookie is the embedded viewer's session cookie.
const embedCookie = "embed_session"

// embedCSP is the embedded viewer's Content-Security-Policy before
// frame-ancestors: the console's.
const embedCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; "

// themeVariables maps each theme variable of a grant to the console's CSS
// custom property it sets.
var themeVariables = map[string]string{
	"background": "--bg", "text": "--text", "muted": "--muted", "accent": "--accent", "border": "--line",
}

// embedRoutes registers the embedded viewer's pages.
func (c *Console) embedRoutes() {
	c.mux.HandleFunc("GET "+embedPath, c.embedOpen)
	c.embedRoute("GET "+embedPath+"/events/{id}", c.eventPage)
	c.embedRoute("GET "+embedPath+"/proof/{id}", c.embedProof)
	c.embedRoute("GET "+embedPath+"/export", c.embedExport)
	c.embedRoute("GET "+embedPath+"/theme.css", c.embedTheme)
}

// embedOpen is /embed: with ?token=, the token's exchange and a redirect
// to /embed; without, the explorer of the viewer's session.
func (c *Console) embedOpen(w http.ResponseWriter, r *http.Request) {
	if _, ok := r.URL.Query()["token"]; !ok {
		c.embedServe(w, r, c.explorer)
		return
	}
	session, g, err := c.app.ExchangeViewerToken(r.Context(), c.client(r), r.URL.Query().Get("token"))
	if err != nil {
		c.embedFail(w, r, nil, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: embedCookie, Value: session, Path: embedPath, MaxAge: int(g.ExpiresAt.Sub(c.now()) / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true,
	})
	setFrameAncestors(w, g)
	http.Redirect(w, r, embedPath, http.StatusSeeOther)
}

// embedRoute registers an embedded viewer's page.
func (c *Console) embedRoute(pattern string, h handler) {
	c.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.embedServe(w, r, h) }))
}

// embedServe authenticates the viewer's session and serves h: a token in
// a later address is refused (401), as is a missing or expired session.
func (c *Console) embedServe(w http.ResponseWriter, r *http.Request, h handler) {
	if _, ok := r.URL.Query()["token"]; ok {
		c.embedFail(w, r, nil, app.ErrViewerToken)
		return
	}
	ck, err := r.Cookie(embedCookie)
	if err != nil || ck.Value == "" {
		c.embedFail(w, r, nil, app.ErrViewerSession)
		return
	}
	p, err := c.app.AuthenticateViewer(r.Context(), ck.Value)
	if err != nil {
		c.embedFail(w, r, nil, err)
		return
	}
	setFrameAncestors(w, p.Viewer)
	if err := h(w, r, p); err != nil {
		c.embedFail(w, r, p, err)
	}
}

// setFrameAncestors lets the grant's origins, and only them, frame the
// page.
func setFrameAncestors(w http.ResponseWriter, g *app.ViewerGrant) {
	h := w.Header()
	h.Set("Content-Security-Policy", embedCSP+"frame-ancestors "+strings.Join(g.Origins, " "))
	h.Del("X-Frame-Options") // frame-ancestors decides; the header cannot name origins
}

// embedFail answers an embedded viewer's request that failed: the error
// page, in the frame. A refused token or session is 401 (never the
// console's sign-in). Without a session the origins are unknown: the page,
// which holds nothing but the refusal, may then be framed anywhere, so the
// platform shows the reason rather than an empty frame.
func (c *Console) embedFail(w http.ResponseWriter, r *http.Request, p *app.Principal, err error) {
	if p == nil {
		w.Header().Set("Content-Security-Policy", embedCSP+"frame-ancestors *")
		w.Header().Del("X-Frame-Options")
	}
	if audit.ErrorCode(err) != audit.EUNAUTHORIZED {
		c.fail(w, r, p, err)
		return
	}
	v := errorView{Status: http.StatusUnauthorized, Title: "This viewer has expired", Message: audit.ErrorMessage(err)}
	c.render(w, r, http.StatusUnauthorized, "error", view{Title: v.Title, Body: v, Embedded: true})
}

// embedProof is the badge's proof (app.ProveEvent), in the JSON of GET
// /api/audit-logs/{id}/proof that verify.js reads.
func (c *Console) embedProof(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return app.ErrEventNotFound
	}
	pr, err := c.app.ProveEvent(r.Context(), p, id, 0)
	if err != nil {
		return err
	}
	proof := pr.Proof
	if proof == nil {
		proof = []tlog.Hash{}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	return json.NewEncoder(w).Encode(map[string]any{
		"event_id": pr.Event.ID, "seq": pr.Event.Seq, "leaf_index": pr.Event.Seq - 1, "leaf_hash": tlog.Hash(pr.Event.LeafHash),
		"tree_size": pr.Checkpoint.Size, "root_hash": pr.Checkpoint.Root, "proof": proof,
		"checkpoint": map[string]any{"checkpoint": pr.Checkpoint.Note, "tree_size": pr.Checkpoint.Size},
	})
}

// embedExportLinks links to the embedded viewer's export of the listed
// selection (the explorer's own parameters), once per format.
func embedExportLinks(q url.Values) []exportLink {
	var links []exportLink
	for _, x := range exportFormats {
		p := cloneValues(q)
		p.Set("format", x.format)
		links = append(links, exportLink{x.label, embedPath + "/export?" + p.Encode()})
	}
	return links
}

// embedExport streams an export of the explorer's selection (app.Export,
// which narrows it to the grant and records it).
func (c *Console) embedExport(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	qs := r.URL.Query()
	form := readFilterForm(qs)
	f, err := form.filter(c.now())
	if err != nil {
		return err
	}
	req := app.ExportRequest{Format: qs.Get("format"), Filter: f, Search: form.Q}
	started := false
	err = c.app.Export(r.Context(), p, c.client(r), req, func(x *app.Export) io.Writer {
		started = true
		h := w.Header()
		h.Set("Content-Type", x.ContentType())
		h.Set("Content-Disposition", `attachment; filename="`+x.Filename()+`"`)
		w.WriteHeader(http.StatusOK)
		return w
	})
	if err != nil && started {
		c.log.InfoContext(r.Context(), "embedded export cut short", "account", p.AccountID, "err", err)
		return nil
	}
	return err
}

// embedTheme is the grant's colours and font as CSS custom properties
// over the console's.
func (c *Console) embedTheme(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	var b strings.Builder
	b.WriteString(":root {")
	names := make([]string, 0, len(p.Viewer.Theme))
	for k := range p.Viewer.Theme {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := p.Viewer.Theme[k] // checked against app.ThemeVariables when minted
		if pat, ok := app.ThemeVariables[k]; !ok || !pat.MatchString(v) {
			return errors.New("web: a stored theme variable does not match its pattern")
		}
		if k == "font" {
			b.WriteString(" font-family: " + v + ";")
			continue
		}
		b.WriteString(" " + themeVariables[k] + ": " + v + ";")
	}
	b.WriteString(" }\n.embedded main { max-width: none; }\n")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, err := io.WriteString(w, b.String())
	return err
}
