package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
)

// insertChunk is how many events one multi-row INSERT carries: 23 columns
// each, well under every engine's limit on placeholders.
const insertChunk = 500

// eventInsertColumns are the columns the write path fills, in the order of
// eventRow.
var eventInsertColumns = []string{
	"account_id", "seq", "user_id", "action", "resource_type", "resource_id", "details", "ip_address", "user_agent",
	"created_at", "actor_type", "actor_id", "actor_email", "actor_name", "event_id", "occurred_at", "outcome",
	"metadata", "changes", "api_key_id", "salt", "commitment", "leaf_hash",
}

// eventRow returns an event's values for eventInsertColumns, with times
// converted by timeArg.
func eventRow(e *audit.Event, timeArg func(time.Time) any) []any {
	var occurred any
	if !e.OccurredAt.IsZero() {
		occurred = timeArg(e.OccurredAt)
	}
	return []any{
		e.AccountID, e.Seq, nullable(e.UserID), e.Action, e.ResourceType, e.ResourceID, e.Details, e.IPAddress, e.UserAgent,
		timeArg(e.CreatedAt), e.ActorType, e.ActorID, e.ActorEmail, e.ActorName, nullString(e.EventID), occurred, e.Outcome,
		nullBytes(e.Metadata), nullBytes(e.Changes), nullable(e.APIKeyID), e.Salt, e.Commitment[:], e.LeafHash[:],
	}
}

func nullable(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullBytes passes JSON text as a string (every engine stores it as text).
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// accountAppend is one account's share of an append.
type accountAppend struct {
	accountID int64
	size      int64 // the log's size before the append
	fresh     []*audit.Event
	dups      [][2]*audit.Event
	tiles     *tlog.Tiles
}

// appendEvents is AppendEvents' work. Per account it takes the head lock,
// sets replays aside and seals the new events into the account's tree; then
// it writes every account's events with one bulk insert, reads their IDs
// with one query, and signs and stores one checkpoint per account in one
// statement, so a batch that mixes many accounts costs few round trips.
func (tx *Tx) appendEvents(ctx context.Context, events []*audit.Event) error {
	signer := tx.db.signer
	if signer == nil {
		return errNoSigner
	}
	byAccount := map[int64][]*audit.Event{}
	var accounts []int64
	for _, e := range events {
		if _, seen := byAccount[e.AccountID]; !seen {
			accounts = append(accounts, e.AccountID)
		}
		byAccount[e.AccountID] = append(byAccount[e.AccountID], e)
	}
	slices.Sort(accounts)
	sizes, err := tx.lockHeads(ctx, accounts)
	if err != nil {
		return err
	}
	edges := make(map[int64][]tlog.TileKey, len(accounts))
	for _, accountID := range accounts {
		edges[accountID] = tlog.EdgeTiles(sizes[accountID])
	}
	edgeData, err := tx.db.loadTiles(ctx, tx.run, edges)
	if err != nil {
		return err
	}
	var work []*accountAppend
	var fresh []*audit.Event
	for _, accountID := range accounts {
		// Under the head lock no other writer can add an event to this
		// account, so looking for earlier copies first and then inserting
		// is race-free.
		a := &accountAppend{accountID: accountID, size: sizes[accountID]}
		if a.fresh, a.dups, err = tx.resolveReplays(ctx, accountID, byAccount[accountID]); err != nil {
			return err
		}
		if len(a.fresh) == 0 {
			continue
		}
		a.tiles = tlog.NewTiles(tx.db.tileLoader(ctx, tx.run, accountID))
		if err := a.tiles.Preload(edges[accountID], edgeData[accountID]); err != nil {
			return err
		}
		for i, e := range a.fresh {
			e.Seq = a.size + int64(i) + 1
			if e.CreatedAt.IsZero() {
				e.CreatedAt = tx.now
			}
			e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond) // what every engine stores
			if !e.OccurredAt.IsZero() {
				e.OccurredAt = e.OccurredAt.UTC().Truncate(time.Microsecond)
			}
			tlog.Seal(e)
			if err := a.tiles.Append(e.Seq-1, e.LeafHash); err != nil {
				return fmt.Errorf("sqlstore: extend the log of account %d: %w", accountID, err)
			}
		}
		work = append(work, a)
		fresh = append(fresh, a.fresh...)
	}
	if len(work) == 0 {
		return nil
	}
	if err := tx.insertEvents(ctx, fresh); err != nil {
		return err
	}
	if err := tx.assignIDs(ctx, work); err != nil {
		return err
	}
	var cpArgs, sizeArgs, rootArgs, inArgs []any
	var changed []accountTile
	for _, a := range work {
		for _, d := range a.dups {
			*d[0] = *d[1]
			d[0].Replayed = true
		}
		newSize := a.size + int64(len(a.fresh))
		root, err := a.tiles.Root(newSize)
		if err != nil {
			return fmt.Errorf("sqlstore: root of the log of account %d: %w", a.accountID, err)
		}
		for _, t := range a.tiles.Changed() {
			changed = append(changed, accountTile{a.accountID, t})
		}
		note, err := signer.Sign(tlog.Checkpoint{Origin: tlog.Origin(signer.Name(), a.accountID), Size: newSize, Root: root})
		if err != nil {
			return fmt.Errorf("sqlstore: sign checkpoint: %w", err)
		}
		cpArgs = append(cpArgs, a.accountID, newSize, root[:], string(note), tx.db.t(tx.now))
		sizeArgs = append(sizeArgs, a.accountID, newSize)
		rootArgs = append(rootArgs, a.accountID, root[:])
		inArgs = append(inArgs, a.accountID)
	}
	if err := tx.saveTiles(ctx, changed); err != nil {
		return err
	}
	// Every head in one statement: the same SQL on every engine.
	d := tx.db.dialect
	sizeCase := strings.Repeat(" WHEN ? THEN ?"+d.castInt, len(work))
	rootCase := strings.Repeat(" WHEN ? THEN ?"+d.castBytes, len(work))
	in := "?" + strings.Repeat(", ?", len(work)-1)
	args := append(append(append([]any{}, sizeArgs...), rootArgs...), inArgs...)
	if _, err := tx.run.execBuilt(ctx, `UPDATE log_heads SET size = CASE account_id`+sizeCase+` END, root_hash = CASE account_id`+rootCase+` END
		WHERE account_id IN (`+in+`)`, args...); err != nil {
		return tx.db.wrap(err, "advance log heads")
	}
	_, err = tx.run.execBuilt(ctx, `INSERT INTO checkpoints (account_id, tree_size, root_hash, note, created_at) VALUES (?, ?, ?, ?, ?)`+
		strings.Repeat(", (?, ?, ?, ?, ?)", len(work)-1), cpArgs...)
	return tx.db.wrap(err, "insert checkpoints")
}

// lockHeads locks the log heads of the accounts, in ascending account order
// (so that concurrent appends never deadlock), and returns their sizes. It
// returns audit.ErrNotFound when an account has no log.
func (tx *Tx) lockHeads(ctx context.Context, accounts []int64) (map[int64]int64, error) {
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

// resolveReplays splits the account's events into those to write and those
// whose EventID is already taken. An event whose EventID the account already
// holds becomes a replay of the stored event at once; a second event with
// the EventID of an earlier one in the same batch is returned in dups as
// {duplicate, original}, to become a replay once the original is written.
func (tx *Tx) resolveReplays(ctx context.Context, accountID int64, events []*audit.Event) (fresh []*audit.Event, dups [][2]*audit.Event, err error) {
	var ids []any
	seen := map[string]*audit.Event{}
	for _, e := range events {
		if e.EventID != "" && seen[e.EventID] == nil {
			seen[e.EventID] = e
			ids = append(ids, e.EventID)
		}
	}
	if len(ids) == 0 {
		return events, nil, nil
	}
	stored := map[string]*audit.Event{}
	for start := 0; start < len(ids); start += insertChunk {
		chunk := ids[start:min(start+insertChunk, len(ids))]
		rows, err := tx.run.queryBuilt(ctx, `SELECT `+eventColumns+` FROM events e
			WHERE e.account_id = ? AND e.event_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, append([]any{accountID}, chunk...)...)
		if err != nil {
			return nil, nil, tx.db.wrap(err, "look up event ids")
		}
		page, err := tx.db.scanEvents(rows, nil, nil)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range page {
			stored[e.EventID] = e
		}
	}
	for _, e := range events {
		switch {
		case e.EventID == "":
			fresh = append(fresh, e)
		case stored[e.EventID] != nil:
			*e = *stored[e.EventID]
			e.Replayed = true
		case seen[e.EventID] != e:
			dups = append(dups, [2]*audit.Event{e, seen[e.EventID]})
		default:
			fresh = append(fresh, e)
		}
	}
	return fresh, dups, nil
}

// insertEvents inserts the sealed events: by COPY where the engine has a
// bulk path, else by multi-row INSERTs of insertChunk rows.
func (tx *Tx) insertEvents(ctx context.Context, events []*audit.Event) error {
	if tx.db.dialect.copyEvents != nil && tx.conn != nil {
		rows := make([][]any, len(events))
		for i, e := range events {
			rows[i] = eventRow(e, func(t time.Time) any { return t })
		}
		return tx.db.wrap(tx.db.dialect.copyEvents(ctx, tx.conn, eventInsertColumns, rows), "copy events")
	}
	one := "(?" + strings.Repeat(", ?", len(eventInsertColumns)-1) + ")"
	head := "INSERT INTO events (" + strings.Join(eventInsertColumns, ", ") + ") VALUES "
	for start := 0; start < len(events); start += insertChunk {
		chunk := events[start:min(start+insertChunk, len(events))]
		args := make([]any, 0, len(chunk)*len(eventInsertColumns))
		for _, e := range chunk {
			args = append(args, eventRow(e, tx.db.dialect.timeArg)...)
		}
		query := head + one + strings.Repeat(", "+one, len(chunk)-1)
		if _, err := tx.run.execBuilt(ctx, query, args...); err != nil {
			return tx.db.wrap(err, "insert events")
		}
	}
	return nil
}

// assignIDs reads back the IDs of the events just written, by account and
// seq: portable across engines and bulk paths, one query for all accounts.
func (tx *Tx) assignIDs(ctx context.Context, work []*accountAppend) error {
	var conds []string
	var args []any
	byAccount := make(map[int64]*accountAppend, len(work))
	for _, a := range work {
		conds = append(conds, "(account_id = ? AND seq > ? AND seq <= ?)")
		args = append(args, a.accountID, a.size, a.size+int64(len(a.fresh)))
		byAccount[a.accountID] = a
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
		a := byAccount[account]
		if a == nil {
			continue
		}
		if i := seq - a.size - 1; i >= 0 && i < int64(len(a.fresh)) {
			a.fresh[i].ID = id
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return tx.db.wrap(err, "read new event ids")
	}
	want := 0
	for _, a := range work {
		want += len(a.fresh)
	}
	if n != want {
		return fmt.Errorf("sqlstore: wrote %d events but read back %d ids", want, n)
	}
	return nil
}

// InsertRawForBenchmark writes event rows with the engine's bulk path (COPY
// on PostgreSQL, multi-row INSERTs elsewhere) in one transaction, and
// nothing else: no log head, no tree, no checkpoint, no idempotency check.
// It exists only as the baseline that `auditlog bench` measures the real
// write path against; the rows it writes are not part of any verifiable log.
// The caller sets each event's AccountID and a Seq unique in the account.
func (db *DB) InsertRawForBenchmark(ctx context.Context, events []*audit.Event) error {
	return db.Update(ctx, func(tx *Tx) error {
		for _, e := range events {
			e.CreatedAt = tx.now
			e.Commitment, e.LeafHash = [32]byte{}, [32]byte{}
		}
		return tx.insertEvents(ctx, events)
	})
}
