package sqlstore_test

import (
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// BenchmarkReadPath measures the reads behind every signed-in request, on
// every engine this run reaches: finding the session and its user
// (SessionPrincipal), a first page of 50 events unfiltered (the log head
// gives the total) and filtered by action (a COUNT and a page), over one
// account of 10,000 events; on SQLite also the first page read column by
// column (page-columns) rather than packed. It is the store's share of a
// GET /api/audit-logs request; statement preparation is part of it.
// cpu-ns/op is the process's CPU time per read.
func BenchmarkReadPath(b *testing.B) {
	for _, e := range sqltest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			ctx := b.Context()
			a := &audit.Account{Name: "Bench", Domain: "bench.example.com"}
			u := &audit.User{Email: "admin@bench.example.com", FirstName: "Adam", LastName: "Admin", Role: audit.RoleAdmin, IsActive: true, PasswordHash: "x"}
			sess := &audit.Session{TokenHash: "bench-session"}
			err := db.Update(ctx, func(tx *sqlstore.Tx) error {
				if err := tx.CreateAccount(ctx, a); err != nil {
					return err
				}
				u.AccountID = a.ID
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				sess.AccountID, sess.UserID, sess.ExpiresAt = a.ID, u.ID, tx.Now().AddDate(0, 0, 1)
				return tx.CreateSession(ctx, sess)
			})
			if err != nil {
				b.Fatal(err)
			}
			for range 10 {
				evs := benchEvents(a.ID, 1000)
				for i, e := range evs {
					e.UserID = u.ID
					if i%10 == 0 {
						e.Action = "user_login"
					}
				}
				err := db.Update(ctx, func(tx *sqlstore.Tx) error {
					_, err := tx.AppendEvents(ctx, sqltest.Signer(b), evs...)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			// The server engines plan from statistics that autovacuum
			// would gather; it is off here, so gather them as after any
			// bulk load. SQLite keeps none unless asked, and the service
			// never asks, so it runs as deployed.
			if e.Name != "sqlite" {
				if err := db.Analyze(ctx); err != nil {
					b.Fatal(err)
				}
			}
			page := audit.PageRequest{Page: 1, PerPage: 50}
			for _, bench := range []struct {
				name string
				read func() error
			}{
				{"session", func() error { _, _, _, _, err := db.SessionPrincipal(ctx, sess.TokenHash); return err }},
				{"page", func() error { _, err := db.Events(ctx, a.ID, audit.EventFilter{}, page); return err }},
				{"page-by-action", func() error {
					_, err := db.Events(ctx, a.ID, audit.EventFilter{Action: "user_login"}, page)
					return err
				}},
				// SQLite reads a page packed (exportrow.go); this is the
				// same page read column by column, as before.
				{"page-columns", func() error {
					sqlstore.UnpackedReadsForTest(db, true)
					defer sqlstore.UnpackedReadsForTest(db, false)
					_, err := db.Events(ctx, a.ID, audit.EventFilter{}, page)
					return err
				}},
			} {
				if bench.name == "page-columns" && e.Name != "sqlite" {
					continue
				}
				b.Run(bench.name, func(b *testing.B) {
					cpu0 := processCPU()
					defer func() { b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op") }()
					for b.Loop() {
						if err := bench.read(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
