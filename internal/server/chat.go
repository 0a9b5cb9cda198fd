package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/chat"
)

// The chat assistant's routes: POST /api/chat asks a question (package
// chat answers it through the app's reads, as the asker), and a user's
// conversations are listed, read and deleted under
// /api/chat/conversations.

type chatRequest struct {
	Message        string `json:"message"`
	ConversationID *int64 `json:"conversation_id"`
	Timezone       string `json:"timezone"`
}

// ChatQueryJSON is the search an answer ran: the query language's q (open
// it in the explorer), what was done with the matches, and the time span.
type ChatQueryJSON struct {
	Q           string `json:"q"`
	Aggregation string `json:"aggregation"`
	// Kind, Dimension, Limit and Interval say the aggregation in parts.
	Kind      string `json:"kind"`
	Dimension string `json:"dimension,omitempty"`
	Limit     int    `json:"limit,omitempty"`
	Interval  string `json:"interval,omitempty"`
	Timezone  string `json:"timezone"`
	// Period says the time span in words; "" for all time.
	Period string `json:"period,omitempty"`
	// Calls are a language model's tool calls (kind "model"), each its
	// name and arguments; q is then the last search it ran.
	Calls []string `json:"calls,omitempty"`
}

func chatQueryJSON(p *chat.Plan) ChatQueryJSON {
	j := ChatQueryJSON{Q: p.Search(), Aggregation: p.Aggregation(), Kind: p.Kind, Dimension: p.Dimension, Limit: p.Limit, Interval: p.Interval, Timezone: p.Timezone, Calls: p.Calls}
	if p.Kind != chat.KindTop {
		j.Dimension, j.Limit = "", 0
	}
	if p.Time != nil {
		j.Period = p.Time.Label
	}
	return j
}

// CitedEventJSON is an event an answer cites: the event as the listing
// shows it (with its id and seq) and where its inclusion proof is.
type CitedEventJSON struct {
	EventJSON
	Proof string `json:"proof"`
}

// ChatReplyJSON is the body of POST /api/chat.
type ChatReplyJSON struct {
	Answer         string           `json:"answer"`
	Query          ChatQueryJSON    `json:"query"`
	Events         []CitedEventJSON `json:"events"`
	ConversationID int64            `json:"conversation_id"`
}

// askChat answers a question (chat.Assistant.Ask).
func (s *Server) askChat(w http.ResponseWriter, r *http.Request) error {
	var req chatRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	in := chat.Request{Message: req.Message, Timezone: req.Timezone}
	if req.ConversationID != nil {
		if *req.ConversationID < 1 {
			return audit.FieldError("conversation_id", "conversation_id must be the id of one of your conversations; leave it out to start one.")
		}
		in.ConversationID = *req.ConversationID
	}
	rep, err := s.chat.Ask(r.Context(), principalFrom(r.Context()), s.client(r), in)
	if err != nil {
		return err
	}
	out := ChatReplyJSON{Answer: rep.Text, Query: chatQueryJSON(rep.Plan), Events: []CitedEventJSON{}, ConversationID: rep.ConversationID}
	for _, e := range rep.Events {
		out.Events = append(out.Events, CitedEventJSON{EventJSON: eventJSON(e), Proof: "/api/audit-logs/" + strconv.FormatInt(e.ID, 10) + "/proof"})
	}
	return writeJSON(w, http.StatusOK, out)
}

// ChatConversationJSON is a conversation as listed.
type ChatConversationJSON struct {
	ID        int64  `json:"id"`
	Title     string `json:"title"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func chatConversationJSON(c *audit.ChatConversation) ChatConversationJSON {
	return ChatConversationJSON{ID: c.ID, Title: c.Title, CreatedAt: formatTime(c.CreatedAt), UpdatedAt: formatTime(c.UpdatedAt)}
}

// ChatTurnJSON is one question of a conversation and its answer, with the
// search it ran and the events it cited (by id and seq).
type ChatTurnJSON struct {
	Question  string           `json:"question"`
	Answer    string           `json:"answer"`
	Query     *ChatQueryJSON   `json:"query"`
	Events    []audit.Citation `json:"events"`
	CreatedAt string           `json:"created_at"`
}

// listChatConversations lists the user's conversations, newest first.
func (s *Server) listChatConversations(w http.ResponseWriter, r *http.Request) error {
	convs, err := s.app.ChatConversations(r.Context(), principalFrom(r.Context()))
	if err != nil {
		return err
	}
	out := make([]ChatConversationJSON, len(convs))
	for i, c := range convs {
		out[i] = chatConversationJSON(c)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"conversations": out})
}

// getChatConversation shows one of the user's conversations with its
// turns.
func (s *Server) getChatConversation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrChatNotFound)
	if err != nil {
		return err
	}
	c, turns, err := s.app.ChatConversation(r.Context(), principalFrom(r.Context()), id)
	if err != nil {
		return err
	}
	out := make([]ChatTurnJSON, len(turns))
	for i, t := range turns {
		out[i] = ChatTurnJSON{Question: t.Question, Answer: t.Answer, Events: t.Cited, CreatedAt: formatTime(t.CreatedAt)}
		if out[i].Events == nil {
			out[i].Events = []audit.Citation{}
		}
		var p chat.Plan
		if json.Unmarshal(t.Plan, &p) == nil {
			q := chatQueryJSON(&p)
			out[i].Query = &q
		}
	}
	return writeJSON(w, http.StatusOK, struct {
		ChatConversationJSON
		Turns []ChatTurnJSON `json:"turns"`
	}{chatConversationJSON(c), out})
}

// deleteChatConversation deletes one of the user's conversations.
func (s *Server) deleteChatConversation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, app.ErrChatNotFound)
	if err != nil {
		return err
	}
	if err := s.app.DeleteChatConversation(r.Context(), principalFrom(r.Context()), s.client(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// serveMCP serves the Model Context Protocol's tools (package mcp) to an
// API key with events:read, as that key.
func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request) error {
	extendDeadline(w)
	s.mcp.ServeHTTP(w, r)
	return nil
}
