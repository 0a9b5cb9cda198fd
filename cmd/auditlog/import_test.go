package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/password/werkzeugtest"
	"github.com/auditlog/auditlog/internal/seedimport/seedtest"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// werkzeugOwner123 is a hash of "owner123" made by Debian 12's
// python3-werkzeug (internal/password/testdata/werkzeug.txt).
const werkzeugOwner123 = "pbkdf2:sha256:1000$8g5Alt2LEA9FbenN$ae0dab38d7389bf8ef722eecd0151c465416f33057dfe74a082e79b44b717815"

// seedFixture is the seed's sample data (its account, four users with the
// documented passwords, 100 audit logs) plus a second account and rows that
// try the edges: a NULL user, a user_id of no user, IPv6, ties in
// created_at, text beyond ASCII.
func seedFixture() ([]seedtest.Account, []seedtest.User, []seedtest.Log) {
	base := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	accounts := []seedtest.Account{
		{ID: 1, Name: "Sample Ecommerce Store", Domain: "sample-store.com", CreatedAt: base},
		{ID: 2, Name: "Zürich Bikes", Domain: "zurich-bikes.example", CreatedAt: base.Add(time.Hour)},
	}
	users := []seedtest.User{
		seedUser(1, "owner@sample-store.com", werkzeugtest.PBKDF2("owner123", "Ab3dEf6hIj9lMn2p", 260000), "Olivia", "Owner", "owner", 1, true, base),
		seedUser(2, "admin@sample-store.com", werkzeugtest.Scrypt("admin123", "Qr5tUv8xYz1bCd4f", 1<<15, 8, 1), "Adam", "Admin", "admin", 1, true, base.Add(time.Minute)),
		seedUser(3, "analyst@sample-store.com", werkzeugtest.PBKDF2("analyst123", "Gh7jKl0nOp3rSt6v", 1000), "Anna", "Analyst", "analyst", 1, true, base.Add(2*time.Minute)),
		seedUser(4, "creator@sample-store.com", werkzeugtest.Scrypt("creator123", "Wx9zAb2dCe5gHi8k", 1<<14, 8, 1), "Carlos", "Creator", "content_creator", 1, false, base.Add(3*time.Minute)),
		seedUser(5, "owner@zurich-bikes.example", werkzeugOwner123, "Jürg", "Müller", "owner", 2, true, base.Add(time.Hour)),
	}
	actions := []struct{ action, rtype string }{
		{"user_login", "user"}, {"product_created", "product"}, {"product_updated", "product"},
		{"order_created", "order"}, {"order_refunded", "order"}, {"user_logout", "user"},
	}
	r := rand.New(rand.NewPCG(18, 1))
	var logs []seedtest.Log
	for i := range 100 {
		a := actions[r.IntN(len(actions))]
		u := int64(1 + r.IntN(4))
		logs = append(logs, seedtest.Log{
			ID: int64(i + 1), UserID: u, AccountID: 1, Action: a.action, ResourceType: a.rtype, ResourceID: fmt.Sprint(1000 + r.IntN(9000)),
			Details: "Sample " + a.action, IPAddress: fmt.Sprintf("192.168.1.%d", u), UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
			// Rows are not inserted in time order; ids 91-100 share a second.
			CreatedAt: base.Add(time.Duration(100-i) * time.Hour).Add(time.Duration(min(i, 90)) * time.Second),
		})
	}
	for i := 90; i < 100; i++ {
		logs[i].CreatedAt = base.Add(time.Minute)
	}
	logs = append(logs,
		seedtest.Log{ID: 101, AccountID: 2, Action: "settings_updated", ResourceType: "settings", Details: "Währung auf CHF gesetzt\nzweite Zeile", CreatedAt: base.Add(2 * time.Hour)},
		seedtest.Log{ID: 102, UserID: 5, AccountID: 2, Action: "user_login", ResourceType: "user", ResourceID: "5", IPAddress: "2001:db8::7", UserAgent: "curl/8.0", CreatedAt: base.Add(3 * time.Hour)},
		seedtest.Log{ID: 103, UserID: 99, AccountID: 2, Action: "product_deleted", ResourceType: "product", ResourceID: "77", CreatedAt: base.Add(4 * time.Hour)},
	)
	return accounts, users, logs
}

func seedUser(id int64, email, hash, first, last, role string, account int64, active bool, created time.Time) seedtest.User {
	return seedtest.User{ID: id, Email: email, PasswordHash: hash, FirstName: first, LastName: last, Role: role, AccountID: account, IsActive: active, CreatedAt: created}
}

// buildSeed creates a seed-shaped database at url holding the fixture.
func buildSeed(t *testing.T, url string, accounts []seedtest.Account, users []seedtest.User, logs []seedtest.Log) *seedtest.DB {
	t.Helper()
	ctx := context.Background()
	sdb, err := seedtest.Create(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	if err := sdb.AddAccounts(ctx, accounts...); err != nil {
		t.Fatal(err)
	}
	if err := sdb.AddUsers(ctx, users...); err != nil {
		t.Fatal(err)
	}
	if err := sdb.AddLogs(ctx, logs...); err != nil {
		t.Fatal(err)
	}
	return sdb
}

// TestImportCommand imports a seed-shaped database on each engine into a
// fresh database of the same engine, and checks what arrived, the order,
// the export's verification, sign-in with the old passwords, a dry run and
// a second run.
func TestImportCommand(t *testing.T) {
	for _, eng := range sqltest.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			eng.Require(t)
			var sourceURL, targetURL string
			dir := t.TempDir()
			t.Chdir(dir)
			if eng.Name == "sqlite" {
				sourceURL = "sqlite:///" + filepath.Join(dir, "flask.db")
				targetURL = "sqlite:///" + filepath.Join(dir, "audit.db")
			} else {
				sourceURL, targetURL = eng.NewURL(t), eng.NewURL(t)
			}
			accounts, users, logs := seedFixture()
			if eng.Name != "sqlite" {
				// A user_id of no user needs SQLite, which (as the seed
				// runs it) does not enforce foreign keys.
				logs = logs[:len(logs)-1]
			}
			counts := fmt.Sprintf("2 new account(s), 5 new user(s), %d new event(s), 2 account.imported event(s)", len(logs))
			sdb := buildSeed(t, sourceURL, accounts, users, logs)
			// The URL as SQLAlchemy spells it.
			from := sourceURL
			if s, ok := strings.CutPrefix(sourceURL, "sqlite:///"); ok && eng.Name == "sqlite" {
				from = "sqlite:////" + strings.TrimPrefix(s, "/")
			}
			from = strings.Replace(strings.Replace(from, "postgres://", "postgresql+psycopg2://", 1), "mysql://", "mysql+pymysql://", 1)
			env := envMap(map[string]string{"AUDITLOG_ENV": "development", "DATABASE_URL": targetURL, "LOG_LEVEL": "error"})

			// A dry run reads and checks everything and writes nothing.
			var out bytes.Buffer
			if err := runTest(t, []string{"import", "--from", from, "--dry-run"}, env, &out, &out); err != nil {
				t.Fatalf("dry run: %v\n%s", err, out.String())
			}
			if s := out.String(); !strings.Contains(s, "would import into") || !strings.Contains(s, counts) {
				t.Errorf("dry run said:\n%s", s)
			}
			db := openTarget(t, targetURL)
			if _, err := db.UserByEmail(t.Context(), "owner@sample-store.com"); err == nil {
				t.Fatal("the dry run created a user")
			}
			db.Close()

			// The import, with its progress on a pipe: nothing.
			out.Reset()
			var stderr bytes.Buffer
			if err := runTest(t, []string{"import", "--from", from, "--batch", "40"}, env, &out, &stderr); err != nil {
				t.Fatalf("import: %v\n%s%s", err, out.String(), stderr.String())
			}
			if stderr.Len() != 0 {
				t.Errorf("import to a pipe wrote to stderr: %q", stderr.String())
			}
			if s := out.String(); !strings.Contains(s, "imported into") || !strings.Contains(s, counts) ||
				(eng.Name == "sqlite") != strings.Contains(s, "1 event(s) name a user_id that is no user") || !strings.Contains(s, "events/s") || strings.Contains(s, "refused") {
				t.Errorf("import said:\n%s", s)
			}
			if strings.Contains(out.String(), "secret") {
				t.Error("the summary shows the source's password")
			}
			db = openTarget(t, targetURL)
			defer db.Close()
			ctx := t.Context()
			checkImported(t, db, accounts, users, logs)

			// The export verifies.
			var vkey, exp bytes.Buffer
			if err := runTest(t, []string{"verifier-key"}, env, &vkey, io.Discard); err != nil {
				t.Fatal(err)
			}
			acct := accountByDomain(t, db, "sample-store.com")
			if err := runTest(t, []string{"export", "--account", fmt.Sprint(acct.ID), "--format", "ndjson"}, env, &exp, io.Discard); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "export.ndjson")
			os.WriteFile(file, exp.Bytes(), 0o600)
			out.Reset()
			if err := runTest(t, []string{"verify", "--key", strings.TrimSpace(vkey.String()), file}, envMap(nil), &out, &out); err != nil {
				t.Fatalf("verify the imported account's export: %v\n%s", err, out.String())
			}

			// Users sign in with their old passwords; the hash becomes argon2id.
			cfg := config.Default()
			a := app.New(app.Deps{Store: db, Signer: sqltest.Signer(t), Hasher: password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}),
				Config: cfg, SecretKey: []byte("import-test")})
			defer a.Close(ctx)
			for _, c := range []struct{ email, pw string }{{"owner@sample-store.com", "owner123"}, {"admin@sample-store.com", "admin123"}, {"owner@zurich-bikes.example", "owner123"}} {
				before, _ := db.UserByEmail(ctx, c.email)
				if _, err := a.Login(ctx, app.NewClient("192.0.2.1", "test"), app.Credentials{Email: c.email, Password: c.pw + "x"}); err == nil {
					t.Errorf("%s signed in with a wrong password", c.email)
				}
				if _, err := a.Login(ctx, app.NewClient("192.0.2.1", "test"), app.Credentials{Email: c.email, Password: c.pw}); err != nil {
					t.Fatalf("%s: sign-in with the seed's password: %v", c.email, err)
				}
				after, _ := db.UserByEmail(ctx, c.email)
				if !password.IsLegacy(before.PasswordHash) || !strings.HasPrefix(after.PasswordHash, "$argon2id$") {
					t.Errorf("%s: hash %.20s… before, %.20s… after; want Werkzeug, then argon2id", c.email, before.PasswordHash, after.PasswordHash)
				}
			}
			if _, err := a.Login(ctx, app.NewClient("192.0.2.1", "test"), app.Credentials{Email: "creator@sample-store.com", Password: "creator123"}); err == nil {
				t.Error("a user inactive in the seed signed in")
			}
			if err := a.Flush(ctx); err != nil {
				t.Fatal(err)
			}

			// A second run finds nothing new and writes nothing.
			size := logSize(t, db, acct.ID)
			out.Reset()
			if err := runTest(t, []string{"import", "--from", from}, env, &out, &out); err != nil {
				t.Fatalf("second import: %v\n%s", err, out.String())
			}
			if s := out.String(); !strings.Contains(s, "nothing new to import") || !strings.Contains(s, fmt.Sprintf("2 account(s), 5 user(s), %d event(s)", len(logs))) {
				t.Errorf("second import said:\n%s", s)
			}
			if got := logSize(t, db, acct.ID); got != size {
				t.Errorf("the second run appended %d events", got-size)
			}

			// A new row in the seed: the third run adds it alone.
			if err := sdb.AddLogs(ctx, seedtest.Log{ID: 104, UserID: 1, AccountID: 1, Action: "order_fulfilled", ResourceType: "order", ResourceID: "1234", CreatedAt: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
				t.Fatal(err)
			}
			out.Reset()
			stderr.Reset()
			if err := runTest(t, []string{"import", "--from", from, "--progress", "always"}, env, &out, &stderr); err != nil {
				t.Fatalf("third import: %v\n%s", err, out.String())
			}
			if s := stderr.String(); !strings.Contains(s, "checking the seed's audit logs:") || !strings.Contains(s, "importing:") || !strings.Contains(s, "100%") {
				t.Errorf("progress bars:\n%q", s)
			}
			if s := out.String(); !strings.Contains(s, "0 new account(s), 0 new user(s), 1 new event(s), 1 account.imported event(s)") {
				t.Errorf("third import said:\n%s", s)
			}
			if got := logSize(t, db, acct.ID); got != size+2 {
				t.Errorf("the third run appended %d events; want 2 (the row and account.imported)", got-size)
			}
		})
	}
}

func openTarget(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func accountByDomain(t *testing.T, db *sqlstore.DB, domain string) *audit.Account {
	t.Helper()
	var a *audit.Account
	err := db.Update(t.Context(), func(tx *sqlstore.Tx) error {
		var err error
		a, err = tx.AccountByDomain(t.Context(), domain)
		return err
	})
	if err != nil {
		t.Fatalf("account %s: %v", domain, err)
	}
	return a
}

func logSize(t *testing.T, db *sqlstore.DB, accountID int64) int {
	t.Helper()
	events, err := db.EventsAfter(t.Context(), accountID, nil, 0, 1<<40, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}

// checkImported compares the target with the seed's rows: accounts, users,
// and each account's log in the seed's order (created_at, then id), with
// the import recorded last.
func checkImported(t *testing.T, db *sqlstore.DB, accounts []seedtest.Account, users []seedtest.User, logs []seedtest.Log) {
	t.Helper()
	ctx := t.Context()
	ourAccount := map[int64]*audit.Account{}
	for _, sa := range accounts {
		a := accountByDomain(t, db, sa.Domain)
		if a.Name != sa.Name || !a.CreatedAt.Equal(sa.CreatedAt) {
			t.Errorf("account %s: %q created %v; want %q created %v", sa.Domain, a.Name, a.CreatedAt, sa.Name, sa.CreatedAt)
		}
		ourAccount[sa.ID] = a
	}
	ourUser := map[int64]*audit.User{}
	for _, su := range users {
		u, err := db.UserByEmail(ctx, su.Email)
		if err != nil {
			t.Fatalf("user %s: %v", su.Email, err)
		}
		if u.AccountID != ourAccount[su.AccountID].ID || string(u.Role) != su.Role || u.IsActive != su.IsActive || u.FirstName != su.FirstName ||
			u.LastName != su.LastName || !u.CreatedAt.Equal(su.CreatedAt) || u.PasswordHash != su.PasswordHash {
			t.Errorf("user %s: %+v; want %+v", su.Email, u, su)
		}
		ourUser[su.ID] = u
	}
	for _, sa := range accounts {
		var want []seedtest.Log
		for _, l := range logs {
			if l.AccountID == sa.ID {
				want = append(want, l)
			}
		}
		// The seed's order; MySQL's DATETIME keeps whole seconds.
		trunc := func(tm time.Time) time.Time {
			if db.Engine() == sqlstore.MySQL {
				return tm.Truncate(time.Second)
			}
			return tm
		}
		for i := range want {
			want[i].CreatedAt = trunc(want[i].CreatedAt)
		}
		sortLogs(want)
		got, err := db.EventsAfter(ctx, ourAccount[sa.ID].ID, nil, 0, 1<<40, 100000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want)+1 {
			t.Fatalf("account %s holds %d events; want %d and account.imported", sa.Domain, len(got), len(want))
		}
		for i, l := range want {
			e := got[i]
			if e.EventID != fmt.Sprintf("seed-%d", l.ID) || !e.CreatedAt.Equal(l.CreatedAt) || e.Action != l.Action || e.ResourceType != l.ResourceType ||
				e.ResourceID != l.ResourceID || e.Details != l.Details || e.IPAddress != l.IPAddress || e.UserAgent != l.UserAgent {
				t.Errorf("event %d: %s %v %s %s/%s %q %s %q; want seed row %+v", e.Seq, e.EventID, e.CreatedAt, e.Action, e.ResourceType, e.ResourceID, e.Details, e.IPAddress, e.UserAgent, l)
			}
			switch u := ourUser[l.UserID]; {
			case l.UserID == 0 && e.ActorType != audit.ActorSystem:
				t.Errorf("event %s: actor %s; want system", e.EventID, e.ActorType)
			case l.UserID != 0 && u == nil && (e.ActorType != "former_user" || e.ActorID != fmt.Sprintf("seed-user-%d", l.UserID)):
				t.Errorf("event %s: actor %s %s; want former_user seed-user-%d", e.EventID, e.ActorType, e.ActorID, l.UserID)
			case u != nil && (e.UserID != u.ID || e.ActorEmail != u.Email):
				t.Errorf("event %s: user %d %s; want %d %s", e.EventID, e.UserID, e.ActorEmail, u.ID, u.Email)
			}
		}
		last := got[len(got)-1]
		if last.Action != "account.imported" || last.ActorType != audit.ActorSystem || last.ActorName != "auditlog import" || !strings.Contains(last.Details, fmt.Sprintf("%d events", len(want))) ||
			strings.Contains(last.Details, "secret") {
			t.Errorf("last event %s %s %q; want account.imported by the system", last.Action, last.ActorType, last.Details)
		}
	}
}

func sortLogs(ls []seedtest.Log) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0; j-- {
			a, b := ls[j-1], ls[j]
			if a.CreatedAt.Before(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID) {
				break
			}
			ls[j-1], ls[j] = b, a
		}
	}
}

// TestImportRefuses checks the import's refusals: a source it cannot
// reach or that is not the seed's, and rows the service's validation
// refuses, which stop the import before anything is written unless
// --skip-invalid.
func TestImportRefuses(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	targetURL := "sqlite:///" + filepath.Join(dir, "audit.db")
	env := envMap(map[string]string{"AUDITLOG_ENV": "development", "DATABASE_URL": targetURL, "LOG_LEVEL": "error"})
	other := "sqlite:///" + filepath.Join(dir, "other.db")
	odb, err := seedtest.Create(t.Context(), other)
	if err != nil {
		t.Fatal(err)
	}
	odb.Exec(t.Context(), `DROP TABLE audit_logs`)
	odb.Close()
	for _, tc := range []struct{ name, from, want string }{
		{"unreachable server", "postgresql+psycopg2://flask:s3cretpw@127.0.0.1:1/audit_logs", "cannot reach"},
		{"unreachable MySQL", "mysql+pymysql://flask:s3cretpw@127.0.0.1:1/audit_logs", "cannot reach"},
		{"no such file", "sqlite:////nonexistent/flask.db", "no such file"},
		{"not the seed's tables", other, "has no table audit_logs or audit_log"},
		{"not a URL", "ftp://example.com/x", "database URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runTest(t, []string{"import", "--from", tc.from}, env, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("import --from %s: %v; want an error saying %q", tc.from, err, tc.want)
			}
			if strings.Contains(err.Error()+out.String(), "s3cretpw") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
	var out bytes.Buffer
	if err := runTest(t, []string{"import"}, env, &out, &out); err == nil || !strings.Contains(out.String(), "--from") {
		t.Errorf("import without --from: %v, %q", err, out.String())
	}

	// Invalid rows: nothing is written, each is listed.
	accounts, users, logs := seedFixture()
	users = append(users, seedUser(6, "root@sample-store.com", werkzeugtest.PBKDF2("x", "y", 10), "R", "Oot", "superadmin", 1, true, time.Now()),
		seedUser(7, "plain@sample-store.com", "not-a-hash", "P", "Lain", "analyst", 1, true, time.Now()))
	logs = append(logs, seedtest.Log{ID: 200, UserID: 1, AccountID: 1, Action: "Order Created", CreatedAt: time.Now()},
		seedtest.Log{ID: 201, UserID: 1, AccountID: 1, Action: "order_created", IPAddress: "not-an-ip", CreatedAt: time.Now()},
		seedtest.Log{ID: 202, UserID: 6, AccountID: 1, Action: "order_created", CreatedAt: time.Now()})
	from := "sqlite:///" + filepath.Join(dir, "flask.db")
	buildSeed(t, from, accounts, users, logs)
	out.Reset()
	err = runTest(t, []string{"import", "--from", from}, env, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("import of invalid rows: %v; want a refusal", err)
	}
	for _, want := range []string{"4 row(s) refused", "users id 6: role must be one of", "users id 7: password_hash is not a Werkzeug hash",
		"audit_logs id 200: action must be", "audit_logs id 201: ip_address must be"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the summary does not say %q:\n%s", want, out.String())
		}
	}
	db := openTarget(t, targetURL)
	defer db.Close()
	if _, err := db.UserByEmail(t.Context(), "owner@sample-store.com"); err == nil {
		t.Fatal("a refused import created a user")
	}
	out.Reset()
	if err := runTest(t, []string{"import", "--from", from, "--skip-invalid"}, env, &out, &out); err != nil {
		t.Fatalf("import --skip-invalid: %v\n%s", err, out.String())
	}
	if s := out.String(); !strings.Contains(s, "2 new account(s), 5 new user(s), 104 new event(s)") || !strings.Contains(s, "4 row(s) refused") {
		t.Errorf("import --skip-invalid said:\n%s", s)
	}
	e, err := db.EventsAfter(t.Context(), accountByDomain(t, db, "sample-store.com").ID, nil, 0, 1<<40, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range e {
		if ev.EventID == "seed-202" && (ev.ActorType != "former_user" || ev.ActorID != "seed-user-6") {
			t.Errorf("the event of a refused user: actor %s %s; want former_user seed-user-6", ev.ActorType, ev.ActorID)
		}
	}
}

// TestImportAccountMap imports a seed account into an existing account of
// another domain, named by --account-map, and checks the map's errors.
func TestImportAccountMap(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	targetURL := "sqlite:///" + filepath.Join(dir, "audit.db")
	env := envMap(map[string]string{"AUDITLOG_ENV": "development", "DATABASE_URL": targetURL, "LOG_LEVEL": "error"})
	from := "sqlite:///" + filepath.Join(dir, "flask.db")
	accounts, users, logs := seedFixture()
	buildSeed(t, from, accounts, users, logs)
	db := openTarget(t, targetURL)
	defer db.Close()
	existing := &audit.Account{Name: "Sample Store (new home)", Domain: "shop.sample-store.example"}
	if err := db.Update(t.Context(), func(tx *sqlstore.Tx) error { return tx.CreateAccount(t.Context(), existing) }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ m, want string }{
		{"9=1", "the seed has no account 9"},
		{"1=999", "no account 999 in this database"},
		{"1", "want SEED_ID=OUR_ID pairs"},
		{"1=2,1=3", "mapped twice"},
	} {
		var out bytes.Buffer
		err := runTest(t, []string{"import", "--from", from, "--account-map", tc.m}, env, &out, &out)
		if err == nil || !strings.Contains(err.Error()+out.String(), tc.want) {
			t.Errorf("--account-map %s: %v\n%s; want an error saying %q", tc.m, err, out.String(), tc.want)
		}
	}
	var out bytes.Buffer
	if err := runTest(t, []string{"import", "--from", from, "--account-map", fmt.Sprintf("1=%d", existing.ID)}, env, &out, &out); err != nil {
		t.Fatalf("import --account-map: %v\n%s", err, out.String())
	}
	if s := out.String(); !strings.Contains(s, "1 new account(s), 5 new user(s), 103 new event(s), 2 account.imported event(s)") {
		t.Errorf("import --account-map said:\n%s", s)
	}
	owner, err := db.UserByEmail(t.Context(), "owner@sample-store.com")
	if err != nil || owner.AccountID != existing.ID {
		t.Fatalf("the seed's owner is in account %v (%v); want the mapped account %d", owner, err, existing.ID)
	}
	if n := logSize(t, db, existing.ID); n != 101 {
		t.Errorf("the mapped account holds %d events; want the 100 of the seed account and account.imported", n)
	}
	var again bytes.Buffer
	if err := runTest(t, []string{"import", "--from", from, "--account-map", fmt.Sprintf("1=%d", existing.ID)}, env, &again, &again); err != nil || !strings.Contains(again.String(), "nothing new to import") {
		t.Errorf("second import --account-map: %v\n%s", err, again.String())
	}
}
