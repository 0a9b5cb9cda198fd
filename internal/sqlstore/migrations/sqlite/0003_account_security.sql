-- Account security: MFA policy per account, TOTP enrolment and recovery
-- codes per user, and pending two-step logins (docs/security.md).

-- Security settings of an account; no row means the defaults (MFA not required).
CREATE TABLE account_settings (
    account_id  INTEGER NOT NULL PRIMARY KEY REFERENCES accounts (id),
    require_mfa INTEGER NOT NULL DEFAULT 0, -- owners and admins must use MFA
    updated_at  TEXT    NOT NULL
);

-- A user's TOTP enrolment: pending until confirmed with a first code.
CREATE TABLE user_mfa (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    secret     TEXT    NOT NULL,           -- the TOTP secret, sealed with AES-GCM under a key derived from SECRET_KEY
    enabled    INTEGER NOT NULL DEFAULT 0,
    last_step  INTEGER NOT NULL DEFAULT 0, -- time step of the last code accepted: no code at or before it is accepted again
    created_at TEXT    NOT NULL,
    enabled_at TEXT,
    PRIMARY KEY (account_id, user_id)
);

-- Single-use recovery codes; only a SHA-256 of each is kept.
CREATE TABLE mfa_recovery_codes (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    code_hash  TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (account_id, user_id, code_hash)
);

-- Logins that passed the password step and wait for the MFA code. Only an
-- HMAC of the token is kept, as for sessions.
CREATE TABLE mfa_challenges (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0
);
-- Ending a user's pending logins (password change, deactivation).
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (account_id, user_id);
-- Sweeping expired challenges.
CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);
