package web

import (
	"strconv"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/auditlog/auditlog/internal/audit"
)

// TestBrowserPages opens every page as the owner at 375 px wide and
// checks what every page must do: nothing wider than the screen, a label
// for every control, one skip link to main, the current page marked in the
// navigation, and every time shown with its UTC value on hover.
func TestBrowserPages(t *testing.T) {
	browser(t)
	e := newTestEnv(t)
	b := e.tab(t, t.TempDir())
	b.signIn(audit.RoleOwner)
	// A viewer in Tokyo: every time shows in their zone, UTC on hover.
	b.do(chromedp.EmulateViewport(375, 800, chromedp.EmulateMobile))
	if _, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/events", "/events/" + strconv.FormatInt(e.detailed, 10), "/dashboard", "/chat", "/people", "/keys",
		"/account", "/account/mfa", "/account/password", "/account/streams", "/account/alerts", "/account/data"} {
		b.open(path)
		if w := eval[int](b, `document.documentElement.scrollWidth`); w > 375 {
			t.Errorf("%s is %d px wide at 375 px", path, w)
		}
		unlabelled := eval[[]string](b, `Array.from(document.querySelectorAll("input:not([type=hidden]):not([hidden]), select, textarea"))
			.filter(el => el.labels.length === 0 && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"))
			.map(el => el.outerHTML)`)
		for _, u := range unlabelled {
			t.Errorf("%s: a control without a label: %s", path, u)
		}
		if n := b.count(`a.skip[href="#main"]`); n != 1 || b.count("main#main") != 1 {
			t.Errorf("%s: %d skip links", path, n)
		}
		if b.count(`header nav a[aria-current="page"]`) != 1 {
			t.Errorf("%s: no navigation entry is the current page", path)
		}
		bad := eval[[]string](b, `Array.from(document.querySelectorAll("time[datetime]")).filter(el => !/ UTC$/.test(el.title) || el.textContent === el.title || /UTC/.test(el.textContent)).map(el => el.outerHTML)`)
		for _, x := range bad {
			t.Errorf("%s: a time not in the viewer's zone with UTC on hover: %s", path, x)
		}
	}
}
