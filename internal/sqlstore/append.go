package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
)

// insertChunk is how many events one multi-row INSERT carries: 25 columns
// each, well under every engine's limit on placeholders.
const insertChunk = 500

// AppendEvents appends events to their accounts' logs and signs a
// checkpoint of each changed log with signer. It is the one write path for
// events; tlog.Append holds the algorithm (head lock, replays, seq, sealing,
// tiles, checkpoint), and the transaction provides its storage. It returns,
// per event and in order, the stored event and whether it was a replay of
// one stored earlier under the same EventID. The events given are not
// changed: when Update retries the transaction, the retry appends them
// afresh, and only the committed attempt's results reach the caller (and
// OnCommit). The events written are added to the analytics counts in the
// same transaction.
func (tx *Tx) AppendEvents(ctx context.Context, signer *tlog.Signer, events ...*audit.Event) ([]audit.Appended, error) {
	res, err := tlog.Append(ctx, txLog{tx}, signer, tx.now, events)
	var fork *tlog.ForkError
	if errors.As(err, &fork) {
		tx.db.signed.Stop(fork)
		return nil, &audit.Error{Code: audit.EUNAVAILABLE, Err: err, Message: ErrSigningStopped.Message}
	}
	if err != nil {
		return nil, err
	}
	n := len(tx.appended)
	for _, r := range res {
		if !r.Replayed {
			tx.appended = append(tx.appended, r.Event)
		}
	}
	// The analytics counts (analytics.go) move with the log, in the same
	// transaction.
	if err := tx.countEvents(ctx, tx.appended[n:]); err != nil {
		return nil, err
	}
	return res, nil
}

// txLog is the storage of tlog.Append in a write transaction.
type txLog struct{ tx *Tx }

var _ tlog.Store = txLog{}

// LoadTiles implements tlog.TileStore.
func (l txLog) LoadTiles(ctx context.Context, keys map[int64][]tlog.TileKey) (map[int64]map[tlog.TileKey][]byte, error) {
	return l.tx.db.loadTiles(ctx, l.tx.run, keys)
}

// LockHeads implements tlog.Store with one SELECT … FOR UPDATE.
func (l txLog) LockHeads(ctx context.Context, accounts []int64) (map[int64]int64, error) {
	tx := l.tx
	args := make([]any, len(accounts))
	for i, a := range accounts {
		args[i] = a
	}
	rows, err := tx.run.queryBuilt(ctx, `SELECT account_id, size FROM log_heads WHERE account_id IN (?`+
		strings.Repeat(", ?", len(accounts)-1)+`) ORDER BY account_id`+tx.db.dialect.forUpdate, args...)
	if err != nil {
		return nil, tx.db.wrap(err, "lock log heads")
	}
	defer rows.Close()
	sizes := make(map[int64]int64, len(accounts))
	for rows.Next() {
		var a, size int64
		if err := rows.Scan(&a, &size); err != nil {
			return nil, tx.db.wrap(err, "scan log head")
		}
		sizes[a] = size
	}
	if err := rows.Err(); err != nil {
		return nil, tx.db.wrap(err, "lock log heads")
	}
	for _, a := range accounts {
		if _, ok := sizes[a]; !ok {
			return nil, fmt.Errorf("sqlstore: no log for account %d: %w", a, audit.ErrNotFound)
		}
	}
	return sizes, nil
}

// StoredEvents implements tlog.Store, insertChunk event IDs a query.
func (l txLog) StoredEvents(ctx context.Context, accountID int64, eventIDs []string) (map[string]*audit.Event, error) {
	tx := l.tx
	stored := map[string]*audit.Event{}
	for start := 0; start < len(eventIDs); start += insertChunk {
		chunk := eventIDs[start:min(start+insertChunk, len(eventIDs))]
		args := make([]any, 0, 1+len(chunk))
		args = append(args, accountID)
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := tx.run.queryBuilt(ctx, `SELECT `+eventColumns+` FROM events e
			WHERE e.account_id = ? AND e.event_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, tx.db.wrap(err, "look up event ids")
		}
		page, err := tx.db.scanEvents(rows, nil, nil)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			stored[e.EventID] = e
		}
	}
	return stored, nil
}

// InsertEvents implements tlog.Store: by COPY where the engine has a bulk
// path, else by multi-row INSERTs of insertChunk rows.
func (l txLog) InsertEvents(ctx context.Context, events []*audit.Event) error {
	return l.tx.insertEvents(ctx, events)
}

func (tx *Tx) insertEvents(ctx context.Context, events []*audit.Event) error {
	if tx.db.dialect.copyEvents != nil && tx.conn != nil {
		rows := make([][]any, len(events))
		for i, e := range events {
			rows[i] = eventRow(e, conv{time: func(t time.Time) any { return t }, search: tx.db.dialect.searchText})
		}
		return tx.db.wrap(tx.db.dialect.copyEvents(ctx, tx.conn, eventInsertColumns, rows), "copy events")
	}
	one := "(?" + strings.Repeat(", ?", len(eventInsertColumns)-1) + ")"
	head := "INSERT INTO events (" + strings.Join(eventInsertColumns, ", ") + ") VALUES "
	for start := 0; start < len(events); start += insertChunk {
		chunk := events[start:min(start+insertChunk, len(events))]
		args := make([]any, 0, len(chunk)*len(eventInsertColumns))
		for _, e := range chunk {
			args = append(args, eventRow(e, conv{time: tx.db.dialect.timeArg, search: tx.db.dialect.searchText})...)
		}
		query := head + one + strings.Repeat(", "+one, len(chunk)-1)
		if _, err := tx.run.execBuilt(ctx, query, args...); err != nil {
			return tx.db.wrap(err, "insert events")
		}
	}
	return nil
}

// AssignIDs implements tlog.Store: it reads back the IDs of the events just
// written by account and seq, portable across engines and bulk paths, in
// one query for all accounts.
func (l txLog) AssignIDs(ctx context.Context, spans []tlog.Span) error {
	tx := l.tx
	var conds []string
	var args []any
	byAccount := make(map[int64]tlog.Span, len(spans))
	want := 0
	for _, s := range spans {
		conds = append(conds, "(account_id = ? AND seq > ? AND seq <= ?)")
		args = append(args, s.AccountID, s.Size, s.Size+int64(len(s.Events)))
		byAccount[s.AccountID] = s
		want += len(s.Events)
	}
	rows, err := tx.run.queryBuilt(ctx, `SELECT account_id, seq, id FROM events WHERE `+strings.Join(conds, " OR "),
		append(slices.Clip(tx.db.dialect.planFresh), args...)...)
	if err != nil {
		return tx.db.wrap(err, "read new event ids")
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var account, seq, id int64
		if err := rows.Scan(&account, &seq, &id); err != nil {
			return tx.db.wrap(err, "scan event id")
		}
		s, ok := byAccount[account]
		if !ok {
			continue
		}
		if i := seq - s.Size - 1; i >= 0 && i < int64(len(s.Events)) {
			s.Events[i].ID = id
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return tx.db.wrap(err, "read new event ids")
	}
	if n != want {
		return fmt.Errorf("sqlstore: wrote %d events but read back %d ids", want, n)
	}
	return nil
}

// SaveTiles implements tlog.Store: the grown tiles of every account are
// deleted, then all are inserted in multi-row INSERTs. Two statements
// whatever the number of accounts, and the same SQL on every engine (an
// upsert would differ).
func (l txLog) SaveTiles(ctx context.Context, tiles []tlog.AccountTile) error {
	tx := l.tx
	grown := map[int64][]tlog.TileKey{}
	for _, t := range tiles {
		if !t.New {
			grown[t.AccountID] = append(grown[t.AccountID], t.Key)
		}
	}
	if where, args := tileKeyConds(grown); where != "" {
		if _, err := tx.run.execBuilt(ctx, `DELETE FROM log_tiles WHERE `+where, args...); err != nil {
			return tx.db.wrap(err, "replace tiles")
		}
	}
	for start := 0; start < len(tiles); start += insertChunk {
		chunk := tiles[start:min(start+insertChunk, len(tiles))]
		args := make([]any, 0, 4*len(chunk))
		for _, t := range chunk {
			args = append(args, t.AccountID, t.Key.Level, t.Key.Index, t.Data)
		}
		if _, err := tx.run.execBuilt(ctx, `INSERT INTO log_tiles (account_id, tile_level, tile_index, hashes) VALUES (?, ?, ?, ?)`+
			strings.Repeat(", (?, ?, ?, ?)", len(chunk)-1), args...); err != nil {
			return tx.db.wrap(err, "save tiles")
		}
	}
	return nil
}

// AdvanceHeads implements tlog.Store: every head in one statement, the same
// SQL on every engine.
func (l txLog) AdvanceHeads(ctx context.Context, heads []tlog.SignedHead) error {
	tx := l.tx
	d := tx.db.dialect
	sizeArgs := make([]any, 0, 2*len(heads))
	rootArgs := make([]any, 0, 2*len(heads))
	inArgs := make([]any, 0, len(heads))
	for _, h := range heads {
		sizeArgs = append(sizeArgs, h.AccountID, h.Size)
		rootArgs = append(rootArgs, h.AccountID, h.Root[:])
		inArgs = append(inArgs, h.AccountID)
	}
	sizeCase := strings.Repeat(" WHEN ? THEN ?"+d.castInt, len(heads))
	rootCase := strings.Repeat(" WHEN ? THEN ?"+d.castBytes, len(heads))
	in := "?" + strings.Repeat(", ?", len(heads)-1)
	args := append(append(sizeArgs, rootArgs...), inArgs...)
	_, err := tx.run.execBuilt(ctx, `UPDATE log_heads SET size = CASE account_id`+sizeCase+` END, root_hash = CASE account_id`+rootCase+` END
		WHERE account_id IN (`+in+`)`, args...)
	return tx.db.wrap(err, "advance log heads")
}

// InsertCheckpoints implements tlog.Store: every checkpoint in one INSERT.
func (l txLog) InsertCheckpoints(ctx context.Context, heads []tlog.SignedHead) error {
	tx := l.tx
	args := make([]any, 0, 5*len(heads))
	for _, h := range heads {
		args = append(args, h.AccountID, h.Size, h.Root[:], string(h.Note), tx.db.t(tx.now))
	}
	_, err := tx.run.execBuilt(ctx, `INSERT INTO checkpoints (account_id, tree_size, root_hash, note, created_at) VALUES (?, ?, ?, ?, ?)`+
		strings.Repeat(", (?, ?, ?, ?, ?)", len(heads)-1), args...)
	if err == nil {
		tx.signed = append(tx.signed, heads...)
	}
	return tx.db.wrap(err, "insert checkpoints")
}

// ErrSigningStopped is the error of a write to an account whose stored log
// no longer extends the last checkpoint the service signed: someone changed
// or rolled back the stored log, and the service signs nothing more for the
// account until an operator has looked (and restarted it).
var ErrSigningStopped = &audit.Error{Code: audit.EUNAVAILABLE, Message: "Recording is stopped for this account: its stored audit log no longer extends the last checkpoint the service signed, so it was changed or rolled back outside the service. An operator must investigate; GET /api/audit-logs/verify shows where."}

// LastSigned implements tlog.Store: the head remembered for the account,
// or else the latest stored checkpoint whose note one of vkeys validly signs for
// the account's log (a row that is not is ignored: it proves nothing, and
// the log's verification reports it).
func (l txLog) LastSigned(ctx context.Context, accountID int64, vkeys []string) (tlog.Head, bool, error) {
	db := l.tx.db
	h, ok, stopped := db.signed.Get(accountID)
	if stopped != nil {
		return tlog.Head{}, false, stopped
	}
	if ok {
		return h, true, nil
	}
	c, err := db.checkpoint(ctx, l.tx.run, accountID, 0)
	if errors.Is(err, audit.ErrNotFound) {
		return tlog.Head{}, false, nil
	} else if err != nil {
		return tlog.Head{}, false, err
	}
	cp, err := tlog.OpenCheckpointAny([]byte(c.Note), vkeys)
	if err != nil || cp.Origin != tlog.Origin(tlog.KeyName(vkeys[0]), accountID) || cp.Size != c.Size || cp.Root != c.Root {
		return tlog.Head{}, false, nil
	}
	h = tlog.Head{Size: c.Size, Root: c.Root}
	db.signed.Advance(accountID, h)
	return h, true, nil
}

// SigningStopped returns why signing was stopped for the account, or nil
// while it is not.
func (db *DB) SigningStopped(accountID int64) error {
	if _, _, stopped := db.signed.Get(accountID); stopped != nil {
		return stopped
	}
	return nil
}

// InsertRawForBenchmark writes event rows with the engine's bulk path (COPY
// on PostgreSQL, multi-row INSERTs elsewhere) in one transaction, and
// nothing else: no log head, no tree, no checkpoint, no idempotency check.
// It exists only as the baseline that `auditlog bench` measures the real
// write path against; the rows it writes are not part of any verifiable log.
// The caller sets each event's AccountID, a Seq unique in the account and a
// Salt; the events given are not changed.
func (db *DB) InsertRawForBenchmark(ctx context.Context, events []*audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		rows := make([]*audit.Event, len(events))
		for i, e := range events {
			c := *e
			c.CreatedAt = tx.now
			c.Commitment, c.LeafHash = [32]byte{}, [32]byte{}
			rows[i] = &c
		}
		return tx.insertEvents(ctx, rows)
	})
}
