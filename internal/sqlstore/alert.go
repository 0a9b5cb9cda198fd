package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// Alert rules (package alert evaluates them; docs/alerts.md): the rules,
// the position up to which each was evaluated, and the alerts raised, one
// row per rule, group and window.

// ErrAlertRaised is returned by InsertAlert when the alert was raised
// already (by this process or another): the rule, group key and bucket
// have a row.
var ErrAlertRaised = errors.New("sqlstore: the alert was raised already")

const alertRuleColumns = `r.account_id, r.id, r.name, r.action, r.query, r.threshold, r.window_seconds, r.group_by,
	r.enabled, r.default_key, r.position, r.created_by, r.created_at, r.updated_at,
	(SELECT MAX(a.created_at) FROM alerts a WHERE a.account_id = r.account_id AND a.rule_id = r.id)`

func scanAlertRule(s scanner, extra ...any) (*audit.AlertRule, error) {
	r := &audit.AlertRule{}
	var window int64
	var createdBy sql.NullInt64
	err := s.Scan(append([]any{&r.AccountID, &r.ID, &r.Name, &r.Action, &r.Query, &r.Threshold, &window, &r.GroupBy,
		&r.Enabled, &r.DefaultKey, &r.Position, &createdBy, timeValue{&r.CreatedAt}, timeValue{&r.UpdatedAt},
		timeValue{&r.LastTriggeredAt}}, extra...)...)
	if err != nil {
		return nil, err
	}
	r.Window, r.CreatedBy = time.Duration(window)*time.Second, createdBy.Int64
	return r, nil
}

// LogSize returns the size of the account's log as the transaction sees it.
func (tx *Tx) LogSize(ctx context.Context, accountID int64) (int64, error) {
	var size int64
	err := tx.queryRow(ctx, `SELECT size FROM log_heads WHERE account_id = ?`, accountID).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return size, tx.db.wrap(err, "select log size")
}

// CreateAlertRule stores a new rule, giving it the account's next rule ID,
// and sets its ID, CreatedAt and UpdatedAt. It returns audit.ErrNotFound
// when the account does not exist.
func (tx *Tx) CreateAlertRule(ctx context.Context, r *audit.AlertRule) error {
	// The account's row, locked, orders the creations of its rules, so
	// that two never take the same ID.
	var account int64
	if err := tx.queryRow(ctx, `SELECT id FROM accounts WHERE id = ?`+tx.db.dialect.forUpdate, r.AccountID).Scan(&account); err != nil {
		return tx.db.wrap(err, "lock account")
	}
	var id int64
	if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM alert_rules WHERE account_id = ?`, r.AccountID).Scan(&id); err != nil {
		return tx.db.wrap(err, "select next alert rule id")
	}
	r.ID, r.CreatedAt, r.UpdatedAt = id, tx.now, tx.now
	_, err := tx.exec(ctx, `INSERT INTO alert_rules (account_id, id, name, action, query, threshold, window_seconds, group_by,
		enabled, default_key, position, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.AccountID, r.ID, r.Name, r.Action, r.Query, r.Threshold, int64(r.Window/time.Second), r.GroupBy,
		r.Enabled, r.DefaultKey, r.Position, nullable(r.CreatedBy), tx.db.t(tx.now), tx.db.t(tx.now))
	return tx.db.wrap(err, "insert alert rule")
}

// AlertRuleForUpdate returns the account's rule, locked until the
// transaction ends, or audit.ErrNotFound.
func (tx *Tx) AlertRuleForUpdate(ctx context.Context, accountID, id int64) (*audit.AlertRule, error) {
	r, err := scanAlertRule(tx.queryRow(ctx, `SELECT `+alertRuleColumns+` FROM alert_rules r
		WHERE r.account_id = ? AND r.id = ?`+tx.db.dialect.forUpdate, accountID, id))
	return r, tx.db.wrap(err, "select alert rule")
}

// UpdateAlertRule stores every field of the rule that may change (all
// but its account, ID, creator and creation time) and sets UpdatedAt.
func (tx *Tx) UpdateAlertRule(ctx context.Context, r *audit.AlertRule) error {
	r.UpdatedAt = tx.now
	_, err := tx.exec(ctx, `UPDATE alert_rules SET name = ?, action = ?, query = ?, threshold = ?, window_seconds = ?,
		group_by = ?, enabled = ?, default_key = ?, position = ?, updated_at = ? WHERE account_id = ? AND id = ?`,
		r.Name, r.Action, r.Query, r.Threshold, int64(r.Window/time.Second), r.GroupBy, r.Enabled, r.DefaultKey,
		r.Position, tx.db.t(tx.now), r.AccountID, r.ID)
	return tx.db.wrap(err, "update alert rule")
}

// DeleteAlertRule deletes the account's rule and the record of its
// alerts (their alert.triggered events stay in the log). It returns
// audit.ErrNotFound when the account has no such rule.
func (tx *Tx) DeleteAlertRule(ctx context.Context, accountID, id int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM alerts WHERE account_id = ? AND rule_id = ?`, accountID, id); err != nil {
		return tx.db.wrap(err, "delete alerts")
	}
	res, err := tx.exec(ctx, `DELETE FROM alert_rules WHERE account_id = ? AND id = ?`, accountID, id)
	if err != nil {
		return tx.db.wrap(err, "delete alert rule")
	}
	if n, err := res.RowsAffected(); err != nil {
		return tx.db.wrap(err, "delete alert rule")
	} else if n == 0 {
		return audit.ErrNotFound
	}
	return nil
}

// AlertRules returns the account's rules in ID order.
func (db *DB) AlertRules(ctx context.Context, accountID int64) ([]*audit.AlertRule, error) {
	scan := func(s scanner) (*audit.AlertRule, error) { return scanAlertRule(s) }
	return selectAll(ctx, db, "select alert rules", scan,
		`SELECT `+alertRuleColumns+` FROM alert_rules r WHERE r.account_id = ? ORDER BY r.id`, accountID)
}

// AlertRule returns the account's rule, or audit.ErrNotFound.
func (db *DB) AlertRule(ctx context.Context, accountID, id int64) (*audit.AlertRule, error) {
	r, err := scanAlertRule(db.rd.queryRow(ctx, `SELECT `+alertRuleColumns+` FROM alert_rules r WHERE r.account_id = ? AND r.id = ?`, accountID, id))
	return r, db.wrap(err, "select alert rule")
}

// DueRule is an enabled rule that has events to evaluate: those with seq
// above Rule.Position and at most Head.
type DueRule struct {
	Rule *audit.AlertRule
	Head int64
}

// DueAlertRules returns the enabled rules of the given accounts (nil: of
// every account) whose position is behind their account's log.
func (db *DB) DueAlertRules(ctx context.Context, accounts []int64) ([]DueRule, error) {
	var out []DueRule
	for first := true; first || len(accounts) > 0; first = false {
		q := `SELECT ` + alertRuleColumns + `, h.size FROM alert_rules r JOIN log_heads h ON h.account_id = r.account_id
			WHERE r.enabled = ? AND r.position < h.size`
		args := []any{true}
		if accounts != nil {
			if len(accounts) == 0 {
				break
			}
			chunk := accounts[:min(len(accounts), 500)]
			accounts = accounts[len(chunk):]
			q += ` AND r.account_id IN (?` + strings.Repeat(", ?", len(chunk)-1) + `)`
			for _, a := range chunk {
				args = append(args, a)
			}
		}
		rows, err := db.rd.queryBuilt(ctx, q+` ORDER BY r.account_id, r.id`, args...)
		if err != nil {
			return nil, db.wrap(err, "select due alert rules")
		}
		for rows.Next() {
			var d DueRule
			if d.Rule, err = scanAlertRule(rows, &d.Head); err != nil {
				rows.Close()
				return nil, db.wrap(err, "scan due alert rule")
			}
			out = append(out, d)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, db.wrap(err, "select due alert rules")
		}
	}
	return out, nil
}

// AdvanceAlertRule moves the rule's position forward to position; a
// position already further (another process evaluated further) stays.
func (db *DB) AdvanceAlertRule(ctx context.Context, accountID, id, position int64) error {
	_, err := db.wr.exec(ctx, `UPDATE alert_rules SET position = ? WHERE account_id = ? AND id = ? AND position < ?`,
		position, accountID, id, position)
	return db.wrap(err, "advance alert rule")
}

// InsertAlert records an alert, or returns ErrAlertRaised when the rule
// raised it already for the same group key and bucket.
func (tx *Tx) InsertAlert(ctx context.Context, a *audit.Alert) error {
	var start any
	if !a.WindowStart.IsZero() {
		start = tx.db.t(a.WindowStart)
	}
	_, err := tx.exec(ctx, `INSERT INTO alerts (account_id, rule_id, group_key, bucket, window_start, event_count, trigger_seq, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.AccountID, a.RuleID, a.GroupKey, a.Bucket, start, a.Count, a.Trigger.Seq, tx.db.t(tx.now))
	err = tx.db.wrap(err, "insert alert")
	if errors.Is(err, errUnique) {
		return ErrAlertRaised
	}
	return err
}
