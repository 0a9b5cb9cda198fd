package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// RecordSigningKey notes that the service signs checkpoints with the key of
// the verifier key vkey from now on, unless that key is noted already. The
// notes only date the keys (SigningKeys): which keys verify comes from the
// configuration, never from the database.
func (db *DB) RecordSigningKey(ctx context.Context, vkey string) error {
	err := db.Update(ctx, func(tx *Tx) error {
		var n int
		err := tx.queryRow(ctx, `SELECT COUNT(*) FROM signing_keys WHERE verifier_key = ?`, vkey).Scan(&n)
		if err != nil || n > 0 {
			return tx.db.wrap(err, "select signing key")
		}
		_, err = tx.exec(ctx, `INSERT INTO signing_keys (verifier_key, first_used) VALUES (?, ?)`, vkey, tx.db.t(tx.now))
		return tx.db.wrap(err, "insert signing key")
	})
	if errors.Is(err, errUnique) {
		return nil
	}
	return err
}

// SigningKeys returns when the service first signed with each noted key,
// by verifier key.
func (db *DB) SigningKeys(ctx context.Context) (map[string]time.Time, error) {
	rows, err := db.rd.query(ctx, `SELECT verifier_key, first_used FROM signing_keys`)
	if err != nil {
		return nil, db.wrap(err, "select signing keys")
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var k string
		var at time.Time
		if err := rows.Scan(&k, timeValue{&at}); err != nil {
			return nil, db.wrap(err, "scan signing key")
		}
		out[k] = at
	}
	return out, db.wrap(rows.Err(), "select signing keys")
}
