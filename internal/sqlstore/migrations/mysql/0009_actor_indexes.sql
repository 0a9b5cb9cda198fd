-- Search (docs/search.md): the qualifier actor: matches an event whose actor ID, email or
-- name is the value (or, for a number, whose acting user it is). Without
-- these indexes it read every event of the account to find one actor's
-- (11.8 s of CPU at a million events on SQLite); with one index per
-- column, each engine reads the matches off the three indexes and the user
-- index and merges them (docs/performance.md has the figures, and what the
-- three cost every write).
CREATE INDEX events_account_actor_id_idx ON events (account_id, actor_id, created_at, seq);
CREATE INDEX events_account_actor_email_idx ON events (account_id, actor_email, created_at, seq);
CREATE INDEX events_account_actor_name_idx ON events (account_id, actor_name, created_at, seq);
