-- Keys that start with the account (docs/scaling.md): every table that holds
-- one account's data has account_id as the first column of its primary key
-- and of every unique constraint, and every foreign key between two such
-- tables includes account_id, so a distributed PostgreSQL (Citus) can
-- distribute them by account_id and keep each account's rows on one node.
-- Only events and the chat tables were keyed by a global id; the rest
-- already started with account_id (log_heads, log_tiles, checkpoints, the
-- counts, the witness tables, the MFA tables) or are global tables that
-- stay as they are (accounts, users, sessions, mfa_challenges, api_keys,
-- service_keys, signing_keys, schema_migrations: reference tables).
--
-- Backward compatible (docs/upgrades.md): the id columns, their values and
-- every column stay; statements of the previous release run unchanged.
-- The id index keeps lookups by id alone (the search backfill at start)
-- one index lookup.

ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (account_id, id);
CREATE INDEX events_id_idx ON events (id);

-- A turn's conversation is in the same account: the foreign key names both.
ALTER TABLE chat_turns DROP CONSTRAINT chat_turns_conversation_id_fkey;
ALTER TABLE chat_conversations DROP CONSTRAINT chat_conversations_pkey;
ALTER TABLE chat_conversations ADD CONSTRAINT chat_conversations_pkey PRIMARY KEY (account_id, id);
CREATE INDEX chat_conversations_id_idx ON chat_conversations (id);
ALTER TABLE chat_turns DROP CONSTRAINT chat_turns_pkey;
ALTER TABLE chat_turns ADD CONSTRAINT chat_turns_pkey PRIMARY KEY (account_id, id);
CREATE INDEX chat_turns_id_idx ON chat_turns (id);
ALTER TABLE chat_turns ADD CONSTRAINT chat_turns_conversation_fkey
    FOREIGN KEY (account_id, conversation_id) REFERENCES chat_conversations (account_id, id);
