-- Platform keys, accounts' external IDs, and viewer tokens of the
-- embeddable viewer (docs/platform.md). The same tables as
-- migrations/sqlite/0014_platform.sql.

CREATE TABLE platform_keys (
    id           BIGINT         GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         VARCHAR(100)   NOT NULL,
    prefix       VARCHAR(32)    NOT NULL,
    secret_hash  BYTEA          NOT NULL,
    scopes       VARCHAR(255)   NOT NULL, -- space-separated, e.g. "accounts:write events:write"
    created_by   VARCHAR(255)   NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ(6) NOT NULL,
    last_used_at TIMESTAMPTZ(6),
    revoked_at   TIMESTAMPTZ(6),
    CONSTRAINT platform_keys_prefix_key UNIQUE (prefix)
);

ALTER TABLE accounts ADD COLUMN external_id VARCHAR(255);
CREATE UNIQUE INDEX accounts_external_id_key ON accounts (external_id);

ALTER TABLE account_settings ADD COLUMN record_views BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE viewer_tokens (
    account_id   BIGINT         NOT NULL REFERENCES accounts (id),
    token_hash   BYTEA          NOT NULL,
    session_hash BYTEA,
    fixed_query  TEXT           NOT NULL DEFAULT '',
    features     VARCHAR(100)   NOT NULL,
    origins      TEXT           NOT NULL,
    theme        TEXT           NOT NULL DEFAULT '',
    created_by   VARCHAR(255)   NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ(6) NOT NULL,
    expires_at   TIMESTAMPTZ(6) NOT NULL,
    used_at      TIMESTAMPTZ(6),
    PRIMARY KEY (account_id, token_hash),
    CONSTRAINT viewer_tokens_session_key UNIQUE (account_id, session_hash)
);
