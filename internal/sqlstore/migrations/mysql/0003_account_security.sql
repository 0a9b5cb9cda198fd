-- Account security: MFA policy per account, TOTP enrolment and recovery
-- codes per user, and pending two-step logins (docs/security.md). The same
-- tables as migrations/sqlite/0003_account_security.sql, in InnoDB.

-- Security settings of an account; no row means the defaults (MFA not required).
CREATE TABLE account_settings (
    account_id  BIGINT      NOT NULL PRIMARY KEY,
    require_mfa BOOLEAN     NOT NULL DEFAULT FALSE, -- owners and admins must use MFA
    updated_at  DATETIME(6) NOT NULL,
    CONSTRAINT account_settings_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- A user's TOTP enrolment: pending until confirmed with a first code.
CREATE TABLE user_mfa (
    account_id BIGINT       NOT NULL,
    user_id    BIGINT       NOT NULL,
    secret     VARCHAR(255) NOT NULL,           -- the TOTP secret, sealed with AES-GCM under a key derived from SECRET_KEY
    enabled    BOOLEAN      NOT NULL DEFAULT FALSE,
    last_step  BIGINT       NOT NULL DEFAULT 0, -- time step of the last code accepted: no code at or before it is accepted again
    created_at DATETIME(6)  NOT NULL,
    enabled_at DATETIME(6)  NULL,
    PRIMARY KEY (account_id, user_id),
    CONSTRAINT user_mfa_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    CONSTRAINT user_mfa_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Single-use recovery codes; only a SHA-256 of each is kept.
CREATE TABLE mfa_recovery_codes (
    account_id BIGINT      NOT NULL,
    user_id    BIGINT      NOT NULL,
    code_hash  VARCHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    used_at    DATETIME(6) NULL,
    PRIMARY KEY (account_id, user_id, code_hash),
    CONSTRAINT mfa_recovery_codes_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    CONSTRAINT mfa_recovery_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Logins that passed the password step and wait for the MFA code. Only an
-- HMAC of the token is kept, as for sessions.
CREATE TABLE mfa_challenges (
    token_hash VARCHAR(128) NOT NULL PRIMARY KEY,
    account_id BIGINT       NOT NULL,
    user_id    BIGINT       NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    expires_at DATETIME(6)  NOT NULL,
    attempts   INTEGER      NOT NULL DEFAULT 0,
    CONSTRAINT mfa_challenges_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    CONSTRAINT mfa_challenges_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id),
    -- Ending a user's pending logins (password change, deactivation).
    INDEX mfa_challenges_user_idx (account_id, user_id),
    -- Sweeping expired challenges.
    INDEX mfa_challenges_expires_at_idx (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
