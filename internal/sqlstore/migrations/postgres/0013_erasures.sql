-- Erasures of personal data (docs/privacy.md): one row per erasure an owner
-- or operator ran. The row says what was erased, never the data: the
-- subject only as an opaque reference. seq is the seq of the erasure's own
-- audit event in the account's log, written in the same transaction, so it
-- is unique per account and names the erasure in the API.
CREATE TABLE erasures (
    account_id      BIGINT         NOT NULL REFERENCES accounts (id),
    seq             BIGINT         NOT NULL,
    subject_type    VARCHAR(16)    NOT NULL, -- user, actor or email
    subject_ref     VARCHAR(80)    NOT NULL, -- "user:N", or "actor:" / "email:" and a keyed hash
    requested_by    BIGINT,                  -- the owner who asked; NULL for an operator
    events          BIGINT         NOT NULL, -- events whose personal data was erased
    fields          TEXT           NOT NULL, -- JSON: per personal field, how many events held it
    chat_turns      BIGINT         NOT NULL, -- chat turns that quoted the subject's email, redacted
    user_anonymized BOOLEAN        NOT NULL,
    created_at      TIMESTAMPTZ(6) NOT NULL,
    PRIMARY KEY (account_id, seq)
);
