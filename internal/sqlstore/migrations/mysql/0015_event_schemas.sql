-- Event schemas, as in migrations/postgres/0015_event_schemas.sql (see
-- there).

CREATE TABLE event_schemas (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id BIGINT       NOT NULL, -- 0: every account
    action     VARCHAR(100) NOT NULL,
    version    INT          NOT NULL,
    body       TEXT         NOT NULL,
    created_by VARCHAR(255) NOT NULL DEFAULT '',
    created_at DATETIME(6)  NOT NULL,
    used_at    DATETIME(6)  NULL,
    CONSTRAINT event_schemas_account_action_version_key UNIQUE (account_id, action, version)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE INDEX viewer_tokens_expires_at_idx ON viewer_tokens (expires_at);
