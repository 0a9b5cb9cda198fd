-- Actor counts per week and per month, as in
-- migrations/sqlite/0017_actor_rollups.sql, in InnoDB.
-- event_actor_counts: per account, per week (grain 'week', weeks start on
-- Monday, UTC) or month (grain 'month', UTC), the number of events of each
-- actor: always the sum of the account's event_party_counts rows of
-- dimension 'actor' in that week or month. bucket is the week's or month's
-- start in Unix seconds. Expand only (docs/upgrades.md): a new table,
-- filled here from the per-day actor counts.
CREATE TABLE event_actor_counts (
    account_id BIGINT       NOT NULL,
    grain      VARCHAR(5)   NOT NULL,
    bucket     BIGINT       NOT NULL,
    value      VARCHAR(320) NOT NULL,
    n          BIGINT       NOT NULL,
    PRIMARY KEY (account_id, grain, bucket, value),
    CONSTRAINT event_actor_counts_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- A day's bucket is a multiple of 86400; day 0 (1970-01-01) was a
-- Thursday, 3 days after a Monday.
INSERT INTO event_actor_counts (account_id, grain, bucket, value, n)
SELECT account_id, 'week', bucket - MOD(MOD(bucket DIV 86400 + 3, 7) + 7, 7) * 86400 AS b, value, SUM(n)
FROM event_party_counts WHERE dimension = 'actor' GROUP BY account_id, b, value;
INSERT INTO event_actor_counts (account_id, grain, bucket, value, n)
SELECT account_id, 'month', TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', DATE_FORMAT(DATE_ADD('1970-01-01 00:00:00', INTERVAL bucket SECOND), '%Y-%m-01')) AS b, value, SUM(n)
FROM event_party_counts WHERE dimension = 'actor' GROUP BY account_id, b, value;
