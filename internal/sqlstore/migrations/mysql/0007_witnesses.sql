-- Witnesses, as in migrations/postgres/0007_witnesses.sql (see there), in InnoDB.

CREATE TABLE checkpoint_cosignatures (
    account_id  BIGINT       NOT NULL,
    witness     VARCHAR(255) NOT NULL,
    tree_size   BIGINT       NOT NULL,
    cosignature TEXT         NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (account_id, witness, tree_size),
    KEY checkpoint_cosignatures_size (account_id, tree_size),
    CONSTRAINT checkpoint_cosignatures_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE witness_refusals (
    account_id    BIGINT       NOT NULL,
    witness       VARCHAR(255) NOT NULL,
    cosigned_size BIGINT       NOT NULL,
    tree_size     BIGINT       NOT NULL,
    status        INT          NOT NULL,
    reason        TEXT         NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    PRIMARY KEY (account_id, witness, cosigned_size),
    CONSTRAINT witness_refusals_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE signing_keys (
    verifier_key VARCHAR(255) NOT NULL PRIMARY KEY,
    first_used   DATETIME(6)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
