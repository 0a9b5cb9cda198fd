-- Event schemas (docs/platform.md#event-schemas): JSON Schemas that the
-- events of one action must match, for one account or (account_id 0) for
-- every account, in numbered versions. A version is never changed; it may
-- be deleted until an event has been checked against it (used_at). The
-- same table as migrations/sqlite/0015_event_schemas.sql.

CREATE TABLE event_schemas (
    id         BIGINT         GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT         NOT NULL, -- 0: every account
    action     VARCHAR(100)   NOT NULL,
    version    INTEGER        NOT NULL,
    body       TEXT           NOT NULL, -- the JSON Schema, compact
    created_by VARCHAR(255)   NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ(6) NOT NULL,
    used_at    TIMESTAMPTZ(6),
    -- Finding the latest versions of a request's accounts and actions on
    -- every ingest, and the next version number.
    CONSTRAINT event_schemas_account_action_version_key UNIQUE (account_id, action, version)
);

-- The sweep of expired viewer tokens (sqlstore DeleteExpiredViewerTokens).
CREATE INDEX viewer_tokens_expires_at_idx ON viewer_tokens (expires_at);
