-- Analytics (docs/analytics.md): counts of each account's events,
-- pre-aggregated so that a dashboard query reads a few thousand rows
-- whatever the size of the log. The write path (Tx.AppendEvents) adds to
-- them in the same transaction as the events, so they always match the
-- log; this migration counts the events stored before it.

-- event_counts: events per bucket of time and per (action, resource_type,
-- outcome). grain is 'hour', 'day' or 'month'; bucket is the bucket's start
-- in Unix seconds, UTC. Each event is counted once at each grain.
CREATE TABLE event_counts (
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    grain         TEXT    NOT NULL,
    bucket        INTEGER NOT NULL,
    action        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (account_id, grain, bucket, action, resource_type, outcome)
) WITHOUT ROWID;

-- event_party_counts: events per UTC day (bucket, Unix seconds) and per
-- actor (dimension 'actor': the actor's email, else its ID) or client
-- address (dimension 'ip'). Events without one are not counted here.
CREATE TABLE event_party_counts (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    dimension  TEXT    NOT NULL,
    bucket     INTEGER NOT NULL,
    value      TEXT    NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (account_id, dimension, bucket, value)
) WITHOUT ROWID;

INSERT INTO event_counts (account_id, grain, bucket, action, resource_type, outcome, n)
SELECT account_id, 'hour', CAST(strftime('%s', substr(created_at, 1, 13) || ':00:00') AS INTEGER) AS b, action, resource_type, outcome, COUNT(*)
FROM events GROUP BY account_id, b, action, resource_type, outcome;
INSERT INTO event_counts (account_id, grain, bucket, action, resource_type, outcome, n)
SELECT account_id, 'day', CAST(strftime('%s', substr(created_at, 1, 10)) AS INTEGER) AS b, action, resource_type, outcome, COUNT(*)
FROM events GROUP BY account_id, b, action, resource_type, outcome;
INSERT INTO event_counts (account_id, grain, bucket, action, resource_type, outcome, n)
SELECT account_id, 'month', CAST(strftime('%s', substr(created_at, 1, 7) || '-01') AS INTEGER) AS b, action, resource_type, outcome, COUNT(*)
FROM events GROUP BY account_id, b, action, resource_type, outcome;
INSERT INTO event_party_counts (account_id, dimension, bucket, value, n)
SELECT account_id, 'actor', CAST(strftime('%s', substr(created_at, 1, 10)) AS INTEGER) AS b, CASE WHEN actor_email <> '' THEN actor_email ELSE actor_id END AS v, COUNT(*)
FROM events WHERE actor_email <> '' OR actor_id <> '' GROUP BY account_id, b, v;
INSERT INTO event_party_counts (account_id, dimension, bucket, value, n)
SELECT account_id, 'ip', CAST(strftime('%s', substr(created_at, 1, 10)) AS INTEGER) AS b, ip_address, COUNT(*)
FROM events WHERE ip_address <> '' GROUP BY account_id, b, ip_address;
