-- Search (docs/search.md): the qualifiers ip: and resource_id: (and
-- resource:TYPE:ID, the history of one resource) read their matches off an
-- index that starts with the account and ends in the listing order, instead
-- of walking the account's events and checking each. Two indexes only: each
-- index costs every write (docs/performance.md has the figures), and these
-- two serve the searches that otherwise read a whole account to find a
-- few events.
CREATE INDEX events_account_ip_idx ON events (account_id, ip_bin, created_at, seq);
CREATE INDEX events_account_resource_id_idx ON events (account_id, resource_id, created_at, seq);
