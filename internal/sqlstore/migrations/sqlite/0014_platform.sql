-- Platform keys, accounts' external IDs, and viewer tokens of the
-- embeddable viewer (docs/platform.md). The same tables on every engine.

-- Keys of the platform that hosts the accounts: created by an operator
-- (auditlog platform-key create), not by any account. Only a SHA-256 hash
-- of the secret is kept; the prefix, part of the key, finds the row.
CREATE TABLE platform_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    secret_hash  BLOB    NOT NULL,
    scopes       TEXT    NOT NULL, -- space-separated, e.g. "accounts:write events:write"
    created_by   TEXT    NOT NULL DEFAULT '', -- the operator's command
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT,
    CONSTRAINT platform_keys_prefix_key UNIQUE (prefix)
);

-- The platform's own ID of the merchant an account serves; NULL for
-- accounts made otherwise. Unique: a platform looks accounts up by it.
ALTER TABLE accounts ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX accounts_external_id_key ON accounts (external_id);

-- Whether opening the embedded viewer records audit_log.viewed.
ALTER TABLE account_settings ADD COLUMN record_views INTEGER NOT NULL DEFAULT 1;

-- Viewer tokens: a short-lived, read-only grant on one account's log,
-- exchanged once (used_at) for an embed session. Only SHA-256 hashes of
-- the token and of the session are kept.
CREATE TABLE viewer_tokens (
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    token_hash   BLOB    NOT NULL,
    session_hash BLOB,
    fixed_query  TEXT    NOT NULL DEFAULT '', -- the fixed search, AND-ed with the viewer's
    features     TEXT    NOT NULL,            -- space-separated: search export verify
    origins      TEXT    NOT NULL,            -- space-separated frame-ancestors origins
    theme        TEXT    NOT NULL DEFAULT '', -- CSS variables, JSON
    created_by   TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    used_at      TEXT,
    PRIMARY KEY (account_id, token_hash),
    CONSTRAINT viewer_tokens_session_key UNIQUE (account_id, session_hash)
);
