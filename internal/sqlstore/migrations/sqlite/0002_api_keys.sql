-- API keys of platform services. Only a SHA-256 hash of the secret is kept;
-- the prefix, which is part of the key, finds the row.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    secret_hash  BLOB    NOT NULL,
    scopes       TEXT    NOT NULL, -- space-separated, e.g. "events:write events:read"
    created_by   INTEGER REFERENCES users (id),
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT,
    CONSTRAINT api_keys_prefix_key UNIQUE (prefix)
);
-- GET /api/api-keys lists an account's keys.
CREATE INDEX api_keys_account_idx ON api_keys (account_id, id);
