package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/auditlog/auditlog/internal/audit"
)

// TestBrowserLive turns the explorer's live toggle on, records events
// through the API with a key and sees them arrive at the top of the list,
// announced to screen readers; turned off, it misses nothing recorded
// meanwhile once turned on again; a tail that overflows its queue (a
// small one here) resumes and still shows every event once.
func TestBrowserLive(t *testing.T) {
	browser(t)
	liveBuffer = 4
	e := newTestEnv(t)
	liveBuffer = 0
	b := e.tab(t, t.TempDir())
	b.signIn(audit.RoleOwner)
	b.open("/events?q=" + "action:order.*")
	before := b.count("table.events-table tbody tr")
	if b.count("#live:not([hidden]) button#live-toggle[aria-pressed=false]") != 1 {
		t.Fatal("no live toggle on the explorer")
	}
	b.do(chromedp.Click(chromedp.ID("live-toggle")), chromedp.WaitVisible(chromedp.CSS("#live.on")))
	if got := eval[string](b, `document.getElementById("live-toggle").getAttribute("aria-pressed")`); got != "true" {
		t.Errorf("live on: aria-pressed %q", got)
	}

	record := func(action string, n int) {
		t.Helper()
		var events []string
		for i := range n {
			events = append(events, fmt.Sprintf(`{"action":%q,"resource_type":"order","resource_id":"%d","actor":{"type":"customer","id":"cust_%d","name":"Live Tester"},"outcome":"success"}`, action, 9000+i, i))
		}
		var out struct{}
		e.ingest("/api/audit-logs/batch", `{"events":[`+strings.Join(events, ",")+`]}`, &out)
	}
	// arrived waits until want rows arrived live, and returns their actions, top first.
	arrived := func(want int) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for b.count("tr.arrived") < want && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		return eval[[]string](b, `Array.from(document.querySelectorAll("tr.arrived a.action"), a => a.textContent)`)
	}

	record("order.refunded", 1)
	record("user_login", 1) // not selected by the search
	if got := arrived(1); len(got) != 1 || got[0] != "order.refunded" {
		t.Fatalf("live rows %q; want the one order.refunded", got)
	}
	if first := b.text("table.events-table tbody tr:first-child a.action"); first != "order.refunded" {
		t.Errorf("the new event is not at the top: %q", first)
	}
	if title := eval[string](b, `document.querySelector("tr.arrived time").title`); !strings.HasSuffix(title, " UTC") {
		t.Errorf("the new row's time title %q; want its UTC value", title)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.text("#live-news"), "order.refunded") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := b.text("#live-news"); !strings.Contains(got, "New event: order.refunded") {
		t.Errorf("aria-live announcement %q", got)
	}
	b.shoot("events-live")

	// Off: events recorded meanwhile show once it is on again.
	b.do(chromedp.Click(chromedp.ID("live-toggle")))
	if b.count("#live.on") != 0 || !strings.Contains(b.text("#live-state"), "Paused") {
		t.Errorf("toggled off: %q", b.text("#live-state"))
	}
	record("order.shipped", 2)
	time.Sleep(500 * time.Millisecond)
	if n := b.count("tr.arrived"); n != 1 {
		t.Errorf("paused, %d rows arrived; want none more", n-1)
	}
	b.do(chromedp.Click(chromedp.ID("live-toggle")), chromedp.WaitVisible(chromedp.CSS("#live.on")))
	if got := arrived(3); len(got) != 3 || got[0] != "order.shipped" || got[1] != "order.shipped" || got[2] != "order.refunded" {
		t.Errorf("after resuming: %q; want the two shipped, then the refund", got)
	}

	// A burst larger than the tail's queue: the server closes it (4000),
	// the page resumes from the last event it got, and shows each once.
	record("order.created", 12)
	if got := arrived(15); len(got) != 15 {
		t.Errorf("after an overflow: %d live rows; want 15", len(got))
	}
	time.Sleep(300 * time.Millisecond)
	if n := b.count("tr.arrived"); n != 15 {
		t.Errorf("after an overflow: %d live rows; want each of 15 once", n)
	}
	if n := eval[string](b, `document.getElementById("live").dataset.overflows || "0"`); n == "0" {
		t.Error("the burst did not overflow the tail's queue: the resume after 4000 was not tested")
	}
	if b.count("#live.on") != 1 {
		t.Errorf("after an overflow the live state is %q", b.text("#live-state"))
	}
	if total := b.count("table.events-table tbody tr"); total != before+15 {
		t.Errorf("%d rows; want %d and the 15 live ones", total, before)
	}
}
