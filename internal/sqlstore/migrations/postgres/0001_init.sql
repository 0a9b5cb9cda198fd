-- The PostgreSQL schema: the same tables, columns, constraints and indexes as
-- migrations/sqlite/0001_init.sql, in PostgreSQL's types. Times are
-- TIMESTAMPTZ(6): an instant with microseconds. Text columns have the
-- lengths the API validates (docs/schema.md); MySQL has the same lengths.

-- Accounts (merchants): the tenants of the service.
CREATE TABLE accounts (
    id         BIGINT       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       VARCHAR(200) NOT NULL,
    domain     VARCHAR(253) NOT NULL,
    created_at TIMESTAMPTZ(6) NOT NULL,
    CONSTRAINT accounts_domain_key UNIQUE (domain)
);

-- Users sign in with a globally unique email and act within one account.
CREATE TABLE users (
    id            BIGINT       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    BIGINT       NOT NULL REFERENCES accounts (id),
    email         VARCHAR(254) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    first_name    VARCHAR(100) NOT NULL DEFAULT '',
    last_name     VARCHAR(100) NOT NULL DEFAULT '',
    role          VARCHAR(32)  NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'content_creator')),
    is_active     BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ(6) NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);
-- GET /api/users lists an account's users in id order.
CREATE INDEX users_account_id_idx ON users (account_id, id);

-- Server-side sessions; only an HMAC of the cookie token is stored.
CREATE TABLE sessions (
    token_hash   VARCHAR(128) NOT NULL PRIMARY KEY,
    account_id   BIGINT       NOT NULL REFERENCES accounts (id),
    user_id      BIGINT       NOT NULL REFERENCES users (id),
    created_at   TIMESTAMPTZ(6) NOT NULL,
    last_seen_at TIMESTAMPTZ(6) NOT NULL,
    expires_at   TIMESTAMPTZ(6) NOT NULL,
    ip_address   VARCHAR(255) NOT NULL DEFAULT '',
    user_agent   TEXT         NOT NULL DEFAULT ''
);
-- Ending every session of a user (logout elsewhere, deactivation).
CREATE INDEX sessions_user_idx ON sessions (account_id, user_id);
-- Sweeping expired sessions.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- One row per account: the size of its event log. Appends lock this row
-- (SELECT ... FOR UPDATE), so each account's seq is gapless and never repeats.
CREATE TABLE log_heads (
    account_id BIGINT NOT NULL PRIMARY KEY REFERENCES accounts (id),
    size       BIGINT NOT NULL DEFAULT 0,
    root_hash  BYTEA -- root of the account's Merkle tree at size; NULL while empty
);

-- The audit events. seq is the event's 1-based position in its account's log.
CREATE TABLE events (
    id            BIGINT       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    BIGINT       NOT NULL REFERENCES accounts (id),
    seq           BIGINT       NOT NULL,
    user_id       BIGINT,
    action        VARCHAR(255) NOT NULL,
    resource_type VARCHAR(255) NOT NULL DEFAULT '',
    resource_id   VARCHAR(255) NOT NULL DEFAULT '',
    details       TEXT         NOT NULL DEFAULT '',
    ip_address    VARCHAR(255) NOT NULL DEFAULT '',
    user_agent    TEXT         NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ(6) NOT NULL,
    actor_type    VARCHAR(32)  NOT NULL DEFAULT '',
    actor_id      VARCHAR(255) NOT NULL DEFAULT '',
    actor_email   VARCHAR(320) NOT NULL DEFAULT '',
    actor_name    VARCHAR(255) NOT NULL DEFAULT '',
    event_id      VARCHAR(128),          -- the client's idempotency key, unique in the account
    occurred_at   TIMESTAMPTZ(6),        -- the client's time, when given
    outcome       VARCHAR(16)  NOT NULL DEFAULT '',
    metadata      TEXT,                  -- compact JSON object
    changes       TEXT,                  -- compact JSON array of {field, old, new}
    api_key_id    BIGINT,                -- the API key that recorded the event
    salt          BYTEA,           -- keys the personal-data commitment; NULL once erased
    commitment    BYTEA NOT NULL,  -- HMAC-SHA-256 of the personal data under salt
    leaf_hash     BYTEA NOT NULL,  -- RFC 6962 hash of the event's leaf
    CONSTRAINT events_account_seq_key UNIQUE (account_id, seq),
    CONSTRAINT events_account_event_id_key UNIQUE (account_id, event_id)
);
-- Newest-first listing and date ranges.
CREATE INDEX events_account_time_idx ON events (account_id, created_at, seq);
-- The seed's filters, each followed by the listing order.
CREATE INDEX events_account_user_idx ON events (account_id, user_id, created_at, seq);
CREATE INDEX events_account_action_idx ON events (account_id, action, created_at, seq);
CREATE INDEX events_account_resource_type_idx ON events (account_id, resource_type, created_at, seq);

-- The account's Merkle tree, stored as tiles: each row holds up to 16 hashes
-- of one tree level that is a multiple of 4 (see internal/merkle).
CREATE TABLE log_tiles (
    account_id BIGINT   NOT NULL REFERENCES accounts (id),
    tile_level SMALLINT NOT NULL,
    tile_index BIGINT   NOT NULL,
    hashes     BYTEA    NOT NULL,
    PRIMARY KEY (account_id, tile_level, tile_index)
);

-- Signed checkpoints, one per write batch of an account.
CREATE TABLE checkpoints (
    account_id BIGINT         NOT NULL REFERENCES accounts (id),
    tree_size  BIGINT         NOT NULL,
    root_hash  BYTEA          NOT NULL,
    note       TEXT           NOT NULL, -- the C2SP signed note
    created_at TIMESTAMPTZ(6) NOT NULL,
    PRIMARY KEY (account_id, tree_size)
);

-- Keys the service generates for itself and must keep, such as the
-- checkpoint signing key when none is configured.
CREATE TABLE service_keys (
    purpose    VARCHAR(64)    NOT NULL PRIMARY KEY,
    secret     TEXT           NOT NULL,
    created_at TIMESTAMPTZ(6) NOT NULL
);
