-- API keys of platform services. Only a SHA-256 hash of the secret is kept;
-- the prefix, which is part of the key, finds the row.
CREATE TABLE api_keys (
    id           BIGINT         GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   BIGINT         NOT NULL REFERENCES accounts (id),
    name         VARCHAR(100)   NOT NULL,
    prefix       VARCHAR(32)    NOT NULL,
    secret_hash  BYTEA          NOT NULL,
    scopes       VARCHAR(255)   NOT NULL, -- space-separated, e.g. "events:write events:read"
    created_by   BIGINT         REFERENCES users (id),
    created_at   TIMESTAMPTZ(6) NOT NULL,
    last_used_at TIMESTAMPTZ(6),
    revoked_at   TIMESTAMPTZ(6),
    CONSTRAINT api_keys_prefix_key UNIQUE (prefix)
);
-- GET /api/api-keys lists an account's keys.
CREATE INDEX api_keys_account_idx ON api_keys (account_id, id);
