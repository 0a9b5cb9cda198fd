-- Platform keys, accounts' external IDs, and viewer tokens of the
-- embeddable viewer (docs/platform.md). The same tables as
-- migrations/sqlite/0014_platform.sql.

CREATE TABLE platform_keys (
    id           BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name         VARCHAR(100)  NOT NULL,
    prefix       VARCHAR(32)   NOT NULL,
    secret_hash  VARBINARY(32) NOT NULL,
    scopes       VARCHAR(255)  NOT NULL,
    created_by   VARCHAR(255)  NOT NULL DEFAULT '',
    created_at   DATETIME(6)   NOT NULL,
    last_used_at DATETIME(6)   NULL,
    revoked_at   DATETIME(6)   NULL,
    CONSTRAINT platform_keys_prefix_key UNIQUE (prefix)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE accounts ADD COLUMN external_id VARCHAR(255) NULL;
CREATE UNIQUE INDEX accounts_external_id_key ON accounts (external_id);

ALTER TABLE account_settings ADD COLUMN record_views BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE viewer_tokens (
    account_id   BIGINT        NOT NULL,
    token_hash   VARBINARY(32) NOT NULL,
    session_hash VARBINARY(32) NULL,
    fixed_query  TEXT          NOT NULL,
    features     VARCHAR(100)  NOT NULL,
    origins      TEXT          NOT NULL,
    theme        TEXT          NOT NULL,
    created_by   VARCHAR(255)  NOT NULL DEFAULT '',
    created_at   DATETIME(6)   NOT NULL,
    expires_at   DATETIME(6)   NOT NULL,
    used_at      DATETIME(6)   NULL,
    PRIMARY KEY (account_id, token_hash),
    CONSTRAINT viewer_tokens_session_key UNIQUE (account_id, session_hash),
    CONSTRAINT viewer_tokens_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
