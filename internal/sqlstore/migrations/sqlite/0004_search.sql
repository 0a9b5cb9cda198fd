-- Search (docs/search.md): the text that free words are matched against,
-- the client address in a comparable form for ip: ranges, and a full-text
-- index kept in step with events by triggers.

-- search_text: the tokens of action, resource type and ID, details, actor
-- name and email (query.Tokenize), joined by single spaces. ip_bin: 0x04
-- and the 4 bytes of an IPv4 address, or 0x06 and the 16 bytes of an IPv6
-- one. Both are written by the store; the store fills them for events
-- stored before this migration when it opens the database.
ALTER TABLE events ADD COLUMN search_text TEXT;
ALTER TABLE events ADD COLUMN ip_bin BLOB;

-- A contentless FTS5 table over events.search_text: the text itself stays
-- in events only, while account_id is kept beside the index
-- (contentless_unindexed) so that a search can name the account cheaply.
-- The ascii tokenizer splits at the spaces the store put between tokens
-- (the tokens hold only letters, digits and marks, already lower-cased), so
-- what is indexed is exactly what query.Tokenize produced. Triggers keep it
-- in step with events, whatever writes them.
CREATE VIRTUAL TABLE events_fts USING fts5 (account_id UNINDEXED, search_text, content = '', contentless_delete = 1, contentless_unindexed = 1, tokenize = 'ascii');

CREATE TRIGGER events_fts_insert AFTER INSERT ON events WHEN new.search_text IS NOT NULL BEGIN INSERT INTO events_fts (rowid, account_id, search_text) VALUES (new.id, new.account_id, new.search_text); END;
CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN DELETE FROM events_fts WHERE rowid = old.id; END;
CREATE TRIGGER events_fts_update AFTER UPDATE OF search_text ON events BEGIN DELETE FROM events_fts WHERE rowid = old.id; INSERT INTO events_fts (rowid, account_id, search_text) SELECT new.id, new.account_id, new.search_text WHERE new.search_text IS NOT NULL; END;
