-- streams, as in migrations/sqlite/0010_streams.sql (see there), in
-- MySQL's types.
CREATE TABLE streams (
    account_id        BIGINT        NOT NULL,
    id                BIGINT        NOT NULL,
    name              VARCHAR(100)  NOT NULL,
    type              VARCHAR(20)   NOT NULL,
    url               VARCHAR(2000) NOT NULL,
    secret            TEXT          NOT NULL,
    state             VARCHAR(20)   NOT NULL,
    cursor_seq        BIGINT        NOT NULL,
    failures          INT           NOT NULL,
    next_attempt_at   DATETIME(6)   NOT NULL,
    last_error        VARCHAR(500)  NOT NULL,
    last_error_at     DATETIME(6)   NULL,
    last_delivered_at DATETIME(6)   NULL,
    lease_owner       VARCHAR(64)   NOT NULL,
    lease_until       DATETIME(6)   NULL,
    created_by        BIGINT        NULL,
    created_at        DATETIME(6)   NOT NULL,
    updated_at        DATETIME(6)   NOT NULL,
    PRIMARY KEY (account_id, id),
    CONSTRAINT streams_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    CONSTRAINT streams_created_by_fkey FOREIGN KEY (created_by) REFERENCES users (id),
    INDEX streams_due_idx (state, next_attempt_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
