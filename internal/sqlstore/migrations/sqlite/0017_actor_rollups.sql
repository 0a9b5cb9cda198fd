-- Actor counts per week and per month (docs/analytics.md), so that the
-- dashboard's top actors over 30 or 90 days reads a few whole weeks and
-- months plus the days at the ends instead of one row per actor per day.
--
-- event_actor_counts: per account, per week (grain 'week', weeks start on
-- Monday, UTC) or month (grain 'month', UTC), the number of events of each
-- actor (its email, else its ID): always the sum of the account's
-- event_party_counts rows of dimension 'actor' in that week or month. The
-- write path (Tx.AppendEvents) adds to both in the same transaction;
-- erasure and retention take from both. bucket is the week's or month's
-- start in Unix seconds.
--
-- Expand only (docs/upgrades.md): a new table, filled here from the per-day
-- actor counts, which hold exactly what the weeks and months must.
CREATE TABLE event_actor_counts (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    grain      TEXT    NOT NULL,
    bucket     INTEGER NOT NULL,
    value      TEXT    NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (account_id, grain, bucket, value)
) WITHOUT ROWID;

-- A day's bucket is a multiple of 86400; day 0 (1970-01-01) was a
-- Thursday, 3 days after a Monday.
INSERT INTO event_actor_counts (account_id, grain, bucket, value, n)
SELECT account_id, 'week', bucket - ((((bucket / 86400 + 3) % 7) + 7) % 7) * 86400 AS b, value, SUM(n)
FROM event_party_counts WHERE dimension = 'actor' GROUP BY account_id, b, value;
INSERT INTO event_actor_counts (account_id, grain, bucket, value, n)
SELECT account_id, 'month', CAST(strftime('%s', date(bucket, 'unixepoch', 'start of month')) AS INTEGER) AS b, value, SUM(n)
FROM event_party_counts WHERE dimension = 'actor' GROUP BY account_id, b, value;
