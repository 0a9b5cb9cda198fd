package web

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/auditlog/auditlog/internal/app"
)

// parentPage serves a platform's admin page that frames the viewer: the
// iframe's address is the src query parameter. It listens on localhost,
// so the page is on another site than the viewer (127.0.0.1).
func parentPage(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", parentHost+":0")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Platform admin</title><link rel="icon" href="data:,"></head>`+
			`<body><h1>Orders</h1><iframe id="viewer" title="Audit log" src="%s" style="width:100%%;height:700px;border:0"></iframe></body></html>`,
			html.EscapeString(r.URL.Query().Get("src")))
	}))
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close)
	return "http://" + parentHost + ":" + strings.TrimPrefix(ts.URL[strings.LastIndex(ts.URL, ":"):], ":")
}

// frame returns a tab working in the viewer's iframe of the parent tab,
// once the frame has loaded a viewer page (a cross-site iframe is a target
// of its own), recording the frame's console messages as a tab does.
func (b *tab) frame(viewerBase string) *tab {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type != "iframe" || !strings.HasPrefix(info.URL, viewerBase+embedPath) {
				continue
			}
			ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(info.TargetID))
			b.t.Cleanup(cancel)
			f := &tab{t: b.t, ctx: ctx, base: viewerBase, dir: b.dir, allowed: b.allowed}
			messages := chromedp.Console(ctx)
			go func() {
				for m, err := range messages {
					if err != nil {
						return
					}
					f.mu.Lock()
					f.messages = append(f.messages, m)
					f.mu.Unlock()
				}
			}()
			f.do(chromedp.WaitReady(chromedp.CSS("body")))
			b.t.Cleanup(f.checkConsole)
			return f
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("no iframe target of %s", viewerBase+embedPath)
	return nil
}

// TestBrowserEmbed drives the embeddable viewer as a platform shows it: in
// an iframe of a page on another site. The viewer loads, searches, opens
// an event and verifies it, exports, wears the grant's theme; a page on an
// origin the token does not name cannot frame it; the token is not
// accepted twice; the viewer expires.
func TestBrowserEmbed(t *testing.T) {
	browser(t)
	now := time.Now()
	clock := func() time.Time { return now }
	e := newTestEnvClock(t, clock)
	dir := t.TempDir()
	platform := parentPage(t)
	elsewhere := parentPage(t) // another origin: another port
	mint := func(ttl time.Duration) string {
		return e.mintViewer(app.NewViewerToken{Query: "-action:user_login", Features: []string{"search", "export", "verify"},
			Origins: []string{platform}, TTL: ttl, Theme: map[string]string{"accent": "#5b21b6", "font": "Inter, sans-serif"}})
	}
	frameURL := func(token string) string {
		return "/?src=" + url.QueryEscape(e.ts.URL+"/embed?token="+url.QueryEscape(token))
	}

	t.Run("framed", func(t *testing.T) {
		p := e.tab(t, dir)
		p.base = platform
		token := mint(0)
		p.open(frameURL(token))
		f := p.frame(e.ts.URL)
		if got := f.path(); got != "/embed" {
			t.Fatalf("the frame is at %s; want /embed (the token exchanged, not kept in the address)", got)
		}
		if f.count("table.events-table") == 0 {
			t.Fatalf("the frame at %s shows %q", f.path(), f.text("h1")+" "+f.text("main"))
		}
		rows := f.count("table.events-table tbody tr")
		actions := eval[[]string](f, `Array.from(document.querySelectorAll("tbody a.action"), a => a.textContent)`)
		if rows == 0 {
			t.Fatal("the viewer lists no events")
		}
		for _, a := range actions {
			if a == "user_login" {
				t.Errorf("the viewer lists user_login, outside its grant")
			}
		}
		if f.count(`header nav`) != 0 || f.count(`a[href^="/events"]`) != 0 {
			t.Error("the framed viewer shows the console's navigation or links")
		}
		// The grant's theme, as CSS variables.
		if got := eval[string](f, `getComputedStyle(document.documentElement).getPropertyValue("--accent").trim()`); got != "#5b21b6" {
			t.Errorf("--accent = %q; want the grant's #5b21b6", got)
		}
		if got := eval[string](f, `getComputedStyle(document.body).fontFamily`); !strings.Contains(got, "Inter") {
			t.Errorf("font-family %q; want the grant's Inter", got)
		}
		// The parent cannot read the frame (another site).
		if got := eval[string](p, `(() => { try { return String(document.getElementById("viewer").contentDocument) } catch (e) { return "refused" } })()`); got != "null" && got != "refused" {
			t.Errorf("the parent reads the frame's document: %s", got)
		}
		p.shoot("embed-framed")

		// Search: the viewer's own query narrows the grant.
		f.do(chromedp.SendKeys(chromedp.ID("q"), "action:order.refunded"))
		f.follow("form.filters button[type=submit]")
		if got := f.path(); !strings.HasPrefix(got, "/embed?") || !strings.Contains(got, "q=action") {
			t.Errorf("searched at %s", got)
		}
		actions = eval[[]string](f, `Array.from(document.querySelectorAll("tbody a.action"), a => a.textContent)`)
		if len(actions) == 0 {
			t.Fatal("no order.refunded events in the viewer")
		}
		for _, a := range actions {
			if a != "order.refunded" {
				t.Errorf("searched for order.refunded, got %q", a)
			}
		}
		// Export the listed selection, with the viewer's session.
		href := eval[string](f, `document.querySelector("p.exports a[download]").getAttribute("href")`)
		if !strings.HasPrefix(href, "/embed/export?") {
			t.Fatalf("export link %q", href)
		}
		got := eval[string](f, `fetch(`+fmt.Sprintf("%q", href)+`).then(r => r.text().then(t => r.status + " " + t))`)
		if !strings.HasPrefix(got, "200 ") || !strings.Contains(got, "order.refunded") || strings.Contains(got, "user_login") {
			t.Errorf("export: %.300s", got)
		}
		// An event, verified in the browser.
		f.follow("tbody a.action")
		if got := f.path(); !strings.HasPrefix(got, "/embed/events/") {
			t.Fatalf("event page at %s", got)
		}
		f.do(chromedp.WaitVisible(chromedp.CSS("#verify-status.verified")))
		p.shoot("embed-event")

		// The same token again, in a new frame: refused.
		f.allowed = append(f.allowed, "status of 401")
		p.open(frameURL(token))
		r := p.frame(e.ts.URL)
		r.allowed = append(r.allowed, "status of 401")
		if h := r.text("h1"); h != "This viewer has expired" {
			t.Errorf("a replayed token shows %q; want the refusal", h)
		}
		if r.count("table.events-table") != 0 {
			t.Error("a replayed token shows events")
		}
	})

	t.Run("expired", func(t *testing.T) {
		p := e.tab(t, dir)
		p.base = platform
		p.open(frameURL(mint(time.Minute)))
		f := p.frame(e.ts.URL)
		f.do(chromedp.WaitVisible(chromedp.CSS("table.events-table")))
		now = now.Add(2 * time.Minute)
		defer func() { now = time.Now() }()
		f.allowed = append(f.allowed, "status of 401")
		f.do(chromedp.Evaluate[chromedp.Void](`location.reload()`))
		time.Sleep(time.Second)
		if h := f.text("h1"); h != "This viewer has expired" {
			t.Errorf("after expiry the frame shows %q", h)
		}
		// An unused token past its time is refused too.
		late := mint(time.Minute)
		now = now.Add(2 * time.Minute)
		p.open(frameURL(late))
		l := p.frame(e.ts.URL)
		l.allowed = append(l.allowed, "status of 401")
		if h := l.text("h1"); h != "This viewer has expired" {
			t.Errorf("an expired token shows %q", h)
		}
	})

	t.Run("another origin", func(t *testing.T) {
		p := e.tab(t, dir)
		p.base = elsewhere
		p.allowed = []string{"frame-ancestors"} // the browser's refusal, in the parent's console
		p.open(frameURL(mint(0)))
		time.Sleep(500 * time.Millisecond) // let the frame's navigation settle
		// The frame shows no viewer: its target is no viewer page, and the
		// browser reports the refusal.
		infos, err := chromedp.Targets(p.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, e.ts.URL+embedPath) {
				ctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithTargetID(info.TargetID))
				n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.events-table").length`))
				cancel()
				if err == nil && n > 0 {
					t.Errorf("a page on %s framed the viewer of a token for %s", elsewhere, platform)
				}
			}
		}
		p.mu.Lock()
		refused := false
		for _, m := range p.messages {
			refused = refused || strings.Contains(m.Text, "frame-ancestors")
		}
		p.mu.Unlock()
		if !refused {
			t.Logf("the parent's console did not report the frame-ancestors refusal (messages: %d)", len(p.messages))
		}
	})
}

// parentHost is where the platform's page listens.
var parentHost = "localhost"
