package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
)

// TestStreamsPage creates, tests, pauses, resumes and deletes a stream
// through the console: the field at fault shows its error, a generated
// secret shows once, a typed secret never.
func TestStreamsPage(t *testing.T) {
	var received atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		received.Add(1)
	}))
	defer receiver.Close()
	e := newTestEnv(t, func(cfg *config.Config) { cfg.StreamsAllowHTTP, cfg.StreamsAllowPrivate = true, true })
	c := e.client()
	c.signIn(audit.RoleAdmin)
	if got := c.get("/account/streams"); got.status != http.StatusOK || !strings.Contains(got.body, "No streams yet") {
		t.Fatalf("streams page: %d", got.status)
	}
	for _, tt := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no name", url.Values{"type": {"webhook"}, "url": {receiver.URL}}, "stream-name"},
		{"bad url", url.Values{"name": {"siem"}, "type": {"webhook"}, "url": {"ftp://x"}}, "stream-url"},
		{"splunk without token", url.Values{"name": {"siem"}, "type": {"splunk_hec"}, "url": {receiver.URL}}, "stream-secret-in"},
		{"unknown type", url.Values{"name": {"siem"}, "type": {"kafka"}, "url": {receiver.URL}}, "type"},
	} {
		got := c.post("/account/streams", tt.form)
		if got.status != http.StatusBadRequest || !strings.Contains(got.body, `id="`+tt.field+`-error"`) {
			t.Errorf("%s: %d; want 400 with the error next to %s\n%s", tt.name, got.status, tt.field, got.body)
		}
	}
	created := c.post("/account/streams", url.Values{"name": {"siem"}, "type": {"webhook"}, "url": {receiver.URL + "/hook"}})
	secret := regexp.MustCompile(`id="stream-secret" class="mono" value="([^"]+)"`).FindStringSubmatch(created.body)
	if created.status != http.StatusCreated || secret == nil {
		t.Fatalf("create: %d\n%s", created.status, created.body)
	}
	typed := c.post("/account/streams", url.Values{"name": {"splunk"}, "type": {"splunk_hec"}, "url": {receiver.URL + "/services/collector/event"}, "secret": {"hec-token-that-stays-secret"}})
	if typed.status != http.StatusCreated || strings.Contains(typed.body, "hec-token-that-stays-secret") || strings.Contains(typed.body, `id="stream-secret"`) {
		t.Errorf("a typed secret: %d, shown back or a secret shown\n%s", typed.status, typed.body)
	}
	page := c.get("/account/streams")
	if strings.Contains(page.body, secret[1]) || strings.Count(page.body, `<tr id="stream-`) != 2 {
		t.Errorf("the list shows a secret, or not both streams\n%s", page.body)
	}
	id := regexp.MustCompile(`action="/account/streams/(\d+)/test"`).FindStringSubmatch(page.body)[1]
	before := received.Load()
	test := c.post("/account/streams/"+id+"/test", url.Values{})
	if test.status != http.StatusOK || !strings.Contains(test.body, "accepted") || received.Load() == before {
		t.Errorf("test: %d\n%s", test.status, test.body)
	}
	for _, step := range []struct{ action, done, state string }{
		{"pause", "stream-paused", "paused"}, {"resume", "stream-resumed", "active"},
	} {
		got := c.post("/account/streams/"+id+"/"+step.action, url.Values{})
		if got.status != http.StatusSeeOther || got.header.Get("Location") != "/account/streams?done="+step.done {
			t.Errorf("%s: %d to %q", step.action, got.status, got.header.Get("Location"))
		}
		if page := c.get("/account/streams"); !strings.Contains(page.body, `<span class="tag`) || !strings.Contains(page.body, ">"+step.state+"<") {
			t.Errorf("after %s the stream is not %s", step.action, step.state)
		}
	}
	for _, bad := range []string{"/account/streams/999/pause", "/account/streams/x/delete", "/account/streams/" + id + "/explode"} {
		if got := c.post(bad, url.Values{}); got.status != http.StatusNotFound {
			t.Errorf("POST %s: %d; want 404", bad, got.status)
		}
	}
	if got := c.post("/account/streams/"+id+"/delete", url.Values{}); got.status != http.StatusSeeOther {
		t.Errorf("delete: %d", got.status)
	}
	if page := c.get("/account/streams"); strings.Count(page.body, `<tr id="stream-`) != 1 {
		t.Error("the deleted stream is still listed")
	}
}

// TestStreamEditPage edits a stream on its own page, as PATCH
// /api/streams/{id} does: the field at fault shows its error, a saved
// name and URL show, a typed secret replaces the old one and is never
// shown, an empty one keeps it; the page pauses and resumes.
func TestStreamEditPage(t *testing.T) {
	e := newTestEnv(t, func(cfg *config.Config) { cfg.StreamsAllowHTTP, cfg.StreamsAllowPrivate = true, true })
	c := e.client()
	c.signIn(audit.RoleAdmin)
	created := c.post("/account/streams", url.Values{"name": {"siem"}, "type": {"webhook"}, "url": {"http://127.0.0.1:9/hook"}})
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d\n%s", created.status, created.body)
	}
	m := regexp.MustCompile(`href="/account/streams/(\d+)">siem</a>`).FindStringSubmatch(created.body)
	if m == nil {
		t.Fatalf("the list does not link the stream's page\n%s", created.body)
	}
	path := "/account/streams/" + m[1]
	id, _ := strconv.ParseInt(m[1], 10, 64)
	p := e.principal(audit.RoleAdmin)
	sealed := func() string {
		t.Helper()
		s, err := e.app.Stream(context.Background(), p, id)
		if err != nil {
			t.Fatal(err)
		}
		return string(s.Secret)
	}
	page := c.get(path)
	if page.status != http.StatusOK || !strings.Contains(page.body, `value="siem"`) || !strings.Contains(page.body, `value="http://127.0.0.1:9/hook"`) ||
		!strings.Contains(page.body, `action="`+path+`/pause"`) {
		t.Fatalf("the stream's page: %d\n%s", page.status, page.body)
	}
	for _, tt := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"no name", url.Values{"name": {""}, "url": {"http://127.0.0.1:9/hook"}}, "stream-name"},
		{"bad url", url.Values{"name": {"siem"}, "url": {"ftp://x"}}, "stream-url"},
	} {
		got := c.post(path+"/edit", tt.form)
		if got.status != http.StatusBadRequest || !strings.Contains(got.body, `id="`+tt.field+`-error"`) {
			t.Errorf("%s: %d; want 400 with the error next to %s\n%s", tt.name, got.status, tt.field, got.body)
		}
	}
	old := sealed()
	saved := c.post(path+"/edit", url.Values{"name": {"siem 2"}, "url": {"http://127.0.0.1:9/hook2"}})
	if saved.status != http.StatusSeeOther || saved.header.Get("Location") != "/account/streams?done=stream-updated" {
		t.Fatalf("save: %d to %q\n%s", saved.status, saved.header.Get("Location"), saved.body)
	}
	if sealed() != old {
		t.Error("an empty secret changed the secret")
	}
	list := c.get("/account/streams?done=stream-updated")
	if !strings.Contains(list.body, ">siem 2</a>") || !strings.Contains(list.body, "http://127.0.0.1:9/hook2") || !strings.Contains(list.body, "The stream was saved") {
		t.Errorf("the list after the edit\n%s", list.body)
	}
	if got := c.post(path+"/edit", url.Values{"name": {"siem 2"}, "url": {"http://127.0.0.1:9/hook2"}, "secret": {"a-new-signing-secret-of-enough-length"}}); got.status != http.StatusSeeOther {
		t.Fatalf("new secret: %d\n%s", got.status, got.body)
	}
	if sealed() == old {
		t.Error("the typed secret did not replace the old one")
	}
	if page := c.get(path); strings.Contains(page.body, "a-new-signing-secret-of-enough-length") {
		t.Error("the page shows the secret")
	}
	if got := c.post(path+"/pause", url.Values{}); got.status != http.StatusSeeOther {
		t.Errorf("pause: %d", got.status)
	}
	if page := c.get(path); !strings.Contains(page.body, `action="`+path+`/resume"`) {
		t.Errorf("a paused stream's page offers no resume\n%s", page.body)
	}
	for _, bad := range []string{"/account/streams/999", "/account/streams/x"} {
		if got := c.get(bad); got.status != http.StatusNotFound {
			t.Errorf("GET %s: %d; want 404", bad, got.status)
		}
	}
	analyst := e.client()
	analyst.signIn(audit.RoleAnalyst)
	if got := analyst.get(path); got.status != http.StatusForbidden {
		t.Errorf("an analyst opens the stream's page: %d", got.status)
	}
}
