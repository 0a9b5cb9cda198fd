-- Accounts (merchants): the tenants of the service.
CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    domain     TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    CONSTRAINT accounts_domain_key UNIQUE (domain)
);

-- Users sign in with a globally unique email and act within one account.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'content_creator')),
    is_active     INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);
-- GET /api/users lists an account's users in id order.
CREATE INDEX users_account_id_idx ON users (account_id, id);

-- Server-side sessions; only an HMAC of the cookie token is stored.
CREATE TABLE sessions (
    token_hash   TEXT    NOT NULL PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    created_at   TEXT    NOT NULL,
    last_seen_at TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    ip_address   TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
);
-- Ending every session of a user (logout elsewhere, deactivation).
CREATE INDEX sessions_user_idx ON sessions (account_id, user_id);
-- Sweeping expired sessions.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- One row per account: the size of its event log. Appends lock this row, so
-- each account's seq is gapless and never repeats.
CREATE TABLE log_heads (
    account_id INTEGER NOT NULL PRIMARY KEY REFERENCES accounts (id),
    size       INTEGER NOT NULL DEFAULT 0,
    root_hash  BLOB -- root of the account's Merkle tree at size; NULL while empty
);

-- The audit events. seq is the event's 1-based position in its account's log.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    seq           INTEGER NOT NULL,
    user_id       INTEGER,
    action        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL DEFAULT '',
    resource_id   TEXT    NOT NULL DEFAULT '',
    details       TEXT    NOT NULL DEFAULT '',
    ip_address    TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT '',
    created_at    TEXT    NOT NULL,
    actor_type    TEXT    NOT NULL DEFAULT '',
    actor_id      TEXT    NOT NULL DEFAULT '',
    actor_email   TEXT    NOT NULL DEFAULT '',
    actor_name    TEXT    NOT NULL DEFAULT '',
    event_id      TEXT,              -- the client's idempotency key, unique in the account
    occurred_at   TEXT,              -- the client's time, when given
    outcome       TEXT    NOT NULL DEFAULT '',
    metadata      TEXT,              -- compact JSON object
    changes       TEXT,              -- compact JSON array of {field, old, new}
    api_key_id    INTEGER,           -- the API key that recorded the event
    salt          BLOB,              -- keys the personal-data commitment; NULL once erased
    commitment    BLOB    NOT NULL,  -- HMAC-SHA-256 of the personal data under salt
    leaf_hash     BLOB    NOT NULL,  -- RFC 6962 hash of the event's leaf
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
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    tile_level INTEGER NOT NULL,
    tile_index INTEGER NOT NULL,
    hashes     BLOB    NOT NULL,
    PRIMARY KEY (account_id, tile_level, tile_index)
) WITHOUT ROWID;

-- Signed checkpoints, one per write batch of an account.
CREATE TABLE checkpoints (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    tree_size  INTEGER NOT NULL,
    root_hash  BLOB    NOT NULL,
    note       TEXT    NOT NULL, -- the C2SP signed note
    created_at TEXT    NOT NULL,
    PRIMARY KEY (account_id, tree_size)
) WITHOUT ROWID;

-- Keys the service generates for itself and must keep, such as the
-- checkpoint signing key when none is configured.
CREATE TABLE service_keys (
    purpose    TEXT NOT NULL PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
