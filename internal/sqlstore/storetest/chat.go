package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// testChat holds every engine to the chat tables' rules: a conversation
// and its turns read back as written (text of any script, plans and
// citations), in order; a user reads, touches and deletes only their own
// conversations, in their own account; deleting takes the turns with it.
func testChat(t *testing.T, db *sqlstore.DB) {
	ctx := t.Context()
	now := fixedClock(db, time.Date(2026, 12, 2, 10, 30, 0, 123456789, time.UTC))
	a := newAccount(t, db, "a.example.com")
	b := newAccount(t, db, "b.example.com")
	u := newUser(t, db, a.ID, "owner@a.example.com", audit.RoleOwner)
	v := newUser(t, db, a.ID, "admin@a.example.com", audit.RoleAdmin)
	w := newUser(t, db, b.ID, "owner@b.example.com", audit.RoleOwner)

	conv := &audit.ChatConversation{AccountID: a.ID, UserID: u.ID, Title: "Qui a remboursé la commande 1042 ? ✓"}
	long := strings.Repeat("réponse ", 10000) // answers may be long
	turns := []*audit.ChatTurn{
		{Question: conv.Title, Answer: "1 actor: jane", Search: "action:order.refunded resource:order:1042", Plan: []byte(`{"kind":"who"}`), Cited: []audit.Citation{{ID: 7, Seq: 3}}},
		{Question: "and last week?", Answer: long, Search: "", Plan: []byte(`{"kind":"unknown"}`)},
	}
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.CreateChatConversation(ctx, conv); err != nil {
			return err
		}
		for _, tn := range turns {
			tn.AccountID, tn.ConversationID = a.ID, conv.ID
			if err := tx.AddChatTurn(ctx, tn); err != nil {
				return err
			}
		}
		return nil
	})
	if conv.ID == 0 || !sameTime(conv.CreatedAt, now) || !sameTime(conv.UpdatedAt, now) {
		t.Errorf("CreateChatConversation set %+v; want an ID and times %v", conv, now)
	}

	got, gotTurns, err := db.ChatConversation(ctx, a.ID, u.ID, conv.ID, 10)
	if err != nil {
		t.Fatalf("ChatConversation: %v", err)
	}
	if got.Title != conv.Title || got.UserID != u.ID || len(gotTurns) != 2 {
		t.Fatalf("ChatConversation = %+v, %d turns", got, len(gotTurns))
	}
	for i, tn := range gotTurns {
		want := turns[i]
		if tn.Question != want.Question || tn.Answer != want.Answer || tn.Search != want.Search || string(tn.Plan) != string(want.Plan) ||
			len(tn.Cited) != len(want.Cited) || !sameTime(tn.CreatedAt, now) || tn.ID != want.ID {
			t.Errorf("turn %d = %+v; want %+v", i, tn, want)
		}
	}
	if gotTurns[0].Cited[0] != (audit.Citation{ID: 7, Seq: 3}) {
		t.Errorf("citations %+v", gotTurns[0].Cited)
	}
	// The newest turns when there are more than the limit, oldest first.
	if _, last, err := db.ChatConversation(ctx, a.ID, u.ID, conv.ID, 1); err != nil || len(last) != 1 || last[0].ID != turns[1].ID {
		t.Errorf("ChatConversation limit 1 = %+v, %v; want the newest turn", last, err)
	}

	// Only the user, in their account.
	for _, who := range []struct {
		name            string
		account, userID int64
	}{{"another user", a.ID, v.ID}, {"another account", b.ID, w.ID}, {"the user under another account", b.ID, u.ID}} {
		_, _, err := db.ChatConversation(ctx, who.account, who.userID, conv.ID, 10)
		wantNotFound(t, "ChatConversation by "+who.name, err)
		if l, err := db.ChatConversations(ctx, who.account, who.userID, 10); err != nil || len(l) != 0 {
			t.Errorf("ChatConversations by %s = %d, %v; want none", who.name, len(l), err)
		}
		err = db.Update(ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.TouchChatConversation(ctx, who.account, who.userID, conv.ID)
			return err
		})
		wantNotFound(t, "TouchChatConversation by "+who.name, err)
		err = db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.DeleteChatConversation(ctx, who.account, who.userID, conv.ID) })
		wantNotFound(t, "DeleteChatConversation by "+who.name, err)
	}

	// Touching moves updated_at; the list is newest first.
	later := now.Add(time.Hour)
	fixedClock(db, later)
	second := &audit.ChatConversation{AccountID: a.ID, UserID: u.ID, Title: "second"}
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
		if err := tx.CreateChatConversation(ctx, second); err != nil {
			return err
		}
		c, err := tx.TouchChatConversation(ctx, a.ID, u.ID, conv.ID)
		if err == nil && !sameTime(c.UpdatedAt, later) {
			t.Errorf("touched UpdatedAt %v; want %v", c.UpdatedAt, later)
		}
		return err
	})
	if l, err := db.ChatConversations(ctx, a.ID, u.ID, 10); err != nil || len(l) != 2 || l[0].ID != second.ID || l[1].ID != conv.ID {
		t.Errorf("ChatConversations = %+v, %v; want the second, then the first", l, err)
	}
	if l, err := db.ChatConversations(ctx, a.ID, u.ID, 1); err != nil || len(l) != 1 {
		t.Errorf("ChatConversations limit 1 = %d, %v", len(l), err)
	}

	// Deleting takes the turns along and leaves the other conversation.
	update(t, db, func(ctx context.Context, tx *sqlstore.Tx) error {
		return tx.DeleteChatConversation(ctx, a.ID, u.ID, conv.ID)
	})
	_, _, err = db.ChatConversation(ctx, a.ID, u.ID, conv.ID, 10)
	wantNotFound(t, "ChatConversation after delete", err)
	if l, err := db.ChatConversations(ctx, a.ID, u.ID, 10); err != nil || len(l) != 1 || l[0].ID != second.ID {
		t.Errorf("after delete: %+v, %v", l, err)
	}
}
