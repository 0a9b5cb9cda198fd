package sqlstore_test

import (
	"database/sql"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/sqlstore"
)

var rekeyEvents = flag.Int("rekey.events", 0, "TestSQLiteRekeyCost: events to load before timing the rebuild of events keyed by (account_id, id) on SQLite; 0 skips it")

// TestSQLiteRekeyCost measures what re-keying events by (account_id, id)
// would cost on SQLite, the rebuild that migration 0016 does not do there
// (docs/scaling.md has the figures and the reasons):
//
//	go test -run TestSQLiteRekeyCost -v -timeout 60m ./internal/sqlstore/ -args -rekey.events 1000000
//
// It loads the events with one INSERT … SELECT (search text included, so
// the full-text index fills as the write path fills it), then rebuilds
// the table in one transaction as a migration would: a new table with the
// composite key, every row copied, the old table dropped, the new one
// renamed and its indexes and triggers made again.
func TestSQLiteRekeyCost(t *testing.T) {
	if *rekeyEvents <= 0 {
		t.Skip("set -rekey.events to measure")
	}
	path := filepath.Join(t.TempDir(), "rekey.db")
	st, err := sqlstore.Open(t.Context(), "sqlite:///"+path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_pragma=synchronous(NORMAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO accounts (id, name, domain, created_at) VALUES (1, 'Shop', 'shop.example', '2026-01-01T00:00:00.000000Z')`)
	start := time.Now()
	exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO events (account_id, seq, user_id, action, resource_type, resource_id, details, ip_address, user_agent, created_at,
			actor_type, actor_id, actor_email, actor_name, event_id, outcome, metadata, salt, commitment, leaf_hash, search_text, ip_bin)
		SELECT 1, i, i % 50, 'order.' || (i % 20), 'order', 'ord_' || (i % 100000), 'changed the order status to shipped ' || i,
			'10.0.' || (i % 250) || '.' || (i % 200), 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0',
			strftime('%Y-%m-%dT%H:%M:%S.000000Z', 1700000000 + i, 'unixepoch'),
			'user', 'u' || (i % 50), 'user' || (i % 50) || '@shop.example', 'User ' || (i % 50), 'evt_' || i, 'success', '{"k":1}',
			randomblob(32), randomblob(32), randomblob(32),
			'order ' || (i % 20) || ' order ord ' || (i % 100000) || ' changed the order status to shipped ' || i || ' user ' || (i % 50),
			x'040a000001'
		FROM n`, *rekeyEvents)
	t.Logf("loaded %d events in %s", *rekeyEvents, time.Since(start).Round(time.Millisecond))
	exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	before := fileSize(t, path)

	var table string
	if err := db.QueryRowContext(t.Context(), `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'`).Scan(&table); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(t.Context(), `SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND type IN ('index', 'trigger') AND sql IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	var again []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		again = append(again, s)
	}
	rows.Close()
	rekeyed := strings.Replace(table, "id            INTEGER PRIMARY KEY AUTOINCREMENT", "id            INTEGER NOT NULL", 1)
	rekeyed = strings.Replace(rekeyed, "CREATE TABLE events (", "CREATE TABLE events_rekeyed (", 1)
	rekeyed = strings.Replace(rekeyed, "CONSTRAINT events_account_seq_key", "PRIMARY KEY (account_id, id),\n    CONSTRAINT events_account_seq_key", 1)
	if rekeyed == table || !strings.Contains(rekeyed, "PRIMARY KEY (account_id, id)") || strings.Contains(rekeyed, "AUTOINCREMENT") {
		t.Fatalf("cannot rewrite the events table:\n%s", table)
	}

	start = time.Now()
	exec(`BEGIN IMMEDIATE`)
	exec(rekeyed)
	exec(`INSERT INTO events_rekeyed SELECT * FROM events`)
	copied := time.Since(start)
	exec(`DROP TABLE events`)
	exec(`ALTER TABLE events_rekeyed RENAME TO events`)
	for _, s := range again {
		exec(s)
	}
	exec(`COMMIT`)
	took := time.Since(start)
	exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	after := fileSize(t, path)
	t.Logf("rebuilt events keyed by (account_id, id): %s in all (copy %s), %d indexes and triggers made again; file %d MB before, %d MB after",
		took.Round(time.Millisecond), copied.Round(time.Millisecond), len(again), before>>20, after>>20)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
