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

-- An external-content FTS5 table over events.search_text. The ascii
-- tokenizer splits at the spaces the store put between tokens (the tokens
-- hold only letters, digits and marks, already lower-cased), so what is
-- indexed is exactly what query.Tokenize produced.
CREATE VIRTUAL TABLE events_fts USING fts5 (account_id UNINDEXED, search_text, content = 'events', content_rowid = 'id', tokenize = 'ascii', detail = 'full');

CREATE TRIGGER events_fts_insert AFTER INSERT ON events WHEN new.search_text IS NOT NULL BEGIN INSERT INTO events_fts (rowid, account_id, search_text) VALUES (new.id, new.account_id, new.search_text); END;
CREATE TRIGGER events_fts_delete AFTER DELETE ON events WHEN old.search_text IS NOT NULL BEGIN INSERT INTO events_fts (events_fts, rowid, account_id, search_text) VALUES ('delete', old.id, old.account_id, old.search_text); END;
CREATE TRIGGER events_fts_update_old AFTER UPDATE OF search_text ON events WHEN old.search_text IS NOT NULL BEGIN INSERT INTO events_fts (events_fts, rowid, account_id, search_text) VALUES ('delete', old.id, old.account_id, old.search_text); END;
CREATE TRIGGER events_fts_update_new AFTER UPDATE OF search_text ON events WHEN new.search_text IS NOT NULL BEGIN INSERT INTO events_fts (rowid, account_id, search_text) VALUES (new.id, new.account_id, new.search_text); END;
