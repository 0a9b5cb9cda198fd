-- Actor counts per week and per month, as in
-- migrations/sqlite/0017_actor_rollups.sql, in PostgreSQL's types.
-- event_actor_counts: per account, per week (grain 'week', weeks start on
-- Monday, UTC) or month (grain 'month', UTC), the number of events of each
-- actor: always the sum of the account's event_party_counts rows of
-- dimension 'actor' in that week or month. bucket is the week's or month's
-- start in Unix seconds. Expand only (docs/upgrades.md): a new table,
-- filled here from the per-day actor counts.
CREATE TABLE event_actor_counts (
    account_id BIGINT       NOT NULL REFERENCES accounts (id),
    grain      VARCHAR(5)   NOT NULL,
    bucket     BIGINT       NOT NULL,
    value      VARCHAR(320) NOT NULL,
    n          BIGINT       NOT NULL,
    PRIMARY KEY (account_id, grain, bucket, value)
);

-- A day's bucket is a multiple of 86400; day 0 (1970-01-01) was a
-- Thursday, 3 days after a Monday.
INSERT INTO event_actor_counts (account_id, grain, bucket, value, n)
SELECT account_id, 'week', bucket - ((((bucket / 86400 + 3) % 7) + 7) % 7) * 86400 AS b, value, SUM(n)
FROM event_party_counts WHERE dimension = 'actor' GROUP BY account_id, b, value;
INSERT INTO event_actor_counts (account_id, grain, bucket, value, n)
SELECT account_id, 'month', CAST(EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket) AT TIME ZONE 'UTC')) AS BIGINT) AS b, value, SUM(n)
FROM event_party_counts WHERE dimension = 'actor' GROUP BY account_id, b, value;
