-- Erasures of personal data, as in migrations/postgres/0013_erasures.sql
-- (see there).
CREATE TABLE erasures (
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    seq             INTEGER NOT NULL,
    subject_type    TEXT    NOT NULL,
    subject_ref     TEXT    NOT NULL,
    requested_by    INTEGER,
    events          INTEGER NOT NULL,
    fields          TEXT    NOT NULL,
    chat_turns      INTEGER NOT NULL,
    user_anonymized INTEGER NOT NULL,
    created_at      TEXT    NOT NULL,
    PRIMARY KEY (account_id, seq)
) WITHOUT ROWID;
