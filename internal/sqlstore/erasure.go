package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/auditlog/auditlog/internal/audit"
)

// Erasure of personal data (docs/privacy.md). An erased event keeps every
// column its leaf holds in clear text and its commitment, and loses its
// personal fields and its salt: the log, its proofs and checkpoints stay
// valid, and a verifier checks the event by its commitment alone
// (docs/verification.md §8). The rest follows the events: their search
// columns, the analytics party counts they were counted in, and chat turns
// that quoted the subject's email.

// ErasureSubject says whose personal data an erasure removes, resolved to
// what the events hold. An event matches when it is not erased yet and:
// UserID acted in it or it is about that user (resource user/UserID);
// ActorID acted in it; its actor email is one of Emails; or its details,
// metadata or changes contain one of Emails (case-insensitively).
type ErasureSubject struct {
	UserID  int64
	ActorID string
	Emails  []string // lower case
}

// ErasedEvents is what erasing a subject's events did.
type ErasedEvents struct {
	// Events is how many events were erased; Fields, per personal field
	// (audit.PersonalFields), how many of them held it.
	Events int64
	Fields map[string]int64
}

// erasureBatch is how many matching events one statement reads.
const erasureBatch = 500

// ActorEmails returns the distinct emails (lower case) that the account's
// events recorded for the user userID or the external actor actorID (the
// one that is set): an erasure looks for those emails in every event.
func (tx *Tx) ActorEmails(ctx context.Context, accountID, userID int64, actorID string) ([]string, error) {
	col, arg := "user_id", any(userID)
	if userID == 0 {
		col, arg = "actor_id", actorID
	}
	rows, err := tx.run.query(ctx, `SELECT DISTINCT LOWER(actor_email) FROM events WHERE account_id = ? AND `+col+` = ? AND actor_email <> ''`, accountID, arg)
	if err != nil {
		return nil, tx.db.wrap(err, "select actor emails")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, tx.db.wrap(err, "scan actor email")
		}
		out = append(out, s)
	}
	return out, tx.db.wrap(rows.Err(), "select actor emails")
}

// contains returns the pattern of a LIKE (ESCAPE '!') that finds s
// anywhere.
func contains(s string) string { return "%" + likeEscape(s) + "%" }

// where returns the condition an event of the subject meets, and its
// arguments.
func (s ErasureSubject) where() (string, []any) {
	var conds []string
	var args []any
	if s.UserID != 0 {
		conds = append(conds, `e.user_id = ?`, `(e.resource_type = ? AND e.resource_id = ?)`)
		args = append(args, s.UserID, audit.ResourceUser, fmt.Sprint(s.UserID))
	}
	if s.ActorID != "" {
		conds = append(conds, `e.actor_id = ?`)
		args = append(args, s.ActorID)
	}
	for _, m := range s.Emails {
		p := contains(m)
		conds = append(conds, `LOWER(e.actor_email) = ?`, `LOWER(e.details) LIKE ? ESCAPE '!'`,
			`LOWER(e.metadata) LIKE ? ESCAPE '!'`, `LOWER(e.changes) LIKE ? ESCAPE '!'`)
		args = append(args, m, p, p, p)
	}
	if len(conds) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// ErasePersonalData erases the personal data of every event of the account
// that matches the subject and still holds its salt: the personal fields
// become empty (metadata and changes NULL), the salt NULL, the search
// columns hold only the event's clear-text fields, and the event leaves
// the analytics counts per actor and client address. It reads the
// account's events in seq order, erasureBatch at a time, through the
// account's part of the (account_id, seq) key: its cost grows with the
// account's log, not with the whole table. An event erased by another
// transaction meanwhile is left to it (the update names the salt), so
// concurrent erasures never count an event twice.
func (tx *Tx) ErasePersonalData(ctx context.Context, accountID int64, s ErasureSubject) (ErasedEvents, error) {
	out := ErasedEvents{Fields: map[string]int64{}}
	cond, condArgs := s.where()
	parties := map[partyKey]int64{}
	var last int64
	for {
		args := append([]any{accountID, last}, condArgs...)
		rows, err := tx.run.queryBuilt(ctx, `SELECT `+eventColumns+` FROM events e WHERE e.account_id = ? AND e.seq > ? AND e.salt IS NOT NULL AND `+cond+
			` ORDER BY e.seq LIMIT `+fmt.Sprint(erasureBatch), args...)
		if err != nil {
			return out, tx.db.wrap(err, "select events to erase")
		}
		events, err := tx.db.scanEvents(rows, nil, nil)
		if err != nil {
			return out, err
		}
		for _, e := range events {
			erased := *e
			erased.ActorID, erased.ActorEmail, erased.ActorName, erased.IPAddress, erased.UserAgent, erased.Details = "", "", "", "", "", ""
			erased.Metadata, erased.Changes = nil, nil
			res, err := tx.run.exec(ctx, `UPDATE events SET actor_id = '', actor_email = '', actor_name = '', ip_address = '', user_agent = '', details = '',
				metadata = NULL, changes = NULL, salt = NULL, search_text = ?, ip_bin = NULL WHERE account_id = ? AND id = ? AND salt IS NOT NULL`,
				tx.db.dialect.searchText(searchTokens(&erased)), accountID, e.ID)
			if err != nil {
				return out, tx.db.wrap(err, "erase event")
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				continue
			}
			out.Events++
			for i, v := range []string{e.ActorID, e.ActorEmail, e.ActorName, e.IPAddress, e.UserAgent, e.Details, string(e.Metadata), string(e.Changes)} {
				if v != "" {
					out.Fields[audit.PersonalFields[i]]++
				}
			}
			day := GrainDay.Floor(e.CreatedAt).Unix()
			if v := ActorKey(e); v != "" {
				parties[partyKey{accountID, "actor", day, v}]++
			}
			if e.IPAddress != "" {
				parties[partyKey{accountID, "ip", day, e.IPAddress}]++
			}
		}
		if len(events) < erasureBatch {
			break
		}
		last = events[len(events)-1].Seq
	}
	return out, tx.uncountParties(ctx, parties)
}

// uncountParties takes erased events out of event_party_counts and their
// actors' weeks and months out of event_actor_counts: each row loses the
// events counted in it, and a row left at zero is deleted, so the erased
// email or address no longer appears among the top actors or addresses.
// Rows go in key order, as countEvents writes them.
func (tx *Tx) uncountParties(ctx context.Context, parties map[partyKey]int64) error {
	rollups := map[actorKey]int64{}
	actorRollups(rollups, parties, -1)
	if err := tx.addActorCounts(ctx, rollups); err != nil {
		return err
	}
	emptied := map[actorKey]bool{}
	for k := range rollups {
		emptied[actorKey{k.account, k.grain, k.bucket, ""}] = true
	}
	for k := range emptied {
		if err := tx.deleteEmptyActorCounts(ctx, k.account, k.grain, k.bucket); err != nil {
			return err
		}
	}
	keys := make([]partyKey, 0, len(parties))
	for k := range parties {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b partyKey) int {
		return cmp.Or(strings.Compare(a.dimension, b.dimension), cmp.Compare(a.bucket, b.bucket), strings.Compare(a.value, b.value))
	})
	for _, k := range keys {
		if _, err := tx.run.exec(ctx, `UPDATE event_party_counts SET n = n - ? WHERE account_id = ? AND dimension = ? AND bucket = ? AND value = ?`,
			parties[k], k.account, k.dimension, k.bucket, k.value); err != nil {
			return tx.db.wrap(err, "uncount erased events")
		}
		if _, err := tx.run.exec(ctx, `DELETE FROM event_party_counts WHERE account_id = ? AND dimension = ? AND bucket = ? AND value = ? AND n <= 0`,
			k.account, k.dimension, k.bucket, k.value); err != nil {
			return tx.db.wrap(err, "delete emptied party counts")
		}
	}
	return nil
}

// ErasedMarker replaces an erased email where text that is not part of
// the log quoted it (chat turns).
const ErasedMarker = "[erased]"

// RedactChat replaces every one of emails (case-insensitively) by
// ErasedMarker in the account's chat turns (question, answer, search and
// plan) and conversation titles, and returns how many turns and titles it
// changed. It reads the account's chat rows whose text holds an email.
func (tx *Tx) RedactChat(ctx context.Context, accountID int64, emails []string) (int64, error) {
	if len(emails) == 0 {
		return 0, nil
	}
	quoted := make([]string, len(emails))
	for i, m := range emails {
		quoted[i] = regexp.QuoteMeta(m)
	}
	re := regexp.MustCompile(`(?i)` + strings.Join(quoted, "|"))
	var n int64
	for _, t := range []struct{ table, cols string }{
		{"chat_turns", "question, answer, search, plan"},
		{"chat_conversations", "title"},
	} {
		cols := strings.Split(t.cols, ", ")
		var conds []string
		var args = []any{accountID}
		for _, c := range cols {
			for _, m := range emails {
				conds = append(conds, `LOWER(`+c+`) LIKE ? ESCAPE '!'`)
				args = append(args, contains(m))
			}
		}
		rows, err := tx.run.queryBuilt(ctx, `SELECT id, `+t.cols+` FROM `+t.table+` WHERE account_id = ? AND (`+strings.Join(conds, " OR ")+`) ORDER BY id`, args...)
		if err != nil {
			return n, tx.db.wrap(err, "select chat text to redact")
		}
		type row struct {
			id   int64
			text []string
		}
		var found []row
		for rows.Next() {
			r := row{text: make([]string, len(cols))}
			dest := []any{&r.id}
			for i := range r.text {
				dest = append(dest, &r.text[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return n, tx.db.wrap(err, "scan chat text")
			}
			found = append(found, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, tx.db.wrap(err, "select chat text to redact")
		}
		for _, r := range found {
			set := make([]string, len(cols))
			args := make([]any, 0, len(cols)+2)
			for i, c := range cols {
				set[i] = c + ` = ?`
				args = append(args, re.ReplaceAllString(r.text[i], ErasedMarker))
			}
			if _, err := tx.run.execBuilt(ctx, `UPDATE `+t.table+` SET `+strings.Join(set, ", ")+` WHERE account_id = ? AND id = ?`, append(args, accountID, r.id)...); err != nil {
				return n, tx.db.wrap(err, "redact chat text")
			}
			n++
		}
	}
	return n, nil
}

// AnonymizeUser replaces the user's email by email (an address that names
// no one), empties the names, makes the password unusable and deactivates
// the user. The caller ends the user's sessions and keys.
func (tx *Tx) AnonymizeUser(ctx context.Context, accountID, id int64, email string) error {
	_, err := tx.exec(ctx, `UPDATE users SET email = ?, first_name = '', last_name = '', password_hash = ?, is_active = ? WHERE account_id = ? AND id = ?`,
		email, "!erased", false, accountID, id)
	return tx.db.wrap(err, "anonymize user")
}

// DeleteUserChats deletes the user's chat conversations and their turns,
// and returns how many conversations it deleted.
func (tx *Tx) DeleteUserChats(ctx context.Context, accountID, userID int64) (int64, error) {
	if _, err := tx.exec(ctx, `DELETE FROM chat_turns WHERE account_id = ? AND conversation_id IN (SELECT id FROM chat_conversations WHERE account_id = ? AND user_id = ?)`,
		accountID, accountID, userID); err != nil {
		return 0, tx.db.wrap(err, "delete user chat turns")
	}
	res, err := tx.exec(ctx, `DELETE FROM chat_conversations WHERE account_id = ? AND user_id = ?`, accountID, userID)
	if err != nil {
		return 0, tx.db.wrap(err, "delete user chats")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// InsertErasure stores the record of an erasure.
func (tx *Tx) InsertErasure(ctx context.Context, r *audit.Erasure) error {
	fields, err := json.Marshal(r.Fields)
	if err != nil {
		return fmt.Errorf("sqlstore: encode erased fields: %w", err)
	}
	_, err = tx.exec(ctx, `INSERT INTO erasures (account_id, seq, subject_type, subject_ref, requested_by, events, fields, chat_turns, user_anonymized, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.AccountID, r.Seq, r.SubjectType, r.SubjectRef, nullable(r.RequestedBy), r.Events, string(fields), r.ChatTurns, r.UserAnonymized, tx.db.t(r.CreatedAt))
	return tx.db.wrap(err, "insert erasure")
}

// Erasures returns the account's erasures, newest first, at most limit.
func (db *DB) Erasures(ctx context.Context, accountID int64, limit int) ([]*audit.Erasure, error) {
	rows, err := db.rd.query(ctx, `SELECT account_id, seq, subject_type, subject_ref, requested_by, events, fields, chat_turns, user_anonymized, created_at
		FROM erasures WHERE account_id = ? ORDER BY seq DESC LIMIT ?`, accountID, limit)
	if err != nil {
		return nil, db.wrap(err, "select erasures")
	}
	defer rows.Close()
	out := []*audit.Erasure{}
	for rows.Next() {
		r := &audit.Erasure{}
		var fields string
		if err := rows.Scan(&r.AccountID, &r.Seq, &r.SubjectType, &r.SubjectRef, nullInt{&r.RequestedBy}, &r.Events, &fields, &r.ChatTurns, &r.UserAnonymized, timeValue{&r.CreatedAt}); err != nil {
			return nil, db.wrap(err, "scan erasure")
		}
		if err := json.Unmarshal([]byte(fields), &r.Fields); err != nil {
			return nil, fmt.Errorf("sqlstore: decode erased fields: %w", err)
		}
		out = append(out, r)
	}
	return out, db.wrap(rows.Err(), "select erasures")
}

// LockLog locks the account's log head until the transaction ends, as an
// append does first. An erasure takes it before it changes any event or
// count, so that it and the appends of the account take their locks in
// the same order.
func (tx *Tx) LockLog(ctx context.Context, accountID int64) error {
	var size int64
	err := tx.queryRow(ctx, `SELECT size FROM log_heads WHERE account_id = ?`+tx.db.dialect.forUpdate, accountID).Scan(&size)
	return tx.db.wrap(err, "lock log head")
}
