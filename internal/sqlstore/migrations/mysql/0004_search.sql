-- Search (docs/search.md): the text that free words are matched against,
-- the client address in a comparable form for ip: ranges, and a FULLTEXT
-- index.

-- search_text: the tokens of action, resource type and ID, details, actor
-- name and email (query.Tokenize), each written as "xx" and the token with
-- every character other than a-z and 0-9 spelled _hex_, truncated to 84
-- characters, joined by single spaces. InnoDB's parser then finds exactly
-- those tokens: none is shorter than innodb_ft_min_token_size (3) or
-- longer than innodb_ft_max_token_size (84), none is a stop word, and its
-- own idea of letters never applies. ip_bin: 0x04 and the 4 bytes of an
-- IPv4 address, or 0x06 and the 16 bytes of an IPv6 one. Both are written
-- by the store; the store fills them for events stored before this
-- migration when it opens the database.
ALTER TABLE events ADD COLUMN search_text MEDIUMTEXT NULL, ADD COLUMN ip_bin VARBINARY(17) NULL;
CREATE FULLTEXT INDEX events_search_idx ON events (search_text);
