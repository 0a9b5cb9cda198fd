-- Alert rules, as in migrations/postgres/0011_alerts.sql (see there).
CREATE TABLE alert_rules (
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    id             INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    query          TEXT    NOT NULL,
    threshold      INTEGER NOT NULL,
    window_seconds INTEGER NOT NULL,
    group_by       TEXT    NOT NULL,
    enabled        INTEGER NOT NULL,
    default_key    TEXT    NOT NULL,
    position       INTEGER NOT NULL,
    created_by     INTEGER REFERENCES users (id),
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    PRIMARY KEY (account_id, id)
) WITHOUT ROWID;

CREATE TABLE alerts (
    account_id   INTEGER NOT NULL,
    rule_id      INTEGER NOT NULL,
    group_key    TEXT    NOT NULL,
    bucket       INTEGER NOT NULL,
    window_start TEXT,
    event_count  INTEGER NOT NULL,
    trigger_seq  INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (account_id, rule_id, group_key, bucket),
    FOREIGN KEY (account_id, rule_id) REFERENCES alert_rules (account_id, id)
) WITHOUT ROWID;
