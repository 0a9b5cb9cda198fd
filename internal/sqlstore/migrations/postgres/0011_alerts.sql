-- Alert rules (docs/alerts.md). Both tables are per account, keyed by
-- account_id first.

-- alert_rules: an account's rules. id counts within the account. position
-- is the log position up to which the rule has been evaluated: every
-- process that evaluates it starts there and moves it forward, so a
-- process that stops half-way loses nothing. A rule switched on starts at
-- the log's size then. default_key names the default rule it was created
-- from ('' for none).
CREATE TABLE alert_rules (
    account_id     BIGINT         NOT NULL REFERENCES accounts (id),
    id             BIGINT         NOT NULL,
    name           VARCHAR(100)   NOT NULL,
    action         VARCHAR(255)   NOT NULL,
    query          TEXT           NOT NULL,
    threshold      INTEGER        NOT NULL,
    window_seconds INTEGER        NOT NULL,
    group_by       VARCHAR(16)    NOT NULL,
    enabled        BOOLEAN        NOT NULL,
    default_key    VARCHAR(64)    NOT NULL,
    position       BIGINT         NOT NULL,
    created_by     BIGINT         REFERENCES users (id),
    created_at     TIMESTAMPTZ(6) NOT NULL,
    updated_at     TIMESTAMPTZ(6) NOT NULL,
    PRIMARY KEY (account_id, id)
);

-- alerts: one row per alert raised, written in the transaction that
-- appends its alert.triggered event. The key is what makes an alert at
-- most once per rule, group and window, however many processes evaluate
-- the rule: bucket is the window's number (window_start / window), or the
-- triggering event's seq for a rule that alerts on every match.
CREATE TABLE alerts (
    account_id   BIGINT         NOT NULL,
    rule_id      BIGINT         NOT NULL,
    group_key    VARCHAR(255)   NOT NULL,
    bucket       BIGINT         NOT NULL,
    window_start TIMESTAMPTZ(6),
    event_count  BIGINT         NOT NULL,
    trigger_seq  BIGINT         NOT NULL,
    created_at   TIMESTAMPTZ(6) NOT NULL,
    PRIMARY KEY (account_id, rule_id, group_key, bucket),
    FOREIGN KEY (account_id, rule_id) REFERENCES alert_rules (account_id, id)
);
