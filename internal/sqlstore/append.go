package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/merkle"
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

func (tx *Tx) appendAccountEvents(ctx context.Context, accountID int64, events []*audit.Event) error {
	signer := tx.db.signer
	if signer == nil {
		return errNoSigner
	}
	var size int64
	err := tx.queryRow(ctx, `SELECT size FROM log_heads WHERE account_id = ?`+tx.db.dialect.forUpdate, accountID).Scan(&size)
	if err != nil {
		return tx.db.wrap(err, fmt.Sprintf("lock log head of account %d", accountID))
	}
	// Under the head lock no other writer can add an event to this account,
	// so looking for earlier copies first and then inserting is race-free.
	fresh, dups, err := tx.resolveReplays(ctx, accountID, events)
	if err != nil || len(fresh) == 0 {
		return err
	}
	tiles := merkle.NewTiles(tx.db.tileLoader(ctx, tx.tx, accountID))
	for i, e := range fresh {
		e.Seq = size + int64(i) + 1
		if e.CreatedAt.IsZero() {
			e.CreatedAt = tx.now
		}
		e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Microsecond) // what every engine stores
		if !e.OccurredAt.IsZero() {
			e.OccurredAt = e.OccurredAt.UTC().Truncate(time.Microsecond)
		}
		merkle.Seal(e)
		if err := tiles.Append(e.Seq-1, e.LeafHash); err != nil {
			return fmt.Errorf("sqlstore: extend the log of account %d: %w", accountID, err)
		}
	}
	if err := tx.insertEvents(ctx, fresh); err != nil {
		return err
	}
	if err := tx.assignIDs(ctx, accountID, size, fresh); err != nil {
		return err
	}
	for _, d := range dups {
		*d[0] = *d[1]
		d[0].Replayed = true
	}
	newSize := size + int64(len(fresh))
	root, err := tiles.Root(newSize)
	if err != nil {
		return fmt.Errorf("sqlstore: root of the log of account %d: %w", accountID, err)
	}
	if err := tx.saveTiles(ctx, accountID, tiles.Changed()); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `UPDATE log_heads SET size = ?, root_hash = ? WHERE account_id = ?`, newSize, root[:], accountID); err != nil {
		return tx.db.wrap(err, "advance log head")
	}
	cp := merkle.Checkpoint{Origin: merkle.Origin(signer.Name(), accountID), Size: newSize, Root: root}
	note, err := signer.Sign(cp)
	if err != nil {
		return fmt.Errorf("sqlstore: sign checkpoint: %w", err)
	}
	_, err = tx.exec(ctx, `INSERT INTO checkpoints (account_id, tree_size, root_hash, note, created_at) VALUES (?, ?, ?, ?, ?)`,
		accountID, newSize, root[:], string(note), tx.db.t(tx.now))
	return tx.db.wrap(err, "insert checkpoint")
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
		rows, err := tx.tx.QueryContext(ctx, tx.db.dialect.rebind(`SELECT `+eventColumns+` FROM events e
			WHERE e.account_id = ? AND e.event_id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`), append([]any{accountID}, chunk...)...)
		if err != nil {
			return nil, nil, tx.db.wrap(err, "look up event ids")
		}
		for rows.Next() {
			e := &audit.Event{}
			dest, finish := eventDest(e)
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, nil, tx.db.wrap(err, "scan event")
			}
			if err := finish(); err != nil {
				rows.Close()
				return nil, nil, err
			}
			stored[e.EventID] = e
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, tx.db.wrap(err, "look up event ids")
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
		if _, err := tx.exec(ctx, query, args...); err != nil {
			return tx.db.wrap(err, "insert events")
		}
	}
	return nil
}

// assignIDs reads back the IDs of the events just written after size, by
// their seq values: portable across engines and bulk paths.
func (tx *Tx) assignIDs(ctx context.Context, accountID, size int64, events []*audit.Event) error {
	rows, err := tx.tx.QueryContext(ctx, tx.db.dialect.rebind(`SELECT seq, id FROM events WHERE account_id = ? AND seq > ? AND seq <= ?`),
		accountID, size, size+int64(len(events)))
	if err != nil {
		return tx.db.wrap(err, "read new event ids")
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var seq, id int64
		if err := rows.Scan(&seq, &id); err != nil {
			return tx.db.wrap(err, "scan event id")
		}
		if i := seq - size - 1; i >= 0 && i < int64(len(events)) {
			events[i].ID = id
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return tx.db.wrap(err, "read new event ids")
	}
	if n != len(events) {
		return fmt.Errorf("sqlstore: wrote %d events to account %d but read back %d ids", len(events), accountID, n)
	}
	return nil
}
