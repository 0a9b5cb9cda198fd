-- Account security: MFA policy per account, TOTP enrolment and recovery
-- codes per user, and pending two-step logins (docs/security.md). The same
-- tables as migrations/sqlite/0003_account_security.sql.

-- Security settings of an account; no row means the defaults (MFA not required).
CREATE TABLE account_settings (
    account_id  BIGINT         NOT NULL PRIMARY KEY REFERENCES accounts (id),
    require_mfa BOOLEAN        NOT NULL DEFAULT FALSE, -- owners and admins must use MFA
    updated_at  TIMESTAMPTZ(6) NOT NULL
);

-- A user's TOTP enrolment: pending until confirmed with a first code.
CREATE TABLE user_mfa (
    account_id BIGINT         NOT NULL REFERENCES accounts (id),
    user_id    BIGINT         NOT NULL REFERENCES users (id),
    secret     VARCHAR(255)   NOT NULL,           -- the TOTP secret, sealed with AES-GCM under a key derived from SECRET_KEY
    enabled    BOOLEAN        NOT NULL DEFAULT FALSE,
    last_step  BIGINT         NOT NULL DEFAULT 0, -- time step of the last code accepted: no code at or before it is accepted again
    created_at TIMESTAMPTZ(6) NOT NULL,
    enabled_at TIMESTAMPTZ(6),
    PRIMARY KEY (account_id, user_id)
);

-- Single-use recovery codes; only a SHA-256 of each is kept.
CREATE TABLE mfa_recovery_codes (
    account_id BIGINT         NOT NULL REFERENCES accounts (id),
    user_id    BIGINT         NOT NULL REFERENCES users (id),
    code_hash  VARCHAR(64)    NOT NULL,
    created_at TIMESTAMPTZ(6) NOT NULL,
    used_at    TIMESTAMPTZ(6),
    PRIMARY KEY (account_id, user_id, code_hash)
);

-- Logins that passed the password step and wait for the MFA code. Only an
-- HMAC of the token is kept, as for sessions.
CREATE TABLE mfa_challenges (
    token_hash VARCHAR(128)   NOT NULL PRIMARY KEY,
    account_id BIGINT         NOT NULL REFERENCES accounts (id),
    user_id    BIGINT         NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ(6) NOT NULL,
    expires_at TIMESTAMPTZ(6) NOT NULL,
    attempts   INTEGER        NOT NULL DEFAULT 0
);
-- Ending a user's pending logins (password change, deactivation).
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (account_id, user_id);
-- Sweeping expired challenges.
CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);
