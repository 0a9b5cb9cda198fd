-- Erasures of personal data, as in migrations/postgres/0013_erasures.sql
-- (see there), in InnoDB.
CREATE TABLE erasures (
    account_id      BIGINT      NOT NULL,
    seq             BIGINT      NOT NULL,
    subject_type    VARCHAR(16) NOT NULL,
    subject_ref     VARCHAR(80) NOT NULL,
    requested_by    BIGINT,
    events          BIGINT      NOT NULL,
    fields          TEXT        NOT NULL,
    chat_turns      BIGINT      NOT NULL,
    user_anonymized BOOLEAN     NOT NULL,
    created_at      DATETIME(6) NOT NULL,
    PRIMARY KEY (account_id, seq),
    CONSTRAINT erasures_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
