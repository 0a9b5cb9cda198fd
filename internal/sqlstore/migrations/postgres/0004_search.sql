-- Search (docs/search.md): the text that free words are matched against,
-- the client address in a comparable form for ip: ranges, and a GIN
-- full-text index.

-- search_text: the tokens of action, resource type and ID, details, actor
-- name and email (query.Tokenize), joined by single spaces. ip_bin: 0x04
-- and the 4 bytes of an IPv4 address, or 0x06 and the 16 bytes of an IPv6
-- one. Both are written by the store; the store fills them for events
-- stored before this migration when it opens the database.
ALTER TABLE events ADD COLUMN search_text TEXT;
ALTER TABLE events ADD COLUMN ip_bin BYTEA;

-- search_tsv: search_text as a tsvector, with the 'simple' configuration,
-- which only lower-cases (no stemming, no stop words); the text holds only
-- the tokens query.Tokenize produced, so the lexemes are those tokens. A
-- stored column rather than an expression index: a filter or a recheck
-- (phrases) reads it instead of parsing the text again, which made a
-- common word's first page 20 times slower.
ALTER TABLE events ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED;
CREATE INDEX events_search_idx ON events USING gin (search_tsv);
