-- Analytics (docs/analytics.md), as in migrations/sqlite/0006_analytics.sql
-- in InnoDB; the key of event_counts is 2,140 bytes, under InnoDB's 3,072.
-- Counts of each account's events,
-- pre-aggregated so that a dashboard query reads a few thousand rows
-- whatever the size of the log. The write path (Tx.AppendEvents) adds to
-- them in the same transaction as the events, so they always match the
-- log; this migration counts the events stored before it.

-- event_counts: events per bucket of time and per (action, resource_type,
-- outcome). grain is 'hour', 'day' or 'month'; bucket is the bucket's start
-- in Unix seconds, UTC. Each event is counted once at each grain.
CREATE TABLE event_counts (
    account_id    BIGINT       NOT NULL,
    grain         VARCHAR(5)   NOT NULL,
    bucket        BIGINT       NOT NULL,
    action        VARCHAR(255) NOT NULL,
    resource_type VARCHAR(255) NOT NULL,
    outcome       VARCHAR(16)  NOT NULL,
    n             BIGINT       NOT NULL,
    PRIMARY KEY (account_id, grain, bucket, action, resource_type, outcome),
    CONSTRAINT event_counts_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- event_party_counts: events per UTC day (bucket, Unix seconds) and per
-- actor (dimension 'actor': the actor's email, else its ID) or client
-- address (dimension 'ip'). Events without one are not counted here.
CREATE TABLE event_party_counts (
    account_id BIGINT       NOT NULL,
    dimension  VARCHAR(8)   NOT NULL,
    bucket     BIGINT       NOT NULL,
    value      VARCHAR(320) NOT NULL,
    n          BIGINT       NOT NULL,
    PRIMARY KEY (account_id, dimension, bucket, value),
    CONSTRAINT event_party_counts_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

INSERT INTO event_counts (account_id, grain, bucket, action, resource_type, outcome, n)
SELECT account_id, 'hour', TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00')) AS b, action, resource_type, outcome, COUNT(*)
FROM events GROUP BY account_id, b, action, resource_type, outcome;
INSERT INTO event_counts (account_id, grain, bucket, action, resource_type, outcome, n)
SELECT account_id, 'day', TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', DATE(created_at)) AS b, action, resource_type, outcome, COUNT(*)
FROM events GROUP BY account_id, b, action, resource_type, outcome;
INSERT INTO event_counts (account_id, grain, bucket, action, resource_type, outcome, n)
SELECT account_id, 'month', TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', DATE_FORMAT(created_at, '%Y-%m-01')) AS b, action, resource_type, outcome, COUNT(*)
FROM events GROUP BY account_id, b, action, resource_type, outcome;
INSERT INTO event_party_counts (account_id, dimension, bucket, value, n)
SELECT account_id, 'actor', TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', DATE(created_at)) AS b, CASE WHEN actor_email <> '' THEN actor_email ELSE actor_id END AS v, COUNT(*)
FROM events WHERE actor_email <> '' OR actor_id <> '' GROUP BY account_id, b, v;
INSERT INTO event_party_counts (account_id, dimension, bucket, value, n)
SELECT account_id, 'ip', TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', DATE(created_at)) AS b, ip_address, COUNT(*)
FROM events WHERE ip_address <> '' GROUP BY account_id, b, ip_address;
