-- Chat conversations (POST /api/chat, docs/chat.md): each user's own
-- questions to the audit log, with the answers and the searches that
-- answered them, so follow-up questions can build on the last one.
CREATE TABLE chat_conversations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    title      TEXT    NOT NULL, -- the first question, cut to 200 characters
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
-- GET /api/chat/conversations lists a user's conversations.
CREATE INDEX chat_conversations_user_idx ON chat_conversations (account_id, user_id, id);

-- chat_turns: one question and its answer. plan is the plan's JSON (the
-- search, the aggregation, the time span); cited is a JSON array of the
-- cited events' {id, seq}.
CREATE TABLE chat_turns (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    conversation_id INTEGER NOT NULL REFERENCES chat_conversations (id),
    question        TEXT    NOT NULL,
    answer          TEXT    NOT NULL,
    search          TEXT    NOT NULL,
    plan            TEXT    NOT NULL,
    cited           TEXT    NOT NULL,
    created_at      TEXT    NOT NULL
);
-- A conversation's turns, in order.
CREATE INDEX chat_turns_conversation_idx ON chat_turns (account_id, conversation_id, id);
