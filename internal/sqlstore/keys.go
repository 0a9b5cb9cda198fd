package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
)

// purposeCheckpoint names the checkpoint signing key in service_keys.
const purposeCheckpoint = "checkpoint-signing"

// StoredCheckpointKey returns the checkpoint signer key kept in the
// database. It never creates one: it returns audit.ErrNotFound when there is
// none yet, so commands that only read (auditlog verifier-key) leave the
// database as they found it.
func (db *DB) StoredCheckpointKey(ctx context.Context) (string, error) {
	var s string
	err := db.rd.queryRow(ctx, `SELECT secret FROM service_keys WHERE purpose = ?`, purposeCheckpoint).Scan(&s)
	return s, db.wrap(err, "select checkpoint key")
}

// CheckpointKey returns the checkpoint signer key kept in the database,
// generating and storing one named name on first use, and reports whether it
// generated it. Only the commands that write events call it (serve, and
// init-db --sample). Processes sharing the database race safely: the first insert
// wins and the others read it.
func (db *DB) CheckpointKey(ctx context.Context, name string) (skey string, created bool, err error) {
	read := func() (string, error) {
		var s string
		err := db.wr.queryRow(ctx, `SELECT secret FROM service_keys WHERE purpose = ?`, purposeCheckpoint).Scan(&s)
		return s, db.wrap(err, "select checkpoint key")
	}
	skey, err = read()
	if err == nil || !errors.Is(err, audit.ErrNotFound) {
		return skey, false, err
	}
	skey, _, err = tlog.GenerateKey(name)
	if err != nil {
		return "", false, fmt.Errorf("generate checkpoint key: %w", err)
	}
	err = db.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO service_keys (purpose, secret, created_at) VALUES (?, ?, ?)`, purposeCheckpoint, skey, tx.db.t(tx.now))
		return tx.db.wrap(err, "insert checkpoint key")
	})
	if errors.Is(err, errUnique) {
		skey, err = read()
		return skey, false, err
	}
	return skey, err == nil, err
}
