package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/auditlog/auditlog/internal/audit"
)

// Chat conversations (migration 0008): each user's own, with their turns.
// Every statement names the account, and the user where a conversation is
// read, so no user reads another's conversations.

const chatConversationColumns = `id, account_id, user_id, title, created_at, updated_at`

func scanChatConversation(s scanner) (*audit.ChatConversation, error) {
	c := &audit.ChatConversation{}
	err := s.Scan(&c.ID, &c.AccountID, &c.UserID, &c.Title, timeValue{&c.CreatedAt}, timeValue{&c.UpdatedAt})
	return c, err
}

// CreateChatConversation stores a new conversation and sets its ID and
// times.
func (tx *Tx) CreateChatConversation(ctx context.Context, c *audit.ChatConversation) error {
	c.CreatedAt, c.UpdatedAt = tx.now, tx.now
	id, err := tx.insert(ctx, `INSERT INTO chat_conversations (account_id, user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		c.AccountID, c.UserID, c.Title, tx.db.t(tx.now), tx.db.t(tx.now))
	if err != nil {
		return tx.db.wrap(err, "insert chat conversation")
	}
	c.ID = id
	return nil
}

// TouchChatConversation marks the user's conversation as updated now and
// returns it, or audit.ErrNotFound when the account's user has no such
// conversation.
func (tx *Tx) TouchChatConversation(ctx context.Context, accountID, userID, id int64) (*audit.ChatConversation, error) {
	if _, err := tx.exec(ctx, `UPDATE chat_conversations SET updated_at = ? WHERE account_id = ? AND user_id = ? AND id = ?`,
		tx.db.t(tx.now), accountID, userID, id); err != nil {
		return nil, tx.db.wrap(err, "touch chat conversation")
	}
	c, err := scanChatConversation(tx.queryRow(ctx, `SELECT `+chatConversationColumns+` FROM chat_conversations WHERE account_id = ? AND user_id = ? AND id = ?`, accountID, userID, id))
	return c, tx.db.wrap(err, "select chat conversation")
}

// AddChatTurn stores a turn of a conversation and sets its ID and time.
func (tx *Tx) AddChatTurn(ctx context.Context, t *audit.ChatTurn) error {
	t.CreatedAt = tx.now
	cited, err := json.Marshal(t.Cited)
	if err != nil {
		return fmt.Errorf("sqlstore: encode citations: %w", err)
	}
	if t.Cited == nil {
		cited = []byte("[]")
	}
	id, err := tx.insert(ctx, `INSERT INTO chat_turns (account_id, conversation_id, question, answer, search, plan, cited, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.AccountID, t.ConversationID, t.Question, t.Answer, t.Search, string(t.Plan), string(cited), tx.db.t(tx.now))
	if err != nil {
		return tx.db.wrap(err, "insert chat turn")
	}
	t.ID = id
	return nil
}

// DeleteChatConversation deletes the user's conversation and its turns,
// or returns audit.ErrNotFound when the account's user has no such
// conversation.
func (tx *Tx) DeleteChatConversation(ctx context.Context, accountID, userID, id int64) error {
	if _, err := scanChatConversation(tx.queryRow(ctx, `SELECT `+chatConversationColumns+` FROM chat_conversations WHERE account_id = ? AND user_id = ? AND id = ?`, accountID, userID, id)); err != nil {
		return tx.db.wrap(err, "select chat conversation")
	}
	if _, err := tx.exec(ctx, `DELETE FROM chat_turns WHERE account_id = ? AND conversation_id = ?`, accountID, id); err != nil {
		return tx.db.wrap(err, "delete chat turns")
	}
	_, err := tx.exec(ctx, `DELETE FROM chat_conversations WHERE account_id = ? AND user_id = ? AND id = ?`, accountID, userID, id)
	return tx.db.wrap(err, "delete chat conversation")
}

// ChatConversations returns the user's conversations, the most recently
// created first, at most limit.
func (db *DB) ChatConversations(ctx context.Context, accountID, userID int64, limit int) ([]*audit.ChatConversation, error) {
	rows, err := db.rd.query(ctx, `SELECT `+chatConversationColumns+` FROM chat_conversations WHERE account_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?`,
		accountID, userID, limit)
	if err != nil {
		return nil, db.wrap(err, "select chat conversations")
	}
	defer rows.Close()
	out := []*audit.ChatConversation{}
	for rows.Next() {
		c, err := scanChatConversation(rows)
		if err != nil {
			return nil, db.wrap(err, "scan chat conversation")
		}
		out = append(out, c)
	}
	return out, db.wrap(rows.Err(), "select chat conversations")
}

// ChatConversation returns the user's conversation with its turns, oldest
// first (at most limit, the newest ones), or audit.ErrNotFound.
func (db *DB) ChatConversation(ctx context.Context, accountID, userID, id int64, limit int) (*audit.ChatConversation, []*audit.ChatTurn, error) {
	c, err := scanChatConversation(db.rd.queryRow(ctx, `SELECT `+chatConversationColumns+` FROM chat_conversations WHERE account_id = ? AND user_id = ? AND id = ?`, accountID, userID, id))
	if err != nil {
		return nil, nil, db.wrap(err, "select chat conversation")
	}
	rows, err := db.rd.query(ctx, `SELECT id, account_id, conversation_id, question, answer, search, plan, cited, created_at
		FROM chat_turns WHERE account_id = ? AND conversation_id = ? ORDER BY id DESC LIMIT ?`, accountID, id, limit)
	if err != nil {
		return nil, nil, db.wrap(err, "select chat turns")
	}
	defer rows.Close()
	var turns []*audit.ChatTurn
	for rows.Next() {
		t := &audit.ChatTurn{}
		var plan, cited string
		if err := rows.Scan(&t.ID, &t.AccountID, &t.ConversationID, &t.Question, &t.Answer, &t.Search, &plan, &cited, timeValue{&t.CreatedAt}); err != nil {
			return nil, nil, db.wrap(err, "scan chat turn")
		}
		t.Plan = []byte(plan)
		if err := json.Unmarshal([]byte(cited), &t.Cited); err != nil {
			return nil, nil, fmt.Errorf("sqlstore: chat turn %d citations: %w", t.ID, err)
		}
		turns = append(turns, t)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, db.wrap(err, "select chat turns")
	}
	for i, j := 0, len(turns)-1; i < j; i, j = i+1, j-1 {
		turns[i], turns[j] = turns[j], turns[i]
	}
	return c, turns, nil
}
