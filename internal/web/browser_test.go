package web

import (
	"context"
	"encoding/base32"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/totp"
)

// The browser tests drive Chromium (Debian's chromium package) headless
// through the DevTools protocol. They skip when no Chromium is installed,
// except in CI (CI=true), where they fail: .ci/run installs it.

// shots keeps the screenshots in a directory of your choice; by default
// they go to the test's temporary directory, and with -update to
// docs/screenshots too.
var shots = flag.String("shots", "", "also keep the browser tests' screenshots in this `directory`")

// shared is the one Chromium of the package's tests: starting it costs
// about a second, so every browser test opens its tabs in it.
var shared struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	os.Exit(code)
}

// chromiumPath finds a Chromium or Chrome binary.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser returns the shared browser's context, starting it on first use.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no chromium in PATH: the browser tests need it in CI (apt-get install chromium)")
		}
		t.Skip("no chromium in PATH; apt-get install chromium to run the browser tests")
	}
	shared.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // CI containers run as root
			chromedp.WindowSize(1280, 800),
			chromedp.Flag("lang", "en-GB"),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		shared.ctx = ctx
		shared.cancel = func() { cancelCtx(); cancelAlloc() }
		shared.err = chromedp.Do(ctx) // starts the browser
	})
	if shared.err != nil {
		t.Fatalf("start chromium: %v", shared.err)
	}
	return shared.ctx
}

// tab is a browser tab in a browser context of its own (its own cookies),
// that records every console message of its pages.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string // where screenshots go

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
	// allowed are texts of console errors the test expects (a page it
	// expects the server to refuse).
	allowed []string
}

func (e *testEnv) tab(t *testing.T, dir string) *tab {
	t.Helper()
	parent := browser(t)
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &tab{t: t, ctx: ctx, base: e.ts.URL, dir: dir}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	t.Cleanup(b.checkConsole)
	return b
}

// checkConsole fails the test on any console error or exception of its
// pages.
func (b *tab) checkConsole() {
	time.Sleep(50 * time.Millisecond) // let the last messages arrive
	b.mu.Lock()
	defer b.mu.Unlock()
next:
	for _, m := range b.messages {
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException && m.Type != chromedp.ConsoleWarning {
			continue
		}
		for _, a := range b.allowed {
			if strings.Contains(m.Text, a) {
				continue next
			}
		}
		b.t.Errorf("console %s at %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text)
	}
}

func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// open loads a page of the console.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + path))
}

// follow clicks what sel selects and waits for the page it loads.
func (b *tab) follow(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *tab) path() string {
	b.t.Helper()
	return eval[string](b, "location.pathname + location.search")
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf("(document.querySelector(%q) || {}).textContent || ''", sel))
}

func (b *tab) count(sel string) int {
	b.t.Helper()
	return eval[int](b, fmt.Sprintf("document.querySelectorAll(%q).length", sel))
}

// shoot saves screenshots of the page at desktop (1280×800) and phone
// (390×844) sizes, as NAME-desktop.png and NAME-phone.png, scrolled to
// the element with the ID scrollTo when one is given.
func (b *tab) shoot(name string, scrollTo ...string) {
	b.t.Helper()
	for _, size := range []struct {
		suffix string
		w, h   int64
		opts   []chromedp.EmulateViewportOption
	}{
		{"desktop", 1280, 800, nil},
		{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile}},
	} {
		b.do(chromedp.EmulateViewport(size.w, size.h, size.opts...), chromedp.Sleep(100*time.Millisecond))
		for _, id := range scrollTo {
			b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf("document.getElementById(%q).scrollIntoView()", id)))
		}
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		cancel()
		if err != nil {
			b.t.Fatal(err)
		}
		file := name + "-" + size.suffix + ".png"
		dirs := []string{b.dir}
		if *shots != "" {
			dirs = append(dirs, *shots)
		}
		if *update {
			dirs = append(dirs, filepath.Join("..", "..", "docs", "screenshots"))
		}
		for _, d := range dirs {
			if err := os.MkdirAll(d, 0o755); err != nil {
				b.t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, file), png, 0o644); err != nil {
				b.t.Fatal(err)
			}
		}
	}
	b.do(chromedp.EmulateViewport(1280, 800))
}

// signIn signs the sample user of role in through the form.
func (b *tab) signIn(role audit.Role) {
	b.t.Helper()
	c := credential(role)
	b.open("/")
	if p := b.path(); !strings.HasPrefix(p, "/signin") {
		b.t.Fatalf("signed out, / went to %s; want the sign-in page", p)
	}
	b.do(chromedp.SendKeys(chromedp.ID("email"), c.Email), chromedp.SendKeys(chromedp.ID("password"), c.Password))
	b.follow("form button[type=submit]")
}

// TestBrowser drives the console as each role does.
func TestBrowser(t *testing.T) {
	browser(t)
	// Streams to a local receiver: plain HTTP on loopback allowed.
	e := newTestEnv(t, func(cfg *config.Config) { cfg.StreamsAllowHTTP, cfg.StreamsAllowPrivate = true, true })
	dir := t.TempDir()
	defer func() { t.Logf("screenshots in %s", dir) }()

	t.Run("owner", func(t *testing.T) {
		b := e.tab(t, dir)
		b.open("/signin")
		// The first render needs nothing but the page's own CSS and JS.
		loaded := eval[[]string](b, `performance.getEntriesByType("resource").map(e => new URL(e.name).pathname)`)
		if strings.Join(loaded, " ") != "/static/console.css /static/console.js" {
			t.Errorf("the sign-in page loaded %q; want its CSS and JS only", loaded)
		}
		b.shoot("signin")
		b.signIn(audit.RoleOwner)
		if p := b.path(); p != "/events" {
			t.Fatalf("owner lands on %s; want /events", p)
		}
		if n := b.count("table.events-table tbody tr"); n != perPage {
			t.Errorf("first page: %d rows; want %d", n, perPage)
		}
		// Times show in the viewer's zone, with UTC on hover.
		if title := eval[string](b, `document.querySelector("tbody time").title`); !strings.HasSuffix(title, " UTC") {
			t.Errorf("time title %q; want the UTC value", title)
		}
		b.shoot("events")

		// Paging: older, then newer again, by the list's cursors.
		first := b.text("tbody tr:first-child a.action") + b.text("tbody tr:first-child time")
		firstID := eval[string](b, `document.querySelector("tbody a.action").getAttribute("href")`)
		b.follow("a[rel=next]")
		if !strings.Contains(b.path(), "cursor=") {
			t.Errorf("older page at %s; want a cursor", b.path())
		}
		if got := eval[string](b, `document.querySelector("tbody a.action").getAttribute("href")`); got == firstID {
			t.Errorf("older page starts with the first page's event %s", got)
		}
		b.follow("a[rel=next]") // the third page
		b.follow("a[rel=prev]")
		b.follow("a[rel=prev]")
		if got := eval[string](b, `document.querySelector("tbody a.action").getAttribute("href")`); got != firstID {
			t.Errorf("newer twice from page 3 starts with %s; want the first page's %s (%s)", got, firstID, first)
		}
		if b.count("a[rel=prev]") != 0 {
			t.Error("the first page has a Newer link")
		}

		// Filters: action, user and a date preset.
		b.do(chromedp.SendKeys(chromedp.ID("action"), "user_login"), chromedp.SetValue(chromedp.ID("range"), "30d"))
		b.follow("form.filters button[type=submit]")
		if p := b.path(); !strings.Contains(p, "action=user_login") || !strings.Contains(p, "range=30d") {
			t.Errorf("filtered at %s", p)
		}
		actions := eval[[]string](b, `Array.from(document.querySelectorAll("tbody a.action"), a => a.textContent)`)
		if len(actions) == 0 {
			t.Error("no user_login events in the last 30 days")
		}
		for _, a := range actions {
			if a != "user_login" {
				t.Errorf("filtered by user_login, got %q", a)
			}
		}
		href := eval[string](b, `document.querySelector("a[download]").getAttribute("href")`)
		if !strings.HasPrefix(href, "/api/audit-logs/export?") || !strings.Contains(href, "action=user_login") || !strings.Contains(href, "start_date=") {
			t.Errorf("export link %q; want the current filters", href)
		}
		b.do(chromedp.SetValue(chromedp.ID("action"), "no_such_action"))
		b.follow("form.filters button[type=submit]")
		if !strings.Contains(b.text(".empty"), "No events match") {
			t.Errorf("empty result shows %q", b.text(".empty"))
		}
		b.shoot("events-empty")

		// The event page: every field, the diff, and the verified badge.
		b.open("/events/" + strconv.FormatInt(e.detailed, 10))
		b.do(chromedp.WaitVisible(chromedp.CSS("#verify-status.verified")))
		if n := b.count("#verify-steps li.ok"); n != 7 {
			t.Errorf("verified with %d steps shown; want 7:\n%s", n, b.text("#verify-steps"))
		}
		for _, want := range []string{"status", "paid", "refunded", "Box arrived crushed"} {
			if !strings.Contains(b.text("table.diff"), want) {
				t.Errorf("changes lack %q: %s", want, b.text("table.diff"))
			}
		}
		for _, want := range []string{"amount_cents", "4200", "currency", `{"country":"GB"}`, "Jane Roe", "cust_77", "198.51.100.23", "evt_5001"} {
			if !strings.Contains(b.text("main"), want) {
				t.Errorf("event page lacks %q", want)
			}
		}
		b.shoot("event")
		b.shoot("event-changes", "changes-h")
		b.do(chromedp.Evaluate[chromedp.Void](`scrollTo(0, 0)`))

		// The same code checks the vectors of docs/verification.md.
		if got := eval[string](b, verifyVectors); got != "ok" {
			t.Errorf("verification vectors: %s", got)
		}
		// A changed field, or a leaf hash that is not the event's, fails
		// the check, visibly.
		b.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("leaf").dataset.details = btoa("Refunded $4.20 on order #5001")`),
			chromedp.Click(chromedp.ID("verify-again")),
			chromedp.WaitVisible(chromedp.CSS("#verify-status.failed")))
		if got := b.text("#verify-status"); !strings.Contains(got, "commitment") {
			t.Errorf("a changed detail: %q", got)
		}
		b.do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#verify-status.verified")),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("verify").dataset.leafHash = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="`),
			chromedp.Click(chromedp.ID("verify-again")),
			chromedp.WaitVisible(chromedp.CSS("#verify-status.failed")))

		// The actor link lists the actor's other events.
		b.open("/events/" + strconv.FormatInt(e.detailed-1, 10))
		b.do(chromedp.WaitVisible(chromedp.CSS("#verify-status.verified")))
		b.follow(`a[href^="/events?user_id="]`)
		if p := b.path(); !strings.HasPrefix(p, "/events?user_id=") || b.count("tbody tr") == 0 {
			t.Errorf("the actor's events: %s with %d rows", p, b.count("tbody tr"))
		}

		// The dashboard: charts drawn on the server, numbers as tables,
		// every top value a link to its events.
		b.open("/dashboard?range=30d")
		if n := b.count("svg.chart .bar"); n < 30 {
			t.Errorf("the 30-day chart has %d bars", n)
		}
		if n := b.count("#top-actions-h ~ table tbody a"); n == 0 {
			t.Error("no top actions")
		}
		b.shoot("dashboard")
		action := b.text("#top-actions-h ~ table tbody a.action")
		b.follow("#top-actions-h ~ table tbody a.action")
		if p := b.path(); !strings.HasPrefix(p, "/events?action=") || b.count("tbody tr") == 0 {
			t.Errorf("top action %q: %s with %d rows", action, p, b.count("tbody tr"))
		}

		// The chat page: a question through the form (no script needed),
		// its search opens the explorer, its citation the event page,
		// where the badge verifies the event.
		b.open("/chat")
		b.do(chromedp.SendKeys(chromedp.ID("chat-message"), "Top 5 actors this month"))
		b.follow("form.chat-form button[type=submit]")
		b.do(chromedp.SendKeys(chromedp.ID("chat-message"), "Who refunded order 5001?"))
		b.follow("form.chat-form button[type=submit]")
		if p := b.path(); !strings.HasPrefix(p, "/chat?c=") || b.count("li.turn") != 2 {
			t.Errorf("after two questions: %s with %d turns", p, b.count("li.turn"))
		}
		if got := b.text("#latest .answer"); !strings.Contains(got, "jane@example.net") {
			t.Errorf("the refund's answer: %q", got)
		}
		b.shoot("chat", "latest")
		b.do(chromedp.Evaluate[chromedp.Void](`scrollTo(0, 0)`))
		chatPage := b.path()
		b.follow("#latest a.search-link")
		if p := b.path(); !strings.HasPrefix(p, "/events?q=") || b.count(`tbody a[href="/events/`+strconv.FormatInt(e.detailed, 10)+`"]`) == 0 {
			t.Errorf("the answer's search: %s does not list the refund", p)
		}
		b.open(chatPage)
		b.follow("#latest a.citation")
		if p := b.path(); p != "/events/"+strconv.FormatInt(e.detailed, 10) {
			t.Errorf("the citation opened %s; want the refund's event page", p)
		}
		b.do(chromedp.WaitVisible(chromedp.CSS("#verify-status.verified")))

		// People.
		b.open("/people")
		if n := b.count("table.people-table tbody tr"); n != len(audit.Roles) {
			t.Errorf("people: %d rows; want %d", n, len(audit.Roles))
		}
		b.allowed = append(b.allowed, "status of 400") // the form comes back with its error
		b.do(chromedp.SendKeys(chromedp.ID("new-email"), "not-an-email"), chromedp.SendKeys(chromedp.ID("new-password"), "Correct-horse-battery-9"))
		b.follow(".form-card button[type=submit]")
		if !strings.Contains(b.text("#email-error"), "email") {
			t.Errorf("a bad email shows %q next to the field", b.text("#email-error"))
		}
		b.shoot("people")

		// API keys: create, see the secret once, revoke.
		b.open("/keys")
		b.do(chromedp.SendKeys(chromedp.ID("key-name"), "warehouse-sync"))
		b.follow(".form-card button[type=submit]")
		secret := eval[string](b, `document.getElementById("new-key").value`)
		if !strings.HasPrefix(secret, "alk_") {
			t.Errorf("new key %q", secret)
		}
		b.do(chromedp.Click(chromedp.CSS("button[data-copy]")))
		b.shoot("keys")
		b.open("/keys")
		if strings.Contains(b.text("main"), secret) {
			t.Error("the secret shows again")
		}
		b.follow(`tr:has(td[data-label=Name]) button.danger`)
		if !strings.Contains(b.text(".notice"), "revoked") {
			t.Errorf("after revoking: %q", b.text(".notice"))
		}
		b.open("/account")
		if b.count(`form[action="/account/security"]`) != 1 || b.count("pre.raw") != 1 {
			t.Error("the owner's account page lacks the MFA policy form or the checkpoint")
		}
		b.shoot("account")

		// The account's settings pages, each linked from the account page.
		b.follow(`a[href="/account/alerts"]`)
		if cur := b.text(`header nav a[aria-current="page"]`); cur != "Account" {
			t.Errorf("on the alert rules page the current nav entry is %q", cur)
		}
		b.follow(`form:has(input[value="failed_logins"]) button[type=submit]`)
		if b.count("table.rules-table tbody tr") != 1 || !strings.Contains(b.text(".notice"), "created") {
			t.Errorf("after turning on a suggested rule: %d rules, %q", b.count("table.rules-table tbody tr"), b.text(".notice"))
		}
		b.shoot("alerts")
		b.open("/account/streams")
		b.do(chromedp.SendKeys(chromedp.ID("stream-name"), "SIEM webhook"), chromedp.SendKeys(chromedp.ID("stream-url"), "http://127.0.0.1:9/hook"))
		b.follow(`form[action="/account/streams"] button[type=submit]`)
		if b.count(`#stream-secret`) != 1 {
			t.Error("creating a webhook stream did not show its secret once")
		}
		b.shoot("streams")
		b.follow(`table a[href^="/account/streams/"]`)
		if h := b.text("h1"); h != "SIEM webhook" {
			t.Errorf("the stream's page is headed %q", h)
		}
		b.do(chromedp.SetValue(chromedp.ID("stream-name"), "SIEM"))
		b.follow(`form[action$="/edit"] button[type=submit]`)
		if name := b.text(`table a[href^="/account/streams/"]`); name != "SIEM" {
			t.Errorf("after renaming, the streams list names it %q; want SIEM", name)
		}
		b.follow(`table a[href^="/account/streams/"]`)
		b.shoot("stream")
		b.open("/account/data")
		b.do(chromedp.SendKeys(chromedp.ID("erase-subject"), "nobody@example.org"), chromedp.Click(chromedp.CSS(`input[value="email"]`)))
		b.follow(`form[action="/account/erasures"] button.danger`)
		if b.count(`input[name=confirm][value=yes]`) != 1 {
			t.Error("the erasure form did not ask for a confirmation")
		}
		b.shoot("erasure-confirm")
		b.follow(`form[action="/account/erasures"] button.danger`)
		if !strings.Contains(b.text(".notice"), "Erased: 0 events") || b.count("table.erasures-table tbody tr") != 1 {
			t.Errorf("after the erasure: %q, %d past erasures", b.text(".notice"), b.count("table.erasures-table tbody tr"))
		}
		b.shoot("data")
		b.follow(".who button")
		if p := b.path(); !strings.HasPrefix(p, "/signin") {
			t.Errorf("signed out at %s", p)
		}
	})

	t.Run("admin", func(t *testing.T) {
		b := e.tab(t, dir)
		b.signIn(audit.RoleAdmin)
		b.open("/people")
		owner := credential(audit.RoleOwner).Email
		row := eval[int](b, fmt.Sprintf(`Array.from(document.querySelectorAll("tbody tr")).filter(tr => tr.textContent.includes(%q) && tr.querySelector("form")).length`, owner))
		if row != 0 {
			t.Error("an admin sees controls on the owner's row")
		}
		b.open("/account")
		if b.count(`form[action="/account/security"]`) != 0 {
			t.Error("an admin sees the MFA policy form")
		}

		// Two-factor enrolment: password, QR code and key, the first
		// code (computed here from the key, as an authenticator app
		// does), the recovery codes once.
		b.follow(`a[href="/account/mfa"]`)
		b.shoot("mfa-off")
		b.do(chromedp.SendKeys(chromedp.ID("password"), credential(audit.RoleAdmin).Password))
		b.follow(`form[action="/account/mfa/setup"] button[type=submit]`)
		if w := eval[int](b, `document.querySelector("img.qr").naturalWidth`); w < 100 {
			t.Errorf("the QR code is %d pixels wide", w)
		}
		key := eval[string](b, `document.getElementById("mfa-secret").value`)
		secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key)
		if err != nil {
			t.Fatalf("the key %q: %v", key, err)
		}
		b.shoot("mfa-setup")
		b.do(chromedp.SendKeys(chromedp.ID("code"), totp.Code(secret, totp.Step(time.Now()), totp.Digits)))
		b.follow(`form[action="/account/mfa/confirm"] button[type=submit]`)
		if n := len(strings.Fields(eval[string](b, `document.getElementById("recovery-codes").value`))); n != 10 {
			t.Errorf("%d recovery codes shown; want 10", n)
		}
		b.do(chromedp.Click(chromedp.CSS(`button[data-copy="recovery-codes"]`)))
		b.shoot("mfa-recovery")
		b.open("/account/mfa")
		if b.count(`form[action="/account/mfa/disable"]`) != 1 {
			t.Error("with MFA on, the page does not offer to turn it off")
		}

		// The password page: the app's rule next to its field.
		b.allowed = append(b.allowed, "status of 400")
		b.open("/account/password")
		b.do(chromedp.SendKeys(chromedp.ID("current-password"), credential(audit.RoleAdmin).Password), chromedp.SendKeys(chromedp.ID("new-password"), "short"))
		b.follow(`form[action="/account/password"] button[type=submit]`)
		if !strings.Contains(b.text("#new-password-error"), "at least") {
			t.Errorf("a short password shows %q next to the field", b.text("#new-password-error"))
		}
		if focused := eval[string](b, `document.activeElement.id`); focused != "new-password" {
			t.Errorf("focus on %q after the error; want the new password", focused)
		}
		b.shoot("password")
	})

	for _, role := range []audit.Role{audit.RoleAnalyst, audit.RoleContentCreator} {
		t.Run(string(role), func(t *testing.T) {
			b := e.tab(t, dir)
			b.allowed = []string{"status of 403"}
			b.signIn(role)
			if p := b.path(); p != "/account" {
				t.Errorf("%s lands on %s; want /account", role, p)
			}
			nav := eval[[]string](b, `Array.from(document.querySelectorAll("header nav a"), a => a.textContent)`)
			if len(nav) != 1 || nav[0] != "Account" {
				t.Errorf("%s's navigation: %q; want only Account", role, nav)
			}
			if b.count("pre.raw") != 0 {
				t.Errorf("%s sees the checkpoint", role)
			}
			if role == audit.RoleAnalyst {
				b.shoot("account-analyst")
			}
			for _, path := range []string{"/events", "/dashboard", "/chat", "/people", "/keys", "/events/" + strconv.FormatInt(e.detailed, 10)} {
				b.open(path)
				if h := b.text("h1"); h != "Not allowed" {
					t.Errorf("%s opens %s: %q; want the refusal", role, path, h)
				}
			}
			if role == audit.RoleAnalyst {
				b.shoot("refused")
			}
		})
	}
}

// verifyVectors runs verify.js's checks on the test vectors of
// docs/verification.md and returns "ok" or what failed.
const verifyVectors = `(async () => {
  const V = window.AuditlogVerify;
  const hex = (s) => Uint8Array.from(s.match(/../g), (h) => parseInt(h, 16));
  const key = await V.parseVerifierKey("vectors.auditlog.example+af8b3d3f+AbcENn+4NjuPY1XxLuOV/6g+h9KS/HuELk6pCJXGxAEd");
  const note = "vectors.auditlog.example/accounts/42\n5\nOhQTumCteblgc+zslXtONEa1NxDl3qpxgRjAHORig6o=\n\n" +
    "\u2014 vectors.auditlog.example r4s9P/7IwyzMyDNchYL7VeiNRrnZJP+XJzM6yMIbS8qBJP4NPUVo5ogZejVuKQWhgQx/gvrgtIFC7KOrXtJ+l3KvXwA=\n";
  const cp = await V.openNote(note, key);
  if (cp.origin !== "vectors.auditlog.example/accounts/42" || cp.size !== 5) return "checkpoint " + JSON.stringify(cp);
  const path = ["ce897c679c384b171c57fa455cdc4bd6b12c464fe4726d2273901d1c8d9cff82",
    "a67bd87169b32e145c9fc128883c9faf73b4159c85c7a482d75550cec0ca8e10",
    "547c6ea37182e695969314f1b9a58fd3d00ae0919a1dc84f4f8c94cf5843ad4a"].map(hex);
  const root = await V.rootFromInclusion(2, 5, hex("8df5d25e7dd3ac94494dfee6c5edee2d4fc554d1d9dee3152a00b0b6a6b09188"), path);
  if (V.toHex(root) !== "3a1413ba60ad79b96073ecec957b4e3446b53710e5deaa718118c01ce46283aa") return "root " + V.toHex(root);
  if (V.toHex(cp.root) !== V.toHex(root)) return "the checkpoint's root is not the proof's";
  const leaf3 = {accountId: "42", seq: "3", createdAt: String(Date.UTC(2024, 0, 1, 12, 2, 0) * 1000 + 246912),
    occurredAt: String(Date.UTC(2024, 0, 1, 11, 58, 30) * 1000), userId: "0", actorType: "api_key", eventId: "evt_5001",
    action: "order.refunded", resourceType: "order", resourceId: "5001", outcome: "success", actorId: "al_3f9c2a1b",
    actorEmail: "", actorName: "checkout-service", ipAddress: "", userAgent: "", details: "Refunded $42.00 on order #5001",
    metadata: '{"amount_cents":4200,"currency":"USD"}', changes: '[{"field":"status","old":"paid","new":"refunded"}]'};
  const c3 = await V.commit(leaf3, new Uint8Array(32).fill(3));
  if (V.toHex(c3) !== "e7a24462348e6632e5ffd0bd762af8a391fd415f6e26af5ae594f734a2d6095a") return "commitment " + V.toHex(c3);
  const h3 = await V.leafHash(leaf3, c3, 1);
  if (V.toHex(h3) !== "8df5d25e7dd3ac94494dfee6c5edee2d4fc554d1d9dee3152a00b0b6a6b09188") return "leaf hash " + V.toHex(h3);
  const h3v2 = await V.leafHash(leaf3, c3);
  if (V.toHex(h3v2) !== "97a124781df14c5747bd2968df00f8e0c9dd8d08869a5b874eb6996262c7c739") return "version 2 leaf hash " + V.toHex(h3v2);
  try {
    await V.openNote(note.replace("\n5\n", "\n6\n"), key);
    return "a changed note verified";
  } catch (e) { /* want */ }
  return "ok";
})()`
