package sqlstore

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// Witness storage (migration 0007): the cosignatures witnesses returned for
// each account's checkpoints and their refusals. The service's cosigner
// (package app) writes them; the checkpoint reads (Checkpoint, ProveEvent,
// ProveConsistency) append the cosignatures to the notes they return, so
// that every checkpoint served and exported carries them.

// SaveCosignature stores a witness's cosignature line(s) of the account's
// checkpoint of the given size. Storing the same one twice (two processes
// asked the witness) keeps the first.
func (db *DB) SaveCosignature(ctx context.Context, accountID, size int64, witness, lines string) error {
	err := db.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO checkpoint_cosignatures (account_id, witness, tree_size, cosignature, created_at)
			VALUES (?, ?, ?, ?, ?)`, accountID, witness, size, lines, tx.db.t(tx.now))
		return tx.db.wrap(err, "insert cosignature")
	})
	if errors.Is(err, errUnique) {
		return nil
	}
	return err
}

// LastCosigned returns the size of the account's latest checkpoint that the
// witness cosigned as far as the store knows, 0 when none.
func (db *DB) LastCosigned(ctx context.Context, accountID int64, witness string) (int64, error) {
	var size *int64
	err := db.rd.queryRow(ctx, `SELECT MAX(tree_size) FROM checkpoint_cosignatures WHERE account_id = ? AND witness = ?`,
		accountID, witness).Scan(&size)
	if err != nil {
		return 0, db.wrap(err, "select last cosigned size")
	}
	if size == nil {
		return 0, nil
	}
	return *size, nil
}

// withCosignatures appends to c's note the cosignature lines stored for it,
// in the order of the witnesses' names, and lists the witnesses.
func (db *DB) withCosignatures(ctx context.Context, q runner, c *Checkpoint) error {
	if c == nil {
		return nil
	}
	c.LogNote = c.Note
	rows, err := q.query(ctx, `SELECT witness, cosignature FROM checkpoint_cosignatures
		WHERE account_id = ? AND tree_size = ? ORDER BY witness`, c.AccountID, c.Size)
	if err != nil {
		return db.wrap(err, "select cosignatures")
	}
	defer rows.Close()
	var b strings.Builder
	b.WriteString(c.Note)
	for rows.Next() {
		var w, lines string
		if err := rows.Scan(&w, &lines); err != nil {
			return db.wrap(err, "scan cosignature")
		}
		b.WriteString(lines)
		c.CosignedBy = append(c.CosignedBy, w)
	}
	c.Note = b.String()
	return db.wrap(rows.Err(), "select cosignatures")
}

// LatestCosigned returns the account's latest checkpoint that at least
// quorum of the given witnesses cosigned, with the cosignatures appended
// to its note. It returns audit.ErrNotFound when there is none.
func (db *DB) LatestCosigned(ctx context.Context, accountID int64, witnesses []string, quorum int) (*Checkpoint, error) {
	if len(witnesses) == 0 || quorum < 1 {
		return nil, audit.ErrNotFound
	}
	var c *Checkpoint
	err := db.view(ctx, func(tx runner) error {
		args := []any{accountID}
		for _, w := range witnesses {
			args = append(args, w)
		}
		args = append(args, quorum)
		rows, err := tx.queryBuilt(ctx, `SELECT tree_size FROM checkpoint_cosignatures
			WHERE account_id = ? AND witness IN (?`+strings.Repeat(", ?", len(witnesses)-1)+`)
			GROUP BY tree_size HAVING COUNT(*) >= ? ORDER BY tree_size DESC LIMIT 1`, args...)
		if err != nil {
			return db.wrap(err, "select latest cosigned size")
		}
		var size int64
		found := rows.Next()
		if found {
			err = rows.Scan(&size)
		}
		rows.Close()
		if err = db.wrap(errors.Join(err, rows.Err()), "select latest cosigned size"); err != nil {
			return err
		}
		if !found {
			return audit.ErrNotFound
		}
		if c, err = db.checkpoint(ctx, tx, accountID, size); err != nil {
			return err
		}
		return db.withCosignatures(ctx, tx, c)
	})
	return c, err
}

// WitnessRefusal is a witness's refusal of one of an account's checkpoints.
type WitnessRefusal struct {
	AccountID int64
	Witness   string // the witness's key name and ID
	// CosignedSize is the size the witness had last cosigned for the
	// account when it refused; TreeSize the size of the checkpoint refused.
	CosignedSize, TreeSize int64
	Status                 int // the witness's HTTP status
	Reason                 string
	CreatedAt              time.Time
}

// ErrRefusalRecorded is InsertWitnessRefusal's error when the refusal (the
// witness, the account and the size it last cosigned) is recorded already.
var ErrRefusalRecorded = errors.New("sqlstore: this witness refusal is recorded already")

// InsertWitnessRefusal records r in tx. It returns ErrRefusalRecorded when
// a refusal by the witness from the same cosigned size is recorded already
// (by this process or another), so that each refusal is reported once.
func (tx *Tx) InsertWitnessRefusal(ctx context.Context, r WitnessRefusal) error {
	_, err := tx.exec(ctx, `INSERT INTO witness_refusals (account_id, witness, cosigned_size, tree_size, status, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, r.AccountID, r.Witness, r.CosignedSize, r.TreeSize, r.Status, r.Reason, tx.db.t(tx.now))
	err = tx.db.wrap(err, "insert witness refusal")
	if errors.Is(err, errUnique) {
		return ErrRefusalRecorded
	}
	return err
}

// WitnessState is what the store knows of one witness and one account.
type WitnessState struct {
	Witness      string
	CosignedSize int64 // the latest size it cosigned, 0 when none
	// Refusal is its latest refusal of a checkpoint larger than
	// CosignedSize (one it has not cosigned since), or nil.
	Refusal *WitnessRefusal
}

// WitnessStates returns the state of each given witness for the account,
// in the order given.
func (db *DB) WitnessStates(ctx context.Context, accountID int64, witnesses []string) ([]WitnessState, error) {
	out := make([]WitnessState, 0, len(witnesses))
	err := db.view(ctx, func(tx runner) error {
		for _, w := range witnesses {
			st := WitnessState{Witness: w}
			var size *int64
			if err := tx.queryRow(ctx, `SELECT MAX(tree_size) FROM checkpoint_cosignatures WHERE account_id = ? AND witness = ?`,
				accountID, w).Scan(&size); err != nil {
				return db.wrap(err, "select last cosigned size")
			}
			if size != nil {
				st.CosignedSize = *size
			}
			r := &WitnessRefusal{AccountID: accountID, Witness: w}
			err := tx.queryRow(ctx, `SELECT cosigned_size, tree_size, status, reason, created_at FROM witness_refusals
				WHERE account_id = ? AND witness = ? AND tree_size > ? ORDER BY cosigned_size DESC LIMIT 1`,
				accountID, w, st.CosignedSize).Scan(&r.CosignedSize, &r.TreeSize, &r.Status, &r.Reason, timeValue{&r.CreatedAt})
			switch err = db.wrap(err, "select witness refusal"); {
			case err == nil:
				st.Refusal = r
			case !errors.Is(err, audit.ErrNotFound):
				return err
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// UncosignedLogs returns up to limit accounts, after the given account ID
// and in ID order, whose log has grown past the latest size the witness
// cosigned (as far as the store knows): the logs a cosigner has yet to
// submit to it, such as after a restart.
func (db *DB) UncosignedLogs(ctx context.Context, witness string, after int64, limit int) ([]int64, error) {
	rows, err := db.rd.query(ctx, `SELECT h.account_id FROM log_heads h
		WHERE h.account_id > ? AND h.size > 0 AND h.size > COALESCE((SELECT MAX(c.tree_size) FROM checkpoint_cosignatures c
			WHERE c.account_id = h.account_id AND c.witness = ?), 0)
		ORDER BY h.account_id LIMIT ?`, after, witness, limit)
	if err != nil {
		return nil, db.wrap(err, "select uncosigned logs")
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, db.wrap(err, "scan uncosigned log")
		}
		out = append(out, id)
	}
	return out, db.wrap(rows.Err(), "select uncosigned logs")
}
