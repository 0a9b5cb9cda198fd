-- Chat conversations (docs/chat.md), as in migrations/sqlite/0008_chat.sql
-- in PostgreSQL's types.
CREATE TABLE chat_conversations (
    id         BIGINT         GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT         NOT NULL REFERENCES accounts (id),
    user_id    BIGINT         NOT NULL REFERENCES users (id),
    title      VARCHAR(200)   NOT NULL,
    created_at TIMESTAMPTZ(6) NOT NULL,
    updated_at TIMESTAMPTZ(6) NOT NULL
);
CREATE INDEX chat_conversations_user_idx ON chat_conversations (account_id, user_id, id);

CREATE TABLE chat_turns (
    id              BIGINT         GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      BIGINT         NOT NULL REFERENCES accounts (id),
    conversation_id BIGINT         NOT NULL REFERENCES chat_conversations (id),
    question        TEXT           NOT NULL,
    answer          TEXT           NOT NULL,
    search          TEXT           NOT NULL,
    plan            TEXT           NOT NULL,
    cited           TEXT           NOT NULL,
    created_at      TIMESTAMPTZ(6) NOT NULL
);
CREATE INDEX chat_turns_conversation_idx ON chat_turns (account_id, conversation_id, id);
