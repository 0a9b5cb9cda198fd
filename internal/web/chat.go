package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/chat"
)

// chatZones are the time zones the chat form offers for reading a
// question's times ("yesterday", "this morning"). The page has no script
// to learn the browser's zone, so the asker chooses; UTC is the default,
// as it is for POST /api/chat.
var chatZones = []string{
	"UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Warsaw",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
	"Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
}

// chatView is the body of the chat page: the user's conversations, the
// one open (if any) with its turns, and the question form.
type chatView struct {
	Conversations []*audit.ChatConversation
	Current       *audit.ChatConversation // nil: a new conversation
	Turns         []chatTurn
	Form          chatForm
	Zones         []string
	Suggestions   []string
	Done          string
}

// chatForm is the question form as sent, with the error of its field.
type chatForm struct {
	Message, Timezone string
	Field, Error      string
}

// chatTurn is one question and its answer as the page shows it.
type chatTurn struct {
	Question, Answer string
	// Search is the query-language search that answered ("" when the
	// question was not understood); ExplorerURL opens it in the explorer.
	Search, ExplorerURL string
	Aggregation, Period string
	Timezone            string
	Cited               []citedLink
	CreatedAt           time.Time
}

// citedLink is a cited event and its event page, where the verified
// badge checks it.
type citedLink struct {
	ID, Seq int64
	URL     string
}

// chatPage shows the user's conversations and, with ?c=ID, one of them
// (app.ChatConversations, app.ChatConversation).
func (c *Console) chatPage(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	v := chatView{Done: doneMessages[r.URL.Query().Get("done")]}
	id, err := conversationParam(r.URL.Query().Get("c"))
	if err != nil {
		return err
	}
	return c.renderChat(w, r, p, http.StatusOK, v, id)
}

// conversationParam reads a conversation id of the form or the URL; ""
// is a new conversation.
func conversationParam(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, app.ErrChatNotFound
	}
	return id, nil
}

// renderChat renders the chat page with conversation id open (0: none).
func (c *Console) renderChat(w http.ResponseWriter, r *http.Request, p *app.Principal, status int, v chatView, id int64) error {
	ctx := r.Context()
	convs, err := c.app.ChatConversations(ctx, p)
	if err != nil {
		return err
	}
	v.Conversations, v.Zones, v.Suggestions = convs, chatZones, chat.Suggestions
	if id != 0 {
		conv, turns, err := c.app.ChatConversation(ctx, p, id)
		if err != nil {
			return err
		}
		v.Current = conv
		for _, t := range turns {
			v.Turns = append(v.Turns, newChatTurn(t))
		}
	}
	if v.Form.Timezone == "" {
		v.Form.Timezone = "UTC"
		if n := len(v.Turns); n > 0 && v.Turns[n-1].Timezone != "" {
			v.Form.Timezone = v.Turns[n-1].Timezone
		}
	}
	if !contains(v.Zones, v.Form.Timezone) {
		v.Zones = append([]string{v.Form.Timezone}, v.Zones...)
	}
	title := "Chat"
	if v.Current != nil {
		title = v.Current.Title + " · Chat"
	}
	c.render(w, r, status, "chat", view{Title: title, Principal: p, Active: "/chat", Body: v})
	return nil
}

// newChatTurn lays out a stored turn: its search as an explorer link (the
// search carries the period as created: terms) and each citation as a
// link to its event page.
func newChatTurn(t *audit.ChatTurn) chatTurn {
	ct := chatTurn{Question: t.Question, Answer: t.Answer, Search: t.Search, CreatedAt: t.CreatedAt}
	var pl chat.Plan
	if json.Unmarshal(t.Plan, &pl) == nil {
		if ct.Search == "" {
			ct.Search = pl.Search()
		}
		if pl.Kind != chat.KindUnknown {
			ct.Aggregation = pl.Aggregation()
		}
		ct.Timezone = pl.Timezone
		if pl.Time != nil {
			ct.Period = pl.Time.Label
		}
	}
	if ct.Search != "" {
		ct.ExplorerURL = "/events?" + url.Values{"q": {ct.Search}}.Encode()
	}
	for _, e := range t.Cited {
		ct.Cited = append(ct.Cited, citedLink{ID: e.ID, Seq: e.Seq, URL: "/events/" + strconv.FormatInt(e.ID, 10)})
	}
	return ct
}

// askChat asks a question in a conversation (chat.Assistant.Ask, the
// assistant of POST /api/chat) and shows the conversation with the
// answer. A question the assistant refuses (empty, too long, a zone it
// does not know) comes back on the form.
func (c *Console) askChat(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	if err := r.ParseForm(); err != nil {
		return audit.Errorf(audit.EINVALID, "The form could not be read.")
	}
	id, err := conversationParam(r.PostForm.Get("conversation"))
	if err != nil {
		return err
	}
	// A question runs reads, so it draws from the session's read bucket
	// as POST /api/chat does (GET pages draw in authorize).
	if err := c.app.LimitReads(r.Context(), p); err != nil {
		return err
	}
	form := chatForm{Message: r.PostForm.Get("message"), Timezone: strings.TrimSpace(r.PostForm.Get("timezone"))}
	rep, err := c.chat.Ask(r.Context(), p, c.client(r), chat.Request{Message: form.Message, ConversationID: id, Timezone: form.Timezone})
	if err != nil {
		field, msg, ok := formError(err)
		if !ok {
			return err
		}
		form.Field, form.Error = field, msg
		return c.renderChat(w, r, p, statusOf(err), chatView{Form: form}, id)
	}
	http.Redirect(w, r, "/chat?c="+strconv.FormatInt(rep.ConversationID, 10)+"#latest", http.StatusSeeOther)
	return nil
}

// deleteChat deletes one of the user's conversations
// (app.DeleteChatConversation); the chat.query events stay.
func (c *Console) deleteChat(w http.ResponseWriter, r *http.Request, p *app.Principal) error {
	id, err := conversationParam(r.PathValue("id"))
	if err != nil || id == 0 {
		return app.ErrChatNotFound
	}
	if err := c.app.DeleteChatConversation(r.Context(), p, c.client(r), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/chat?done=chat-deleted", http.StatusSeeOther)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
