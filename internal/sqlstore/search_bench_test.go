package sqlstore_test

import (
	"database/sql"
	"flag"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/generate"
	"github.com/auditlog/auditlog/internal/query"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// searchBenchWords are the details' vocabulary, most common first: a word's
// chance falls with its rank (Zipf-like), so "order" is in about half of
// the events and the last words in about 1%. One event in 10,000 also
// mentions "zyzzyva".
var searchBenchWords = strings.Fields(`order customer refund issued payment product updated price shipping address
	changed note added cancelled inventory stock warehouse discount coupon gift card subscription renewed plan upgraded
	downgraded invoice tax rate exported report login password reset email verified phone webhook delivered failed retry
	fraud review flagged chargeback dispute opened closed won lost collection theme published draft page menu domain
	certificate renewed staff permission granted revoked app installed uninstalled api key rotated quixotic`)

// benchCorpus yields n events of a shop for the search benchmark, one at a
// time (a 10M-event shop does not fit in memory at once), 10 s apart from
// t0, drawing from r.
func benchCorpus(r *rand.Rand, accountID int64, n int, t0 time.Time) iter.Seq2[*audit.Event, error] {
	actions := []string{"order.created", "order.updated", "order.refunded", "order.cancelled", "product.updated", "product.created",
		"customer.updated", "user_login", "user_logout", "payment.failed", "subscription.renewed", "webhook.delivered"}
	weights := make([]float64, len(searchBenchWords))
	sum := 0.0
	for i := range weights {
		weights[i] = 1 / float64(i+1)
		sum += weights[i]
	}
	word := func() string {
		x := r.Float64() * sum
		for i, w := range weights {
			if x -= w; x < 0 {
				return searchBenchWords[i]
			}
		}
		return searchBenchWords[0]
	}
	return func(yield func(*audit.Event, error) bool) {
		for i := range n {
			var d []string
			for range 4 + r.IntN(8) {
				d = append(d, word())
			}
			if r.IntN(10_000) == 0 {
				d = append(d, "zyzzyva") // one event in 10,000
			}
			actor := r.IntN(1000)
			e := &audit.Event{
				AccountID: accountID, Action: actions[min(r.IntN(len(actions)), r.IntN(len(actions)))],
				ResourceType: []string{"order", "product", "customer", "user"}[r.IntN(4)], ResourceID: strconv.Itoa(100000 + r.IntN(50000)),
				Details: strings.Join(d, " "), ActorType: "external", ActorID: fmt.Sprintf("staff_%d", actor),
				ActorEmail: fmt.Sprintf("staff%d@shop.example.com", actor), ActorName: fmt.Sprintf("Staff Member %d", actor),
				IPAddress: fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), r.IntN(256)), Outcome: []string{"success", "success", "success", "failure"}[r.IntN(4)],
				UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
				Metadata:  []byte(fmt.Sprintf(`{"plan":%q,"amount":%d}`, []string{"basic", "pro", "plus"}[r.IntN(3)], r.IntN(500))),
				CreatedAt: t0.Add(time.Duration(i) * 10 * time.Second),
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

var (
	searchBenchEvents = flag.Int("searchbench.events", 200_000, "BenchmarkSearch: events in the big shop")
	searchBenchKeep   = flag.String("searchbench.keep", "", "BenchmarkSearch: keep the loaded databases for the next run to reuse: "+
		"SQLite in this directory, PostgreSQL and MySQL as databases named NAME_EVENTS on the test servers (-searchbench.name)")
	searchBenchName = flag.String("searchbench.name", "auditlog_searchbench", "BenchmarkSearch: the kept databases' name before _EVENTS, "+
		"so that two people's kept databases do not collide")
	searchBenchTrace = flag.String("searchbench.trace", "", "BenchmarkSearch: write the statements of each kind's first call to this file, "+
		"their arguments written in as literals, to run them with EXPLAIN or ANALYZE in the engine's own client")
	searchBenchNoCounts = flag.Bool("searchbench.nocounts", false, "BenchmarkSearch: count every search by rows examined, "+
		"as before totals came from the analytics counts (sqlstore.TotalsFromCountsForTest), to compare both in one run")
)

// searchBenchKind is one kind of listing BenchmarkSearch times: a search
// (q, parsed at the corpus's end), optionally with the seed's filter, on
// one page (a cursor page when cursor is set: the page at that depth,
// reached by keyset).
type searchBenchKind struct {
	name, q string
	filter  audit.EventFilter
	page    int
	cursor  bool
}

// searchBenchKinds returns the kinds of listings, for a shop whose n events
// are 10 s apart from t0.
func searchBenchKinds(t0 time.Time, n int) []searchBenchKind {
	end := t0.Add(time.Duration(n) * 10 * time.Second)
	day := func(d time.Duration) string {
		return "created:" + end.Add(-d).Format(time.RFC3339) + ".." + end.Format(time.RFC3339)
	}
	return []searchBenchKind{
		{name: "unfiltered (total: log size)"},
		{name: "action (seed filter)", filter: audit.EventFilter{Action: "order.refunded"}},
		{name: "resource_type (seed filter)", filter: audit.EventFilter{ResourceType: "customer"}},
		{name: "action+resource_type (seed)", filter: audit.EventFilter{Action: "order.refunded", ResourceType: "customer"}},
		{name: "action+resource_type, none match", filter: audit.EventFilter{Action: "user_logout", ResourceType: "nothing"}},
		{name: "action:", q: "action:order.refunded"},
		{name: "action: prefix", q: "action:order.*"},
		{name: "actor:", q: "actor:staff42@shop.example.com"},
		{name: "ip:", q: "ip:10.1.2.3"},
		{name: "ip: CIDR /20", q: "ip:10.1.0.0/20"},
		{name: "outcome:", q: "outcome:failure"},
		{name: "resource_id:", q: "resource_id:123456"},
		{name: "metadata.", q: "metadata.plan:pro"},
		{name: "metadata. rare value", q: "metadata.amount:499"},
		{name: "2 filters: action+outcome", q: "action:order.refunded outcome:failure"},
		{name: "2 filters: prefix+outcome", q: "action:order.* outcome:failure"},
		{name: "3 filters: action+type+outcome", q: "action:order.refunded resource_type:customer outcome:failure"},
		{name: "3 filters: action+metadata+ip", q: "action:order.refunded metadata.plan:pro ip:10.0.0.0/16"},
		{name: "created: last hour", q: day(time.Hour)},
		{name: "created: last day", q: day(24 * time.Hour)},
		{name: "created: last 30 days", q: day(30 * 24 * time.Hour)},
		{name: "created: everything", q: "created:2000-01-01..2100-01-01"},
		{name: "created: old day", q: "created:" + t0.Add(24*time.Hour).Format("2006-01-02")},
		{name: "created: day + action", q: day(24*time.Hour) + " action:order.refunded"},
		{name: "q rare word", q: "zyzzyva"},
		{name: "q common word", q: "order"},
		{name: "q phrase", q: `"refund issued"`},
		{name: "q prefix word", q: "subscr*"},
		{name: "q word + action", q: "refund action:order.refunded"},
		{name: "q excluded word + action", q: "-order action:user_login"},
		{name: "page 200 by page=", page: 200},
		{name: "page 200 by cursor", page: 200, cursor: true},
		{name: "page 2000 by page=", page: 2000},
		{name: "page 2000 by cursor", page: 2000, cursor: true},
		{name: "action: page 200 by page=", q: "action:order.refunded", page: 200},
		{name: "action: page 200 by cursor", q: "action:order.refunded", page: 200, cursor: true},
	}
}

// BenchmarkSearch loads one shop of -searchbench.events events (default
// 200,000) beside 1,000 small shops (searchBenchSmall events each) on every
// engine this run reaches, through the real write path, runs db.Analyze on
// the server engines (SQLite runs without statistics, as the service
// deploys it), then measures each kind of listing of the big shop (searchBenchKinds):
// p50 and p99 in milliseconds of SearchEvents for a page of 50, count
// included, and the total it reports (capped at the count bound). Loading
// takes a minute or more per engine at the default size; with
// -searchbench.keep the databases are kept and reused. It runs only when
// -bench selects it.
func BenchmarkSearch(b *testing.B) {
	n := *searchBenchEvents
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range sqltest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db := searchBenchDB(b, e, n, t0)
			sqlstore.TotalsFromCountsForTest(db, !*searchBenchNoCounts)
			ctx := b.Context()
			const big = int64(1)
			now := t0.Add(time.Duration(n) * 10 * time.Second)
			for _, k := range searchBenchKinds(t0, n) {
				q, err := query.Parse(k.q, now)
				if err != nil {
					b.Fatal(err)
				}
				q = query.FromFilter(k.filter).And(q)
				p := audit.PageRequest{Page: max(k.page, 1), PerPage: 50}
				if k.cursor {
					// The position the previous page ended at, found once.
					prev, err := db.SearchEvents(ctx, big, q, audit.PageRequest{Page: p.Page - 1, PerPage: 50})
					if err != nil {
						b.Fatal(err)
					}
					if len(prev.Events) == 0 {
						b.Logf("%s: no page %d at this size", k.name, p.Page-1)
						continue
					}
					last := prev.Events[len(prev.Events)-1]
					p.After = &audit.Position{CreatedAt: last.CreatedAt, Seq: last.Seq}
				}
				b.Run(strings.ReplaceAll(k.name, " ", "_"), func(b *testing.B) {
					if *searchBenchTrace != "" {
						traceSearch(b, db, e.Name, k.name, func() error { _, err := db.SearchEvents(ctx, big, q, p); return err })
					}
					var times, cpus []time.Duration
					var total int64
					for b.Loop() {
						start, cpu := time.Now(), processCPU()
						pg, err := db.SearchEvents(ctx, big, q, p)
						if err != nil {
							b.Fatal(err)
						}
						times = append(times, time.Since(start))
						cpus = append(cpus, processCPU()-cpu)
						total = pg.Pagination.Total
					}
					slices.Sort(times)
					slices.Sort(cpus)
					ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
					b.ReportMetric(ms(times[len(times)/2]), "p50-ms")
					b.ReportMetric(ms(times[len(times)*99/100]), "p99-ms")
					if e.Name == "sqlite" {
						// SQLite runs in this process: its CPU time is the
						// query's cost, whatever else the machine is doing.
						b.ReportMetric(ms(cpus[len(cpus)/2]), "cpu-p50-ms")
					}
					b.ReportMetric(float64(total), "matches")
				})
			}
		})
	}
}

// searchBenchShops is how many shops BenchmarkSearch loads: the big one
// and 1,000 small ones, the many tenants a service holds beside its
// largest.
const searchBenchShops = 1001

// searchBenchSmall is the size of each small shop beside a big shop of n
// events: a ten-thousandth of it (1,000 events beside ten million), at
// least 10.
func searchBenchSmall(n int) int { return max(n/10_000, 10) }

// searchBenchDB returns the engine's database loaded with the benchmark's
// shops: a fresh one, or with -searchbench.keep the kept one, loaded on
// first use. The big shop is account 1.
func searchBenchDB(b *testing.B, e sqltest.Engine, n int, t0 time.Time) *sqlstore.DB {
	ctx := b.Context()
	var db *sqlstore.DB
	var u string // the database's URL
	if *searchBenchKeep == "" {
		u = e.NewURL(b)
		var err error
		if db, err = sqlstore.Open(ctx, u); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
	} else {
		u = keptURL(b, e, fmt.Sprintf("%s_%d", *searchBenchName, n))
		var err error
		if db, err = sqlstore.Open(ctx, u); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if size, err := db.LogSize(ctx, searchBenchShops); err == nil && size == int64(searchBenchSmall(n)) {
			b.Logf("reusing %s", u)
			return db
		} else if _, err := db.LogSize(ctx, 1); err == nil {
			b.Fatalf("%s holds a load that did not finish: drop it", u)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	sizes := []int{n}
	for len(sizes) < searchBenchShops {
		sizes = append(sizes, searchBenchSmall(n))
	}
	for i := range sizes {
		a := &audit.Account{Name: "Shop", Domain: fmt.Sprintf("shop%d.example.com", i)}
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
			b.Fatal(err)
		}
		if a.ID != int64(i+1) {
			b.Fatalf("account %d got ID %d: the database was not empty", i+1, a.ID)
		}
	}
	// The bulk path of auditlog generate: the store's write path (log,
	// tree, checkpoints, counts, search text) in transactions of
	// generate.DefaultBatch events, COPY on PostgreSQL, the next batch drawn
	// while the database writes. The shops one after the other, from one
	// source of randomness: the same corpus as every earlier run.
	all := func(yield func(*audit.Event, error) bool) {
		for i, size := range sizes {
			for e, err := range benchCorpus(r, int64(i+1), size, t0) {
				if !yield(e, err) {
					return
				}
			}
		}
	}
	rebuild := deferIndexes(b, u)
	loaded := 0
	written, err := generate.Load(ctx, db, sqltest.Signer(b), 0, func(yield func(*audit.Event, error) bool) {
		for ev, err := range all {
			if loaded++; loaded%1_000_000 == 0 {
				fmt.Fprintf(os.Stderr, "searchbench: %s: %d events drawn in %s\n", e.Name, loaded, time.Since(start).Round(time.Second))
			}
			if !yield(ev, err) {
				return
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	built := time.Now()
	rebuild()
	fmt.Fprintf(os.Stderr, "searchbench: %s: indexes built in %s\n", e.Name, time.Since(built).Round(time.Second))
	if e.Name != "sqlite" {
		// SQLite runs without statistics, as the service deploys it. The
		// test PostgreSQL runs without autovacuum: in service it would have
		// vacuumed the loaded table (so that counts off an index need not
		// visit the heap) and refreshed its statistics.
		if e.Name == "postgres" {
			sqltest.ExecURL(b, u, `VACUUM events`)
		}
		if err := db.Analyze(ctx); err != nil {
			b.Fatal(err)
		}
	}
	fmt.Fprintf(os.Stderr, "searchbench: %s: loaded %d events in %s\n", e.Name, written, time.Since(start).Round(time.Second))
	return db
}

// deferIndexes drops the secondary indexes of the events table of the
// database at databaseURL (on SQLite and PostgreSQL; on MySQL it does
// nothing), those that no write reads: every index but the primary key and
// the unique keys (account and seq, account and event ID), which the write
// path looks events up by. It returns the function that builds them again
// from their own definitions, as the migrations made them. Building an
// index once over a loaded table sorts it; keeping ten of them (and the
// full-text index) up to date row by row cost most of the load's time: the
// way a database restore loads a table, for BenchmarkSearch's bulk load.
func deferIndexes(b *testing.B, databaseURL string) (rebuild func()) {
	src, err := sqlstore.ParseURL(databaseURL)
	if err != nil {
		b.Fatal(err)
	}
	var list string
	switch src.Engine {
	case sqlstore.SQLite:
		// Indexes that back a UNIQUE constraint have no SQL of their own.
		list = `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'`
	case sqlstore.Postgres:
		list = `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'events'
			AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'events'::regclass) AND indexdef NOT LIKE 'CREATE UNIQUE%'`
	default:
		return func() {}
	}
	driver, dsn := "pgx", src.DSN
	if src.Engine == sqlstore.SQLite {
		driver, dsn = "sqlite", "file:"+src.DSN+"?_pragma=busy_timeout(10000)"
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := conn.QueryContext(b.Context(), list)
	if err != nil {
		b.Fatal(err)
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			b.Fatal(err)
		}
		names, defs = append(names, name), append(defs, def)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	for _, name := range names {
		if _, err := conn.ExecContext(b.Context(), `DROP INDEX `+name); err != nil {
			b.Fatal(err)
		}
	}
	conn.Close()
	return func() {
		conn, err := sql.Open(driver, dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		conn.SetMaxOpenConns(1) // the SET below holds for the one session
		if src.Engine == sqlstore.Postgres {
			if _, err := conn.ExecContext(b.Context(), `SET maintenance_work_mem = '512MB'`); err != nil {
				b.Fatal(err)
			}
		}
		for _, def := range defs {
			if _, err := conn.ExecContext(b.Context(), def); err != nil {
				b.Fatalf("%s: %v", def, err)
			}
		}
	}
}

// keptURL returns the URL of the engine's database named name, created if
// it does not exist yet and never dropped: a file in -searchbench.keep
// for SQLite, a database on the test server otherwise.
func keptURL(b *testing.B, e sqltest.Engine, name string) string {
	if e.Name == "sqlite" {
		if err := os.MkdirAll(*searchBenchKeep, 0o755); err != nil {
			b.Fatal(err)
		}
		return "sqlite:///" + filepath.Join(*searchBenchKeep, name+".db")
	}
	e.Require(b)
	base := os.Getenv(map[string]string{"postgres": sqltest.PostgresURLVar, "mysql": sqltest.MySQLURLVar}[e.Name])
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	src, err := sqlstore.ParseURL(base)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := sql.Open(map[string]string{"postgres": "pgx", "mysql": "mysql"}[e.Name], src.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var exists int
	check := map[string]string{
		"postgres": `SELECT COUNT(*) FROM pg_database WHERE datname = $1`,
		"mysql":    `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?`,
	}[e.Name]
	if err := conn.QueryRowContext(b.Context(), check, name).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if exists == 0 {
		create := map[string]string{"postgres": "CREATE DATABASE %s", "mysql": "CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"}[e.Name]
		if _, err := conn.ExecContext(b.Context(), fmt.Sprintf(create, name)); err != nil {
			b.Fatal(err)
		}
	}
	u.Path = "/" + name
	return u.String()
}

// processCPU returns the CPU time this process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// traceSearch runs search once with SearchEvents' statements traced, and
// appends them to the file -searchbench.trace under a comment naming the
// engine and kind, each statement on one line ending in ";" with its
// arguments written in as SQL literals (MySQL's and SQLite's spelling;
// PostgreSQL's arguments are numbered, and left as they are).
func traceSearch(b *testing.B, db *sqlstore.DB, engine, kind string, search func() error) {
	f, err := os.OpenFile(*searchBenchTrace, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "-- %s: %s\n", engine, kind)
	sqlstore.TraceSearchForTest(db, func(query string, args []any) {
		var out strings.Builder
		for _, part := range strings.Split(query, "?") {
			out.WriteString(part)
			if len(args) == 0 {
				continue
			}
			switch a := args[0].(type) {
			case string:
				out.WriteString("'" + strings.ReplaceAll(strings.ReplaceAll(a, `\`, `\\`), "'", "''") + "'")
			case []byte:
				out.WriteString(fmt.Sprintf("X'%x'", a))
			case time.Time:
				out.WriteString("'" + a.UTC().Format("2006-01-02 15:04:05.999999") + "'")
			default:
				out.WriteString(fmt.Sprint(a))
			}
			args = args[1:]
		}
		fmt.Fprintf(f, "%s;\n", strings.Join(strings.Fields(out.String()), " "))
	})
	defer sqlstore.TraceSearchForTest(db, nil)
	if err := search(); err != nil {
		b.Fatal(err)
	}
}
