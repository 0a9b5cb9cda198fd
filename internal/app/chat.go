package app

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// The chat assistant's conversations (package chat answers the
// questions): kept per user, read and deleted only by that user, and each
// question recorded in the audit trail as chat.query with the search it
// produced. Asking needs a signed-in user whose role may read the audit
// log (owners and admins); an API key cannot chat (it has no
// conversations), but may call the same reads through MCP.

// Chat limits.
const (
	// MaxChatMessage bounds a question, in characters.
	MaxChatMessage = 1000
	// MaxChatConversations is the most conversations a listing returns,
	// the newest first.
	MaxChatConversations = 100
	// MaxChatTurns is the most turns a conversation's reading returns,
	// the newest ones.
	MaxChatTurns = 200
)

// ErrChatNotFound means the user has no conversation with the ID: whether
// someone else has is not revealed.
var ErrChatNotFound = audit.Errorf(audit.ENOTFOUND, "Conversation not found.")

// AuthorizeChat fails unless p may ask the chat assistant: a signed-in
// user whose role reads the audit log.
func (a *App) AuthorizeChat(p *Principal) error {
	if err := p.RequireUser(); err != nil {
		return err
	}
	return p.Authorize(audit.PermViewAuditLogs)
}

// CheckChatMessage checks a question's text: not empty, valid UTF-8, at
// most MaxChatMessage characters.
func CheckChatMessage(msg string) error {
	switch {
	case !utf8.ValidString(msg):
		return audit.FieldError("message", "message must be valid UTF-8.")
	case len([]rune(msg)) > MaxChatMessage:
		return audit.FieldError("message", "message must be at most %d characters.", MaxChatMessage)
	}
	for _, r := range msg {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			return nil
		}
	}
	return audit.FieldError("message", "message is required: a question about the account's audit log.")
}

// ChatTurnInput is a question and its answer, to keep in a conversation.
type ChatTurnInput struct {
	// ConversationID continues a conversation of the user; 0 starts one.
	ConversationID int64
	Question       string
	Answer         string
	// Search is the search that answered it ("" when not understood),
	// Aggregation what was done with the matches ("count", "top:actor:5"…),
	// and Plan the whole plan as JSON.
	Search, Aggregation string
	Plan                []byte
	Cited               []audit.Citation
}

// RecordChatTurn keeps a question and its answer in p's conversation
// (starting one when in.ConversationID is 0) and records the question in
// the audit trail (chat.query, with the search), in one transaction.
func (a *App) RecordChatTurn(ctx context.Context, p *Principal, c Client, in ChatTurnInput) (*audit.ChatConversation, *audit.ChatTurn, error) {
	if err := a.AuthorizeChat(p); err != nil {
		return nil, nil, err
	}
	if err := CheckChatMessage(in.Question); err != nil {
		return nil, nil, err
	}
	var conv *audit.ChatConversation
	turn := &audit.ChatTurn{AccountID: p.AccountID, Question: in.Question, Answer: in.Answer, Search: in.Search, Plan: in.Plan, Cited: in.Cited}
	err := a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if in.ConversationID == 0 {
			conv = &audit.ChatConversation{AccountID: p.AccountID, UserID: p.User.ID, Title: cutRunes(in.Question, audit.MaxChatTitle)}
			err = tx.CreateChatConversation(ctx, conv)
		} else {
			conv, err = tx.TouchChatConversation(ctx, p.AccountID, p.User.ID, in.ConversationID)
			err = notFoundAs(err, ErrChatNotFound)
		}
		if err != nil {
			return err
		}
		turn.ConversationID = conv.ID
		if err := tx.AddChatTurn(ctx, turn); err != nil {
			return err
		}
		details := fmt.Sprintf("Asked %q: not understood, nothing searched", in.Question)
		if in.Aggregation != "unknown" {
			details = fmt.Sprintf("Asked %q: searched %q (%s)", in.Question, in.Search, in.Aggregation)
		}
		return a.record(ctx, tx, p, c, entry{
			on:     resource{audit.ResourceChatConversation, strconv.FormatInt(conv.ID, 10)},
			action: audit.ActionChatQuery, details: details,
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return conv, turn, nil
}

// ChatConversations returns p's conversations, the newest first, at most
// MaxChatConversations.
func (a *App) ChatConversations(ctx context.Context, p *Principal) ([]*audit.ChatConversation, error) {
	if err := a.AuthorizeChat(p); err != nil {
		return nil, err
	}
	return a.store.ChatConversations(ctx, p.AccountID, p.User.ID, MaxChatConversations)
}

// ChatConversation returns p's conversation with the ID and its turns
// (the newest MaxChatTurns, oldest first), or ErrChatNotFound.
func (a *App) ChatConversation(ctx context.Context, p *Principal, id int64) (*audit.ChatConversation, []*audit.ChatTurn, error) {
	if err := a.AuthorizeChat(p); err != nil {
		return nil, nil, err
	}
	c, turns, err := a.store.ChatConversation(ctx, p.AccountID, p.User.ID, id, MaxChatTurns)
	if err != nil {
		return nil, nil, notFoundAs(err, ErrChatNotFound)
	}
	return c, turns, nil
}

// DeleteChatConversation deletes p's conversation with the ID and its
// turns, and records the deletion (chat.conversation_deleted); the
// chat.query events of its questions stay in the audit trail.
func (a *App) DeleteChatConversation(ctx context.Context, p *Principal, c Client, id int64) error {
	if err := a.AuthorizeChat(p); err != nil {
		return err
	}
	return a.store.Update(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.DeleteChatConversation(ctx, p.AccountID, p.User.ID, id); err != nil {
			return notFoundAs(err, ErrChatNotFound)
		}
		return a.record(ctx, tx, p, c, entry{
			on:     resource{audit.ResourceChatConversation, strconv.FormatInt(id, 10)},
			action: audit.ActionChatDeleted, details: "Deleted a chat conversation",
		})
	})
}

// cutRunes cuts s to at most n characters.
func cutRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
