-- The MySQL and MariaDB schema: the same tables, columns, constraints and
-- indexes as migrations/sqlite/0001_init.sql, in InnoDB. Times are
-- DATETIME(6) holding UTC (every session sets time_zone to +00:00). Text is
-- utf8mb4 with the binary collation, so that text compares byte for byte as
-- in SQLite and PostgreSQL. Indexed text columns are VARCHAR: InnoDB keys are
-- at most 3072 bytes, 4 bytes a character. Long free text is MEDIUMTEXT,
-- since TEXT holds only 64 KiB.
-- MySQL commits each statement here on its own; Migrate's GET_LOCK keeps a
-- second process out meanwhile.

-- Accounts (merchants): the tenants of the service.
CREATE TABLE accounts (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(200) NOT NULL,
    domain     VARCHAR(253) NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    CONSTRAINT accounts_domain_key UNIQUE (domain)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Users sign in with a globally unique email and act within one account.
CREATE TABLE users (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id    BIGINT       NOT NULL,
    email         VARCHAR(254) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    first_name    VARCHAR(100) NOT NULL DEFAULT '',
    last_name     VARCHAR(100) NOT NULL DEFAULT '',
    role          VARCHAR(32)  NOT NULL,
    is_active     BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at    DATETIME(6)  NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_role_check CHECK (role IN ('owner', 'admin', 'analyst', 'content_creator')),
    CONSTRAINT users_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    -- GET /api/users lists an account's users in id order.
    INDEX users_account_id_idx (account_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Server-side sessions; only an HMAC of the cookie token is stored.
CREATE TABLE sessions (
    token_hash   VARCHAR(128) NOT NULL PRIMARY KEY,
    account_id   BIGINT       NOT NULL,
    user_id      BIGINT       NOT NULL,
    created_at   DATETIME(6)  NOT NULL,
    last_seen_at DATETIME(6)  NOT NULL,
    expires_at   DATETIME(6)  NOT NULL,
    ip_address   VARCHAR(255) NOT NULL DEFAULT '',
    user_agent   MEDIUMTEXT   NOT NULL,
    CONSTRAINT sessions_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id),
    -- Ending every session of a user (logout elsewhere, deactivation).
    INDEX sessions_user_idx (account_id, user_id),
    -- Sweeping expired sessions.
    INDEX sessions_expires_at_idx (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per account: the size of its event log. Appends lock this row
-- (SELECT ... FOR UPDATE), so each account's seq is gapless and never repeats.
CREATE TABLE log_heads (
    account_id BIGINT NOT NULL PRIMARY KEY,
    size       BIGINT NOT NULL DEFAULT 0,
    root_hash  VARBINARY(32) NULL, -- root of the account's Merkle tree at size; NULL while empty
    CONSTRAINT log_heads_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The audit events. seq is the event's 1-based position in its account's log.
CREATE TABLE events (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id    BIGINT       NOT NULL,
    seq           BIGINT       NOT NULL,
    user_id       BIGINT       NULL,
    action        VARCHAR(255) NOT NULL,
    resource_type VARCHAR(255) NOT NULL DEFAULT '',
    resource_id   VARCHAR(255) NOT NULL DEFAULT '',
    details       MEDIUMTEXT   NOT NULL,
    ip_address    VARCHAR(255) NOT NULL DEFAULT '',
    user_agent    MEDIUMTEXT   NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    actor_type    VARCHAR(32)  NOT NULL DEFAULT '',
    actor_id      VARCHAR(255) NOT NULL DEFAULT '',
    actor_email   VARCHAR(320) NOT NULL DEFAULT '',
    actor_name    VARCHAR(255) NOT NULL DEFAULT '',
    event_id      VARCHAR(128) NULL,      -- the client's idempotency key, unique in the account
    occurred_at   DATETIME(6)  NULL,      -- the client's time, when given
    outcome       VARCHAR(16)  NOT NULL DEFAULT '',
    metadata      MEDIUMTEXT   NULL,      -- compact JSON object
    changes       MEDIUMTEXT   NULL,      -- compact JSON array of {field, old, new}
    api_key_id    BIGINT       NULL,      -- the API key that recorded the event
    salt          VARBINARY(32) NULL,     -- keys the personal-data commitment; NULL once erased
    commitment    VARBINARY(32) NOT NULL, -- HMAC-SHA-256 of the personal data under salt
    leaf_hash     VARBINARY(32) NOT NULL, -- RFC 6962 hash of the event's leaf
    CONSTRAINT events_account_seq_key UNIQUE (account_id, seq),
    CONSTRAINT events_account_event_id_key UNIQUE (account_id, event_id),
    CONSTRAINT events_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    -- Newest-first listing and date ranges.
    INDEX events_account_time_idx (account_id, created_at, seq),
    -- The seed's filters, each followed by the listing order.
    INDEX events_account_user_idx (account_id, user_id, created_at, seq),
    INDEX events_account_action_idx (account_id, action, created_at, seq),
    INDEX events_account_resource_type_idx (account_id, resource_type, created_at, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The account's Merkle tree, stored as tiles: each row holds up to 16 hashes
-- of one tree level that is a multiple of 4 (see internal/merkle).
CREATE TABLE log_tiles (
    account_id BIGINT         NOT NULL,
    tile_level SMALLINT       NOT NULL,
    tile_index BIGINT         NOT NULL,
    hashes     VARBINARY(512) NOT NULL,
    PRIMARY KEY (account_id, tile_level, tile_index),
    CONSTRAINT log_tiles_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE = InnoDB;

-- Signed checkpoints, one per write batch of an account.
CREATE TABLE checkpoints (
    account_id BIGINT        NOT NULL,
    tree_size  BIGINT        NOT NULL,
    root_hash  VARBINARY(32) NOT NULL,
    note       TEXT          NOT NULL, -- the C2SP signed note
    created_at DATETIME(6)   NOT NULL,
    PRIMARY KEY (account_id, tree_size),
    CONSTRAINT checkpoints_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Keys the service generates for itself and must keep, such as the
-- checkpoint signing key when none is configured.
CREATE TABLE service_keys (
    purpose    VARCHAR(64) NOT NULL PRIMARY KEY,
    secret     TEXT        NOT NULL,
    created_at DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
