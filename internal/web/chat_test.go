package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ratelimit"
)

// conversationLocation reads the conversation id of an answer's redirect.
var conversationLocation = regexp.MustCompile(`^/chat\?c=([0-9]+)#latest$`)

// ask posts a question as c and returns the conversation it went to.
func (c *browserClient) ask(message, conversation string) string {
	c.e.t.Helper()
	form := url.Values{"message": {message}, "timezone": {"UTC"}}
	if conversation != "" {
		form.Set("conversation", conversation)
	}
	got := c.post("/chat", form)
	m := conversationLocation.FindStringSubmatch(got.header.Get("Location"))
	if got.status != http.StatusSeeOther || m == nil {
		c.e.t.Fatalf("ask %q: %d to %q\n%s", message, got.status, got.header.Get("Location"), got.body)
	}
	return m[1]
}

// TestChatPage asks through the console's form and checks the page: the
// answer, the search as an explorer link, each citation as a link to its
// event page, follow-ups in the same conversation, and deletion.
func TestChatPage(t *testing.T) {
	e := newTestEnv(t)
	owner := e.client()
	owner.signIn(audit.RoleOwner)
	event := "/events/" + strconv.FormatInt(e.detailed, 10)

	empty := owner.get("/chat")
	if empty.status != http.StatusOK || !strings.Contains(empty.body, "No questions yet.") || !strings.Contains(empty.body, `<a href="/chat" aria-current="page">Chat</a>`) {
		t.Fatalf("GET /chat: %d\n%s", empty.status, empty.body)
	}

	conv := owner.ask("Who refunded order 5001?", "")
	page := owner.get("/chat?c=" + conv)
	if page.status != http.StatusOK {
		t.Fatalf("GET /chat?c=%s: %d\n%s", conv, page.status, page.body)
	}
	q := "action:order.refunded,order_refunded resource:order:5001"
	page.body = strings.ReplaceAll(page.body, "&#43;", "+") // html/template's escape of + in attributes
	for _, want := range []string{
		"Who refunded order 5001?",                       // the question
		"jane@example.net",                               // the answer names the actor
		`href="/events?q=` + url.QueryEscape(q) + `"`,    // the search, in the explorer
		`<a class="citation" href="` + event + `">event`, // the citation, to its event page
		`<input type="hidden" name="conversation" value="` + conv + `">`,
		`<a href="/chat?c=` + conv + `" aria-current="page">Who refunded order 5001?</a>`, // listed
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("conversation page lacks %q\n%s", want, page.body)
		}
	}
	// The links lead where they say: the explorer runs the search and
	// lists the event; the event page carries the verified badge.
	if ex := owner.get("/events?q=" + url.QueryEscape(q)); ex.status != http.StatusOK || !strings.Contains(ex.body, `href="`+event+`"`) {
		t.Errorf("explorer link: %d, event link present %t", ex.status, strings.Contains(ex.body, event))
	}
	if ev := owner.get(event); ev.status != http.StatusOK || !strings.Contains(ev.body, `id="verify-status"`) {
		t.Errorf("citation link: %d", ev.status)
	}

	// A follow-up stays in the conversation and keeps its zone.
	if again := owner.ask("how many?", conv); again != conv {
		t.Errorf("follow-up went to conversation %s; want %s", again, conv)
	}
	page = owner.get("/chat?c=" + conv)
	if strings.Count(page.body, `class="turn"`) != 2 || !strings.Contains(page.body, `id="latest"`) {
		t.Errorf("after a follow-up: want 2 turns and the latest marked\n%s", page.body)
	}
	// Past the time zone: a chosen zone is kept for the next question.
	tz := owner.post("/chat", url.Values{"message": {"How many failed logins yesterday?"}, "timezone": {"Europe/Paris"}})
	if tz.status != http.StatusSeeOther {
		t.Fatalf("ask in Europe/Paris: %d", tz.status)
	}
	if p := owner.get(tz.header.Get("Location")); !strings.Contains(p.body, `<option value="Europe/Paris" selected>`) || !strings.Contains(p.body, "times in Europe/Paris") {
		t.Errorf("the conversation's zone is not kept on its page\n%s", p.body)
	}

	// Deleting takes the conversation away; its chat.query events stay.
	del := owner.post("/chat/"+conv+"/delete", url.Values{})
	if del.status != http.StatusSeeOther || del.header.Get("Location") != "/chat?done=chat-deleted" {
		t.Fatalf("delete: %d to %q", del.status, del.header.Get("Location"))
	}
	if got := owner.get("/chat?c=" + conv); got.status != http.StatusNotFound {
		t.Errorf("deleted conversation: %d; want 404", got.status)
	}
	if list := owner.get("/chat?done=chat-deleted"); strings.Contains(list.body, "/chat?c="+conv+`"`) || !strings.Contains(list.body, "The conversation was deleted.") {
		t.Errorf("the list still shows the deleted conversation\n%s", list.body)
	}
	if got := owner.post("/chat/"+conv+"/delete", url.Values{}); got.status != http.StatusNotFound {
		t.Errorf("deleting twice: %d; want 404", got.status)
	}
}

// TestChatFormErrors sends bad questions: each comes back on the form with
// the app's message and status, and nothing is kept.
func TestChatFormErrors(t *testing.T) {
	e := newTestEnv(t)
	owner := e.client()
	owner.signIn(audit.RoleOwner)
	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"empty", url.Values{"message": {"  "}}, http.StatusBadRequest, `id="message-error"`},
		{"too long", url.Values{"message": {strings.Repeat("a", 1001)}}, http.StatusBadRequest, `id="message-error"`},
		{"bad zone", url.Values{"message": {"How many failed logins yesterday?"}, "timezone": {"Mars/Olympus"}}, http.StatusBadRequest, `id="timezone-error"`},
		{"bad conversation", url.Values{"message": {"hi"}, "conversation": {"abc"}}, http.StatusNotFound, "Conversation not found."},
		{"unknown conversation", url.Values{"message": {"hi"}, "conversation": {"999999"}}, http.StatusNotFound, "Conversation not found."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := owner.post("/chat", tt.form)
			if got.status != tt.status || !strings.Contains(got.body, tt.want) {
				t.Errorf("%d; want %d with %q\n%s", got.status, tt.status, tt.want, got.body)
			}
		})
	}
	convs, err := e.app.ChatConversations(context.Background(), e.principal(audit.RoleOwner))
	if err != nil || len(convs) != 0 {
		t.Errorf("refused questions kept %d conversations (%v)", len(convs), err)
	}
}

// TestChatIsolation checks that a conversation is its owner's alone: not
// another user's of the same account, not another account's.
func TestChatIsolation(t *testing.T) {
	e := newTestEnv(t)
	owner := e.client()
	owner.signIn(audit.RoleOwner)
	conv := owner.ask("Who refunded order 5001?", "")

	ctx := context.Background()
	cl := app.NewClient("127.0.0.1", "test")
	if _, _, err := e.app.CreateAccount(ctx, cl, app.NewAccount{Name: "Other", Domain: "other.example", OwnerEmail: "boss@other.example",
		OwnerPassword: "Long-enough-pass-1", OwnerFirstName: "Bo", OwnerLastName: "Ss"}); err != nil {
		t.Fatal(err)
	}
	other := e.client()
	if got := other.post("/signin", url.Values{"email": {"boss@other.example"}, "password": {"Long-enough-pass-1"}}); got.status != http.StatusSeeOther {
		t.Fatalf("sign in to the other account: %d", got.status)
	}
	admin := e.client()
	admin.signIn(audit.RoleAdmin)

	for name, c := range map[string]*browserClient{"admin of the same account": admin, "owner of another account": other} {
		if got := c.get("/chat?c=" + conv); got.status != http.StatusNotFound {
			t.Errorf("%s opens the conversation: %d; want 404", name, got.status)
		}
		if got := c.get("/chat"); strings.Contains(got.body, "order 5001") {
			t.Errorf("%s sees the conversation listed", name)
		}
		if got := c.post("/chat", url.Values{"message": {"how many?"}, "conversation": {conv}}); got.status != http.StatusNotFound {
			t.Errorf("%s asks in the conversation: %d; want 404", name, got.status)
		}
		if got := c.post("/chat/"+conv+"/delete", url.Values{}); got.status != http.StatusNotFound {
			t.Errorf("%s deletes the conversation: %d; want 404", name, got.status)
		}
		// Their own question sees their own account: the other account
		// has no refund of order 5001, and cites nothing of the first.
		mine := c.ask("Who refunded order 5001?", "")
		page := c.get("/chat?c=" + mine)
		if name == "owner of another account" && (strings.Contains(page.body, "jane@example.net") || strings.Contains(page.body, `class="citation"`)) {
			t.Errorf("%s: the answer reads the sample account\n%s", name, page.body)
		}
	}
	if got := owner.get("/chat?c=" + conv); got.status != http.StatusOK {
		t.Errorf("the owner's conversation after the others tried: %d", got.status)
	}
}

// TestChatCrossOrigin refuses a question posted from another site, and
// keeps nothing.
func TestChatCrossOrigin(t *testing.T) {
	e := newTestEnv(t)
	c := e.client()
	c.signIn(audit.RoleOwner)
	for _, path := range []string{"/chat", "/chat/1/delete"} {
		req, _ := http.NewRequest("POST", e.ts.URL+path, strings.NewReader("message=Who+refunded+order+5001%3F"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d; want 403", path, resp.StatusCode)
		}
	}
	convs, err := e.app.ChatConversations(context.Background(), e.principal(audit.RoleOwner))
	if err != nil || len(convs) != 0 {
		t.Errorf("a cross-site question kept %d conversations (%v)", len(convs), err)
	}
}

// TestChatNav shows the Chat entry to the roles that may ask, only.
func TestChatNav(t *testing.T) {
	e := newTestEnv(t)
	for _, role := range audit.Roles {
		c := e.client()
		c.signIn(role)
		shown := strings.Contains(c.get("/account").body, `href="/chat"`)
		if want := role == audit.RoleOwner || role == audit.RoleAdmin; shown != want {
			t.Errorf("%s: Chat in the navigation %t; want %t", role, shown, want)
		}
	}
}

// TestChatRateLimited draws a question from the session's read bucket, as
// POST /api/chat does: past the limit the page answers 429 with
// Retry-After, and asks nothing.
func TestChatRateLimited(t *testing.T) {
	e := newTestEnv(t, func(cfg *config.Config) {
		cfg.RateLimitReads = ratelimit.Rule{Limit: 2, Period: time.Hour}
	})
	c := e.client()
	c.signIn(audit.RoleOwner)
	form := url.Values{"message": {"Who refunded order 5001?"}}
	for i, want := range []int{http.StatusSeeOther, http.StatusSeeOther, http.StatusTooManyRequests} {
		got := c.post("/chat", form)
		if got.status != want || (want == http.StatusTooManyRequests && got.header.Get("Retry-After") == "") {
			t.Errorf("question %d: %d (Retry-After %q); want %d", i+1, got.status, got.header.Get("Retry-After"), want)
		}
	}
	convs, err := e.app.ChatConversations(context.Background(), e.principal(audit.RoleOwner))
	if err != nil || len(convs) != 2 {
		t.Errorf("%d conversations kept (%v); want the 2 allowed", len(convs), err)
	}
}
