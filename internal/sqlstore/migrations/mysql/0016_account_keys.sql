-- Keys that start with the account, as in
-- migrations/postgres/0016_account_keys.sql (see there), in InnoDB. InnoDB
-- clusters a table by its primary key, so each account's events and chat
-- rows now sit together in id order. An AUTO_INCREMENT column must begin
-- some index: the id indexes are that index, and keep lookups by id alone
-- one index lookup. Each ALTER TABLE rebuilds its table (a copy of events:
-- docs/upgrades.md has the time it takes).

ALTER TABLE events DROP PRIMARY KEY, ADD PRIMARY KEY (account_id, id), ADD INDEX events_id_idx (id);

-- Dropping the foreign key leaves the index InnoDB made for it; the new
-- foreign key uses chat_turns_conversation_idx.
ALTER TABLE chat_turns DROP FOREIGN KEY chat_turns_conversation_id_fkey;
ALTER TABLE chat_turns DROP INDEX chat_turns_conversation_id_fkey;
ALTER TABLE chat_conversations DROP PRIMARY KEY, ADD PRIMARY KEY (account_id, id), ADD INDEX chat_conversations_id_idx (id);
ALTER TABLE chat_turns DROP PRIMARY KEY, ADD PRIMARY KEY (account_id, id), ADD INDEX chat_turns_id_idx (id),
    ADD CONSTRAINT chat_turns_conversation_fkey
    FOREIGN KEY (account_id, conversation_id) REFERENCES chat_conversations (account_id, id);
