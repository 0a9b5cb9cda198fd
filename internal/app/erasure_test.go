package app_test

import (
	"testing"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// indexMatches counts the account's events that the engine's full-text
// index itself (not the events' columns) matches for one word: the FTS5
// table events_fts on SQLite, the tsvector search_tsv on PostgreSQL, the
// FULLTEXT index on MySQL. word is of a-z and 0-9 only.
func indexMatches(t *testing.T, db *sqlstore.DB, accountID int64, word string) int64 {
	t.Helper()
	switch db.Engine() {
	case sqlstore.Postgres:
		return sqltest.Count(t, db, `SELECT COUNT(*) FROM events WHERE account_id = ? AND search_tsv @@ to_tsquery('simple', ?)`, accountID, word)
	case sqlstore.MySQL:
		// The store writes each token of a-z and 0-9 as "xx" and the
		// token, so that no token is too short for InnoDB (searchtext.go).
		return sqltest.Count(t, db, `SELECT COUNT(*) FROM events WHERE account_id = ? AND MATCH (search_text) AGAINST (? IN BOOLEAN MODE)`, accountID, "+xx"+word)
	default:
		return sqltest.Count(t, db, `SELECT COUNT(*) FROM events_fts WHERE account_id = ? AND events_fts MATCH ?`, accountID, `"`+word+`"`)
	}
}

// TestErasureSearchIndexes: after an erasure the engine's full-text index
// no longer matches the erased words (the email's, the name's, the
// details'), looked up directly, and a search no longer finds them; the
// erased event's other words, and another person's event, still match;
// the other account's index is untouched.
func TestErasureSearchIndexes(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn, other := f.newTenant("acme"), f.newTenant("other")
		for _, acct := range []int64{tn.account.ID, other.account.ID} {
			if err := db.Update(f.ctx, func(tx *sqlstore.Tx) error {
				_, err := tx.AppendEvents(f.ctx, sqltest.Signer(t),
					&audit.Event{AccountID: acct, Action: "order.created", ResourceType: "order", ResourceID: "1001", ActorType: "customer",
						ActorID: "cust-42", ActorEmail: "jane.doe@customer.example", ActorName: "Jane Doe", IPAddress: "198.51.100.7",
						Details: "Order placed, to ship to Lyon"},
					&audit.Event{AccountID: acct, Action: "order.created", ResourceType: "order", ResourceID: "1002", ActorType: "customer",
						ActorID: "cust-7", ActorEmail: "bob@customer.example", ActorName: "Bob Roe", Details: "Order placed"})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		search := func(word string) int64 {
			t.Helper()
			page, err := f.app.ListEvents(f.ctx, tn.p, app.EventQuery{Search: word, Page: audit.PageRequest{Page: 1, PerPage: 10}})
			if err != nil {
				t.Fatal(err)
			}
			return int64(len(page.Events))
		}
		erased := []string{"jane", "doe", "lyon"}
		for _, w := range erased {
			if n, s := indexMatches(t, db, tn.account.ID, w), search(w); n != 1 || s != 1 {
				t.Fatalf("before the erasure, %q: the index matches %d events, a search finds %d; want 1", w, n, s)
			}
		}
		if _, err := f.app.Erase(f.ctx, tn.p, origin, app.ErasureRequest{Email: "Jane.Doe@customer.example"}); err != nil {
			t.Fatal(err)
		}
		for _, w := range erased {
			if n, s := indexMatches(t, db, tn.account.ID, w), search(w); n != 0 || s != 0 {
				t.Errorf("after the erasure, %q: the index matches %d events, a search finds %d; want none", w, n, s)
			}
			if n := indexMatches(t, db, other.account.ID, w); n != 1 {
				t.Errorf("the other account's index matches %q in %d events; want 1", w, n)
			}
		}
		for w, want := range map[string]int64{"bob": 1, "1001": 1, "placed": 1, "order": 2} {
			if n, s := indexMatches(t, db, tn.account.ID, w), search(w); n != want || s != want {
				t.Errorf("after the erasure, %q: the index matches %d events, a search finds %d; want %d", w, n, s, want)
			}
		}
	})
}
