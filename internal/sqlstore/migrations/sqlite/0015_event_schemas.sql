-- Event schemas, as in migrations/postgres/0015_event_schemas.sql (see
-- there).

CREATE TABLE event_schemas (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL, -- 0: every account
    action     TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    body       TEXT    NOT NULL, -- the JSON Schema, compact
    created_by TEXT    NOT NULL DEFAULT '',
    created_at TEXT    NOT NULL,
    used_at    TEXT,
    CONSTRAINT event_schemas_account_action_version_key UNIQUE (account_id, action, version)
);

CREATE INDEX viewer_tokens_expires_at_idx ON viewer_tokens (expires_at);
