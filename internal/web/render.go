package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages holds one template set per page, the layout and the page, each
// parsed on its first use: the sixteen pages hold a megabyte of parsed
// templates, which a server that shows no page (an API or export server)
// need not keep.
type pages map[string]func() *template.Template

// mustParsePages lists every page; each parses with the layout when it is
// first rendered. A template that does not parse is a bug caught by
// TestPagesParse, which parses them all.
func mustParsePages() pages {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	ps := pages{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		ps[base] = sync.OnceValue(func() *template.Template {
			return template.Must(template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
		})
	}
	return ps
}

// view is what every page's template gets.
type view struct {
	Title     string
	Principal *app.Principal // the signed-in user; nil when signed out
	Active    string         // the navigation entry of the page
	Body      any            // the page's own data
	// Embedded is set on the embedded viewer's pages, which show no
	// console navigation; Theme is then the address of the grant's
	// stylesheet ("" without a session).
	Embedded bool
	Theme    string
}

// pageView is the view of an events or event page for p: the console's,
// or the embedded viewer's for a viewer.
func (c *Console) pageView(p *app.Principal, title string, body any) view {
	if p != nil && p.Viewer != nil {
		return view{Title: title, Principal: p, Body: body, Embedded: true, Theme: embedPath + "/theme.css"}
	}
	return view{Title: title, Principal: p, Active: "/events", Body: body}
}

// navLink is an entry of the navigation bar.
type navLink struct {
	Name, Path string
}

// Nav returns the pages the signed-in user's role may open: the bar shows
// exactly what the routes allow.
func (v view) Nav() []navLink {
	p := v.Principal
	if p == nil || p.User == nil {
		return nil
	}
	var out []navLink
	for _, l := range []struct {
		navLink
		perm audit.Permission
	}{
		{navLink{"Events", "/events"}, audit.PermViewAuditLogs},
		{navLink{"Dashboard", "/dashboard"}, audit.PermViewAuditLogs},
		{navLink{"Chat", "/chat"}, audit.PermViewAuditLogs},
		{navLink{"People", "/people"}, audit.PermViewUsers},
		{navLink{"API keys", "/keys"}, audit.PermManageAPIKeys},
		{navLink{"Account", "/account"}, audit.PermViewAccount},
	} {
		if p.User.Role.Can(l.perm) {
			out = append(out, l.navLink)
		}
	}
	return out
}

// Can reports whether the signed-in user's role has perm, for showing a
// form only to those the app would let use it.
func (v view) Can(perm string) bool {
	return v.Principal != nil && v.Principal.Authorize(audit.Permission(perm)) == nil
}

// render writes page name with status. Pages are rendered to a buffer
// first, so a template error is a clean 500, not half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	page := c.pages[name]
	var buf bytes.Buffer
	if page == nil {
		c.log.ErrorContext(r.Context(), "no such page template", "name", name)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	if err := page().ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.ErrorContext(r.Context(), "render page", "name", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// timeLayout renders times as the API does: RFC 3339 in UTC.
const timeLayout = "2006-01-02T15:04:05.000000Z"

var funcs = template.FuncMap{
	// rfc3339 is the machine form of a time, for <time datetime>.
	"rfc3339": func(t time.Time) string { return t.UTC().Format(timeLayout) },
	// utc is the readable UTC form, shown until the script shows the
	// viewer's own time zone.
	"utc":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"hex":     func(b [32]byte) string { return hex.EncodeToString(b[:]) },
	"b64":     func(b [32]byte) string { return base64.StdEncoding.EncodeToString(b[:]) },
	"role":    roleLabel,
	"roles":   func() []audit.Role { return audit.Roles },
	"isZero":  func(t time.Time) bool { return t.IsZero() },
	"join":    strings.Join,
	"str":     func(v any) string { return fmt.Sprint(v) },
	"asset":   asset,
	"count":   count,
	"add":     func(a, b int) int { return a + b },
	"half":    func(n int64) int64 { return n / 2 },
	"favicon": func() template.URL { return favicon },
	// codeForm is the data of a form asking for an MFA code, with the
	// error of its field, if the field is the code.
	"codeForm": func(action, button, class, field, err string) codeForm {
		f := codeForm{Action: action, Button: button, Class: class}
		if field == "code" {
			f.Field, f.Error = field, err
		}
		return f
	},
	"minPassword": func() int { return audit.MinPasswordLen },
	"groups":      func() any { return groupChoices },
	"seconds":     func(d time.Duration) int64 { return int64(d / time.Second) },
	// fieldOf is the data of one labelled input (template "field"), with
	// the form's error when the error is this input's.
	"fieldOf": func(id, name, label, typ, value, errField, err string) formField {
		f := formField{ID: id, Name: name, Label: label, Type: typ, Value: value}
		if errField == name {
			f.Error = err
		}
		return f
	},
}

// formField is one labelled input of a form, with its error.
type formField struct {
	ID, Name, Label, Type, Value, Error string
}

// codeForm is a form that sends an MFA code.
type codeForm struct {
	Action, Button, Class string
	Field, Error          string
}

// roleLabel is a role as people read it.
func roleLabel(r audit.Role) string {
	switch r {
	case audit.RoleOwner:
		return "Owner"
	case audit.RoleAdmin:
		return "Admin"
	case audit.RoleAnalyst:
		return "Analyst"
	case audit.RoleContentCreator:
		return "Content creator"
	}
	return string(r)
}

// assetVersion is a digest of every embedded asset: pages name assets with
// it (asset), so a browser may cache them for a year and still gets new
// ones with a new binary.
var assetVersion = func() string {
	h := sha256.New()
	fs.WalkDir(staticFS, "static", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := staticFS.ReadFile(path)
			h.Write([]byte(path))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

// favicon is the icon as a data: URL, so that a page's first render needs
// no request beyond its stylesheet and scripts.
var favicon = func() template.URL {
	b, err := staticFS.ReadFile("static/favicon.svg")
	if err != nil {
		panic(err)
	}
	return template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(b))
}()

// asset returns the address of an embedded asset.
func asset(name string) string { return "/static/" + name + "?v=" + assetVersion }

// staticHandler serves the embedded assets, cacheable for a year (see
// assetVersion).
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	})
}

// count is a number of things as the console shows it, with thousands
// separators: 1,234,567. (A message.Printer serves one goroutine at a
// time, so each call makes its own, in about a microsecond.)
func count(n any) (string, error) {
	switch n := n.(type) {
	case int:
		return message.NewPrinter(language.English).Sprintf("%d", n), nil
	case int64:
		return message.NewPrinter(language.English).Sprintf("%d", n), nil
	}
	return "", fmt.Errorf("count: %T is not a whole number", n)
}
