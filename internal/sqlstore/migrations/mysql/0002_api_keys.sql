-- API keys of platform services. Only a SHA-256 hash of the secret is kept;
-- the prefix, which is part of the key, finds the row.
CREATE TABLE api_keys (
    id           BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id   BIGINT        NOT NULL,
    name         VARCHAR(100)  NOT NULL,
    prefix       VARCHAR(32)   NOT NULL,
    secret_hash  VARBINARY(32) NOT NULL,
    scopes       VARCHAR(255)  NOT NULL, -- space-separated, e.g. "events:write events:read"
    created_by   BIGINT        NULL,
    created_at   DATETIME(6)   NOT NULL,
    last_used_at DATETIME(6)   NULL,
    revoked_at   DATETIME(6)   NULL,
    CONSTRAINT api_keys_prefix_key UNIQUE (prefix),
    CONSTRAINT api_keys_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    CONSTRAINT api_keys_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    -- GET /api/api-keys lists an account's keys.
    INDEX api_keys_account_idx (account_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
