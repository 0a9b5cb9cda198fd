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

// TestCheckErasure: CheckErasure refuses what Erase refuses, with the same
// code and field, and accepts what Erase would do, without erasing or
// recording anything.
func TestCheckErasure(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		tn, other := f.newTenant("acme"), f.newTenant("other")
		analyst, _ := f.addUser(tn, audit.RoleAnalyst, "ana")
		_, admin := f.addUser(tn, audit.RoleAdmin, "adam")
		for _, c := range []struct {
			name  string
			p     *app.Principal
			in    app.ErasureRequest
			code  string
			field string
		}{
			{"a user of the account", tn.p, app.ErasureRequest{UserID: analyst.ID, AnonymizeUser: true}, "", ""},
			{"an actor", tn.p, app.ErasureRequest{ActorID: "cust-42"}, "", ""},
			{"an email of no user", tn.p, app.ErasureRequest{Email: "Jane@Customer.example"}, "", ""},
			{"a user of another account", tn.p, app.ErasureRequest{UserID: other.owner.ID}, audit.ENOTFOUND, ""},
			{"no such user", tn.p, app.ErasureRequest{UserID: 999999}, audit.ENOTFOUND, ""},
			{"another account's user's email, anonymised", tn.p, app.ErasureRequest{Email: other.owner.Email, AnonymizeUser: true}, audit.EINVALID, "anonymize_user"},
			{"an actor anonymised", tn.p, app.ErasureRequest{ActorID: "cust-42", AnonymizeUser: true}, audit.EINVALID, "anonymize_user"},
			{"the last owner anonymised", tn.p, app.ErasureRequest{UserID: tn.owner.ID, AnonymizeUser: true}, audit.ECONFLICT, "anonymize_user"},
			{"a bad email", tn.p, app.ErasureRequest{Email: "not-an-email"}, audit.EINVALID, "email"},
			{"nobody", tn.p, app.ErasureRequest{}, audit.EINVALID, ""},
			{"two subjects", tn.p, app.ErasureRequest{UserID: analyst.ID, ActorID: "cust-42"}, audit.EINVALID, ""},
			{"an admin", admin, app.ErasureRequest{UserID: analyst.ID}, audit.EFORBIDDEN, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				err := f.app.CheckErasure(f.ctx, c.p, c.in)
				if audit.ErrorCode(err) != c.code || audit.ErrorField(err) != c.field {
					t.Fatalf("CheckErasure = %v (field %q); want code %q, field %q", err, audit.ErrorField(err), c.code, c.field)
				}
				if c.code == "" {
					return
				}
				_, err = f.app.Erase(f.ctx, c.p, origin, c.in)
				if audit.ErrorCode(err) != c.code || audit.ErrorField(err) != c.field {
					t.Errorf("Erase = %v (field %q); CheckErasure said code %q, field %q", err, audit.ErrorField(err), c.code, c.field)
				}
			})
		}
		if list, err := f.app.Erasures(f.ctx, tn.p); err != nil || len(list) != 0 {
			t.Errorf("Erasures = %d, %v; want none", len(list), err)
		}
		if u, err := db.User(f.ctx, tn.account.ID, analyst.ID); err != nil || u.Email != analyst.Email || !u.IsActive {
			t.Errorf("the analyst after the checks: %+v, %v", u, err)
		}
	})
}
