-- Witnesses, as in migrations/postgres/0007_witnesses.sql (see there).

-- checkpoint_cosignatures: one witness's cosignature line(s) of one
-- checkpoint. witness is the witness's key name and ID ("name+1a2b3c4d").
-- The largest tree_size per (account_id, witness) is the size the service
-- proves consistency from at its next request to that witness.
CREATE TABLE checkpoint_cosignatures (
    account_id  INTEGER        NOT NULL REFERENCES accounts (id),
    witness     TEXT           NOT NULL,
    tree_size   INTEGER        NOT NULL,
    cosignature TEXT           NOT NULL, -- the signature line(s) to append to the note
    created_at  TEXT           NOT NULL,
    PRIMARY KEY (account_id, witness, tree_size)
) WITHOUT ROWID;
CREATE INDEX checkpoint_cosignatures_size ON checkpoint_cosignatures (account_id, tree_size);

-- witness_refusals: a witness refused a checkpoint. cosigned_size is the
-- size the witness had last cosigned for the account when it refused: one
-- row (and one witness.refused audit event) per witness and cosigned size,
-- however many processes or checkpoints meet the same refusal.
CREATE TABLE witness_refusals (
    account_id    INTEGER        NOT NULL REFERENCES accounts (id),
    witness       TEXT           NOT NULL,
    cosigned_size INTEGER        NOT NULL,
    tree_size     INTEGER        NOT NULL, -- the size of the checkpoint refused
    status        INTEGER        NOT NULL, -- the witness's HTTP status
    reason        TEXT           NOT NULL,
    created_at    TEXT           NOT NULL,
    PRIMARY KEY (account_id, witness, cosigned_size)
) WITHOUT ROWID;

-- signing_keys: each checkpoint signing key (its public verifier key) the
-- service has signed with, and since when; a key stops being current when
-- a newer one starts. Which keys verify comes from the configuration
-- (SIGNING_KEY, PREVIOUS_VERIFIER_KEYS), never from this table.
CREATE TABLE signing_keys (
    verifier_key TEXT           NOT NULL PRIMARY KEY,
    first_used   TEXT           NOT NULL
) WITHOUT ROWID;
