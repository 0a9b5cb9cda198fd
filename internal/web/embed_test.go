package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// mintViewer mints a viewer token as the sample owner.
func (e *testEnv) mintViewer(in app.NewViewerToken) string {
	e.t.Helper()
	if in.Origins == nil {
		in.Origins = []string{"https://admin.platform.test", "http://localhost:8080"}
	}
	token, _, err := e.app.CreateViewerToken(context.Background(), e.principal(audit.RoleOwner), app.NewClient("127.0.0.1", "test"), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return token
}

// embedClient is a frame of the embedded viewer: it keeps the session
// cookie itself (Go's cookie jar keeps Secure cookies from http sites).
type embedClient struct {
	e       *testEnv
	session string
}

func (c *embedClient) get(path string) response {
	c.e.t.Helper()
	req, _ := http.NewRequest("GET", c.e.ts.URL+path, nil)
	if c.session != "" {
		req.AddCookie(&http.Cookie{Name: embedCookie, Value: c.session})
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b.String()}
}

// open exchanges token as a frame's first load does and returns the
// frame with its session.
func (e *testEnv) open(t *testing.T, token string) *embedClient {
	t.Helper()
	c := &embedClient{e: e}
	r := c.get("/embed?token=" + url.QueryEscape(token))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/embed" {
		t.Fatalf("open: %d %s %s", r.status, r.header.Get("Location"), r.body)
	}
	var ck *http.Cookie
	for _, x := range (&http.Response{Header: r.header}).Cookies() {
		if x.Name == embedCookie {
			ck = x
		}
	}
	if ck == nil || ck.Path != "/embed" || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteNoneMode || ck.MaxAge <= 0 || !ck.Partitioned {
		t.Fatalf("session cookie %+v; want Path=/embed HttpOnly Secure SameSite=None Partitioned", ck)
	}
	c.session = ck.Value
	return c
}

// TestEmbedViewer: a token opens the viewer once, in a frame of its
// origins only, and the viewer reads nothing outside its grant by any of
// its pages.
func TestEmbedViewer(t *testing.T) {
	e := newTestEnv(t)
	owner := e.principal(audit.RoleOwner)

	token := e.mintViewer(app.NewViewerToken{Query: "action:order.refunded", Features: []string{"search", "export", "verify"},
		Theme: map[string]string{"accent": "#5b21b6", "font": "Inter, sans-serif"}})
	v := e.open(t, token)

	// The token is accepted once; a token in any later address is refused.
	replay := (&embedClient{e: e}).get("/embed?token=" + url.QueryEscape(token))
	if replay.status != http.StatusUnauthorized || !strings.Contains(replay.body, "already used") {
		t.Errorf("replay: %d\n%s", replay.status, replay.body)
	}
	if r := v.get("/embed?token=" + url.QueryEscape(token)); r.status != http.StatusUnauthorized {
		t.Errorf("a token in a later address: %d", r.status)
	}
	if r := (&embedClient{e: e}).get("/embed"); r.status != http.StatusUnauthorized {
		t.Errorf("no session: %d", r.status)
	}
	if r := (&embedClient{e: e, session: "1." + strings.Repeat("A", 43)}).get("/embed"); r.status != http.StatusUnauthorized {
		t.Errorf("a made-up session: %d", r.status)
	}

	// The list shows only the grant's events, framed by its origins only.
	list := v.get("/embed")
	if list.status != 200 {
		t.Fatalf("list: %d\n%s", list.status, list.body)
	}
	if csp := list.header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors https://admin.platform.test http://localhost:8080") ||
		list.header.Get("X-Frame-Options") != "" {
		t.Errorf("CSP %q, X-Frame-Options %q", csp, list.header.Get("X-Frame-Options"))
	}
	if !strings.Contains(list.body, "order.refunded") || strings.Contains(list.body, ">user_login<") || strings.Contains(list.body, `href="/events`) {
		t.Errorf("the list shows events outside the grant or console links:\n%s", list.body)
	}
	if strings.Contains(list.body, `class="top"`) || !strings.Contains(list.body, `href="/embed/theme.css"`) {
		t.Error("the viewer shows the console's navigation or lacks its theme")
	}

	// Searches that try to widen the grant only narrow it.
	for _, q := range []string{"OR action:user_login", "action:user_login", "-action:order.refunded", "action:user_login,order.refunded",
		`"user_login"`, "-actor:nobody", "created:>2000-01-01"} {
		r := v.get("/embed?q=" + url.QueryEscape(q))
		if r.status != 200 && r.status != 400 {
			t.Errorf("q=%s: %d", q, r.status)
		}
		if strings.Contains(r.body, ">user_login<") || strings.Contains(r.body, ">login_failed<") {
			t.Errorf("q=%s widened the grant", q)
		}
	}

	// An event outside the grant is not found by its page or its proof.
	outside := firstEvent(t, e, owner, "action:user_login")
	inside := firstEvent(t, e, owner, "action:order.refunded")
	for _, path := range []string{"/embed/events/", "/embed/proof/"} {
		if r := v.get(path + strconv.FormatInt(outside, 10)); r.status != http.StatusNotFound {
			t.Errorf("%s of an event outside the grant: %d", path, r.status)
		}
		if r := v.get(path + strconv.FormatInt(inside, 10)); r.status != 200 {
			t.Errorf("%s of an event inside the grant: %d %s", path, r.status, r.body)
		}
	}
	page := v.get("/embed/events/" + strconv.FormatInt(inside, 10))
	if !strings.Contains(page.body, `data-proof-url="/embed/proof/`) || strings.Contains(page.body, `href="/events`) {
		t.Errorf("event page:\n%s", page.body)
	}
	// Exports hold the grant's events only, in every format.
	for _, format := range []string{"csv", "ndjson"} {
		r := v.get("/embed/export?format=" + format)
		if r.status != 200 || !strings.Contains(r.body, "order.refunded") || strings.Contains(r.body, "user_login") {
			t.Errorf("export %s: %d\n%.500s", format, r.status, r.body)
		}
		// The grant AND its negation: nothing at all.
		r = v.get("/embed/export?format=" + format + "&q=" + url.QueryEscape("-action:order.refunded"))
		if r.status != 200 || strings.Contains(r.body, "user_login") || strings.Contains(r.body, `"action":`) || strings.Count(strings.TrimSpace(r.body), "\n") > 1 {
			t.Errorf("export %s with a widening search: %d\n%.500s", format, r.status, r.body)
		}
	}
	if r := v.get("/embed/export?format=pdf"); r.status != 200 || r.header.Get("Content-Type") != "application/pdf" {
		t.Errorf("export pdf: %d %s", r.status, r.header.Get("Content-Type"))
	}
	// Nothing of the console or the API takes the viewer's session.
	for _, path := range []string{"/events", "/api/audit-logs", "/api/analytics/summary", "/dashboard"} {
		r := v.get(path)
		if r.status == 200 {
			t.Errorf("%s answered the viewer's session", path)
		}
	}
	// The theme is the grant's, as CSS variables.
	if r := v.get("/embed/theme.css"); !strings.Contains(r.body, "--accent: #5b21b6;") || !strings.Contains(r.body, "font-family: Inter, sans-serif;") {
		t.Errorf("theme:\n%s", r.body)
	}

	// Opening the viewer was recorded; the account may turn that off.
	viewed := func() int64 {
		l, err := e.app.ListEvents(context.Background(), owner, app.EventQuery{Search: "action:audit_log.viewed", Page: audit.PageRequest{Page: 1, PerPage: 10}})
		if err != nil {
			t.Fatal(err)
		}
		return l.Pagination.Total
	}
	if viewed() != 1 {
		t.Errorf("audit_log.viewed recorded %d times; want 1", viewed())
	}
	if err := e.app.SetRecordViews(context.Background(), owner, app.NewClient("127.0.0.1", "test"), owner.AccountID, false); err != nil {
		t.Fatal(err)
	}
	e.open(t, e.mintViewer(app.NewViewerToken{}))
	if viewed() != 1 {
		t.Errorf("with record_views off, audit_log.viewed recorded %d times; want 1", viewed())
	}
}

// TestEmbedFeatures: a grant without features lists and reads, but has no
// search, export or badge.
func TestEmbedFeatures(t *testing.T) {
	e := newTestEnv(t)
	owner := e.principal(audit.RoleOwner)
	v := e.open(t, e.mintViewer(app.NewViewerToken{}))
	list := v.get("/embed")
	if list.status != 200 || strings.Contains(list.body, `id="q"`) || strings.Contains(list.body, "/embed/export") {
		t.Errorf("list without features: %d", list.status)
	}
	if r := v.get("/embed?q=" + url.QueryEscape("action:user_login")); r.status != 200 || strings.Contains(r.body, "match these filters") {
		t.Errorf("a search without the feature: %d", r.status)
	}
	id := firstEvent(t, e, owner, "action:user_login")
	page := v.get("/embed/events/" + strconv.FormatInt(id, 10))
	if page.status != 200 || strings.Contains(page.body, `id="verify"`) {
		t.Errorf("event page without verify: %d", page.status)
	}
	for _, path := range []string{"/embed/proof/" + strconv.FormatInt(id, 10), "/embed/export?format=csv"} {
		if r := v.get(path); r.status != http.StatusForbidden {
			t.Errorf("%s without the feature: %d", path, r.status)
		}
	}
}

// TestEmbedExpiry: a token and its session end when the token expires.
func TestEmbedExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	e := newTestEnvClock(t, clock)
	token := e.mintViewer(app.NewViewerToken{TTL: time.Minute})
	unused := e.mintViewer(app.NewViewerToken{TTL: time.Minute})
	v := e.open(t, token)
	if r := v.get("/embed"); r.status != 200 {
		t.Fatalf("before expiry: %d", r.status)
	}
	now = now.Add(2 * time.Minute)
	if r := v.get("/embed"); r.status != http.StatusUnauthorized {
		t.Errorf("session after expiry: %d", r.status)
	}
	if r := (&embedClient{e: e}).get("/embed?token=" + url.QueryEscape(unused)); r.status != http.StatusUnauthorized {
		t.Errorf("token after expiry: %d", r.status)
	}
}

// firstEvent returns the ID of the newest of the owner's events matching q.
func firstEvent(t *testing.T, e *testEnv, owner *app.Principal, q string) int64 {
	t.Helper()
	l, err := e.app.ListEvents(context.Background(), owner, app.EventQuery{Search: q, Page: audit.PageRequest{Page: 1, PerPage: 1}})
	if err != nil || len(l.Events) == 0 {
		t.Fatalf("no event for %s: %v", q, err)
	}
	return l.Events[0].ID
}
