-- Alert rules, as in migrations/postgres/0011_alerts.sql (see there), in InnoDB.
CREATE TABLE alert_rules (
    account_id     BIGINT       NOT NULL,
    id             BIGINT       NOT NULL,
    name           VARCHAR(100) NOT NULL,
    action         VARCHAR(255) NOT NULL,
    query          TEXT         NOT NULL,
    threshold      INT          NOT NULL,
    window_seconds INT          NOT NULL,
    group_by       VARCHAR(16)  NOT NULL,
    enabled        BOOLEAN      NOT NULL,
    default_key    VARCHAR(64)  NOT NULL,
    position       BIGINT       NOT NULL,
    created_by     BIGINT       NULL,
    created_at     DATETIME(6)  NOT NULL,
    updated_at     DATETIME(6)  NOT NULL,
    PRIMARY KEY (account_id, id),
    CONSTRAINT alert_rules_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    CONSTRAINT alert_rules_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE alerts (
    account_id   BIGINT       NOT NULL,
    rule_id      BIGINT       NOT NULL,
    group_key    VARCHAR(255) NOT NULL,
    bucket       BIGINT       NOT NULL,
    window_start DATETIME(6)  NULL,
    event_count  BIGINT       NOT NULL,
    trigger_seq  BIGINT       NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    PRIMARY KEY (account_id, rule_id, group_key, bucket),
    CONSTRAINT alerts_rule_fkey FOREIGN KEY (account_id, rule_id) REFERENCES alert_rules (account_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
