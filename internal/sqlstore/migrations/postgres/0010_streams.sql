-- streams, as in migrations/sqlite/0010_streams.sql (see there), in
-- PostgreSQL's types.
CREATE TABLE streams (
    account_id        BIGINT         NOT NULL REFERENCES accounts (id),
    id                BIGINT         NOT NULL,
    name              VARCHAR(100)   NOT NULL,
    type              VARCHAR(20)    NOT NULL,
    url               VARCHAR(2000)  NOT NULL,
    secret            TEXT           NOT NULL,
    state             VARCHAR(20)    NOT NULL,
    cursor_seq        BIGINT         NOT NULL,
    failures          INTEGER        NOT NULL,
    next_attempt_at   TIMESTAMPTZ(6) NOT NULL,
    last_error        VARCHAR(500)   NOT NULL,
    last_error_at     TIMESTAMPTZ(6),
    last_delivered_at TIMESTAMPTZ(6),
    lease_owner       VARCHAR(64)    NOT NULL,
    lease_until       TIMESTAMPTZ(6),
    created_by        BIGINT         REFERENCES users (id),
    created_at        TIMESTAMPTZ(6) NOT NULL,
    updated_at        TIMESTAMPTZ(6) NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX streams_due_idx ON streams (state, next_attempt_at);
