package audit

import "time"

// Chat actions: what the audit trail records of the chat assistant.
const (
	// ActionChatQuery records a question asked of the audit log, with the
	// search it produced.
	ActionChatQuery = "chat.query"
	// ActionChatDeleted records that a user deleted one of their chat
	// conversations.
	ActionChatDeleted = "chat.conversation_deleted"
	// ResourceChatConversation is the resource type of a conversation.
	ResourceChatConversation = "chat_conversation"
)

// ChatConversation is one user's conversation with the chat assistant:
// questions about the account's audit trail and their answers.
type ChatConversation struct {
	ID, AccountID, UserID int64
	// Title is the first question, cut to MaxChatTitle characters.
	Title                string
	CreatedAt, UpdatedAt time.Time
}

// MaxChatTitle bounds a conversation's title, in characters.
const MaxChatTitle = 200

// ChatTurn is one question of a conversation and its answer.
type ChatTurn struct {
	ID, AccountID, ConversationID int64
	Question, Answer              string
	// Search is the search in the query language that answered it ("" when
	// the question was not understood); Plan the whole plan as JSON.
	Search string
	Plan   []byte
	// Cited lists the events the answer relied on.
	Cited     []Citation
	CreatedAt time.Time
}

// Citation names an event an answer relies on: its ID and its place in the
// account's verifiable log.
type Citation struct {
	ID  int64 `json:"id"`
	Seq int64 `json:"seq"`
}
