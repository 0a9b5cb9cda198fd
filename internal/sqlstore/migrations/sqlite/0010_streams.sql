-- streams: destinations (SIEM tools) that an account's events are
-- delivered to, in seq order, from a durable cursor (docs/streams.md).
-- secret is sealed with a key derived from SECRET_KEY; it is never shown.
-- cursor_seq is the seq of the last event delivered. failures counts the
-- attempts that failed in a row and next_attempt_at is when the next is
-- due. lease_owner delivers the stream until lease_until: one process at
-- a time, whatever the number of processes sharing the database.
CREATE TABLE streams (
    account_id        INTEGER NOT NULL REFERENCES accounts (id),
    id                INTEGER NOT NULL,
    name              TEXT    NOT NULL,
    type              TEXT    NOT NULL,
    url               TEXT    NOT NULL,
    secret            TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    cursor_seq        INTEGER NOT NULL,
    failures          INTEGER NOT NULL,
    next_attempt_at   TEXT    NOT NULL,
    last_error        TEXT    NOT NULL,
    last_error_at     TEXT,
    last_delivered_at TEXT,
    lease_owner       TEXT    NOT NULL,
    lease_until       TEXT,
    created_by        INTEGER REFERENCES users (id),
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    PRIMARY KEY (account_id, id)
) WITHOUT ROWID;
-- The delivery engines of every process look for the streams due.
CREATE INDEX streams_due_idx ON streams (state, next_attempt_at);
