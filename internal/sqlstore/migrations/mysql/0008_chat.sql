-- Chat conversations (docs/chat.md), as in migrations/sqlite/0008_chat.sql
-- in MySQL's types.
CREATE TABLE chat_conversations (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id BIGINT       NOT NULL,
    user_id    BIGINT       NOT NULL,
    title      VARCHAR(200) NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NOT NULL,
    CONSTRAINT chat_conversations_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    CONSTRAINT chat_conversations_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id),
    INDEX chat_conversations_user_idx (account_id, user_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE chat_turns (
    id              BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id      BIGINT      NOT NULL,
    conversation_id BIGINT      NOT NULL,
    question        TEXT        NOT NULL,
    answer          MEDIUMTEXT  NOT NULL,
    search          TEXT        NOT NULL,
    plan            TEXT        NOT NULL,
    cited           TEXT        NOT NULL,
    created_at      DATETIME(6) NOT NULL,
    CONSTRAINT chat_turns_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    CONSTRAINT chat_turns_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES chat_conversations (id),
    INDEX chat_turns_conversation_idx (account_id, conversation_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
