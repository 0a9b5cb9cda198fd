package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is the store. It is safe for concurrent use.
type DB struct {
	source Source
	// readOnly is set by OpenReadOnly.
	readOnly bool
	dialect  *dialect
	// write runs transactions that change data; read runs queries. For SQLite
	// write is a single connection (SQLite allows one writer at a time) and
	// read a pool; for the server engines both are the same pool.
	write *sql.DB
	read  *sql.DB
	// wr and rd run statements on write and read; see runner.
	wr, rd runner
	// applied names the migrations Open applied; unknown those the
	// database records that this binary does not know.
	applied, unknown []string
	// pgConfig, on PostgreSQL, connects the live listener (ListenHeads)
	// outside the pool.
	pgConfig *pgx.ConnConfig
	// beforeCommit, when set (by tests only), runs after fn and before the
	// commit of each attempt of Update; an error fails the attempt.
	beforeCommit func(attempt int) error
	// skipCounts, set only by benchmarks, leaves the analytics counts
	// alone, to measure what keeping them costs.
	skipCounts bool
	// noActorRollups, set only by benchmarks, makes the write path leave
	// event_actor_counts alone and top actors read the per-day rows only,
	// as before migration 0017, to compare the two in one run.
	noActorRollups bool
	// beforeActorCounts is set while the store's schema stops before
	// migration 0017 (OpenOptions.MigrateTo, tests that load data into an
	// older schema): the store then neither writes nor reads
	// event_actor_counts, as the release before it did.
	beforeActorCounts atomic.Bool
	// unpackedReads, set only by tests, makes exports and listings on
	// SQLite read column by column, as other engines do (exportrow.go).
	unpackedReads bool
	// packedFallbacks counts the export and listing pages that SQLite
	// read packed but that had to be read again column by column
	// (exportrow.go).
	packedFallbacks atomic.Int64
	// writersWaiting counts the Update transactions of this process that
	// wait to begin: on SQLite, for the one write connection. A prune
	// batch gives way when one does (PruneBatch).
	writersWaiting atomic.Int32
	// writerWaits, while a SQLite prune batch holds the writer, cancels
	// the batch's statements: Update calls it when a transaction begins
	// to wait, so that the batch rolls back and lets it go first.
	writerWaits atomic.Pointer[context.CancelFunc]
	// pruneDeleted, when set (by tests only), runs in each attempt of a
	// SQLite prune batch that may yield, once its events are deleted.
	pruneDeleted func()
	// pruneCounting, likewise, runs once the attempt's checkpoints are
	// deleted, before its actor and address counts are.
	pruneCounting func()
	// partyCountsPruned holds, per account ID, the day (Unix seconds)
	// below which this process's prunes have removed the account's actor
	// and address counts, so that the next batch deletes from there on
	// rather than reading again, from the oldest day, the index entries
	// of rows already deleted (on PostgreSQL, without vacuum, those stay
	// in the index and every such scan grew with the prune).
	partyCountsPruned sync.Map

	// Now returns the current time; tests may replace it. Stored times are
	// truncated to microseconds, the precision every engine keeps.
	Now func() time.Time

	// CountBound is how many matching events a filtered listing counts
	// before it reports the bound as an inexact total (SearchEvents); 0
	// means DefaultCountBound. Set it before use.
	CountBound int64
	// ExamineBound is how many events a count checks when its search
	// cannot be counted exactly within CountBound: the newest of them that
	// the search's driver selects (searchplan.go), whose matches are then
	// reported as a lower bound. 0 means DefaultExamineBound; it is never
	// more than CountBound. Set it before use.
	ExamineBound int64
	// noTotalsFromCounts, in tests and benchmarks, makes a search of the
	// analytics counts' columns count its rows (searchplan.go) instead of
	// taking its total from the counts (searchcounts.go), to compare them.
	noTotalsFromCounts bool
	// forceWalk, in tests, makes SearchEvents always (1) or never (-1)
	// walk the account's events newest first, instead of choosing.
	forceWalk int
	// traceSearch, in tests, is called with each statement SearchEvents
	// runs and its arguments.
	traceSearch func(query string, args []any)
	// deferAt and sample, in tests, replace deferredOffset and
	// sampleSize.
	deferAt, sample int
	// prefixByRange reports that the database orders ASCII text as its
	// bytes (PostgreSQL under the C or C.UTF-8 collation; SQLite and
	// MySQL's binary collation always do), so that an action prefix
	// (action:order.*) is a range of the action index rather than a LIKE
	// that PostgreSQL reads off the index only under exactly "C"
	// (postgresBytewise).
	prefixByRange bool

	// stats tracks when the planner's statistics need a refresh (stats.go).
	stats *stats
	// signed remembers each account's last signed checkpoint, so that no
	// append signs a tree that does not extend it (tlog.SignedHeads).
	signed *tlog.SignedHeads

	// OnCommit, when set, is called after each committed transaction that
	// appended events, with the events as the committed attempt stored them
	// (replays left out), in the order appended. It must not block.
	OnCommit func(events []*audit.Event)
	// OnError, when set, is told the class (ErrorUnavailable, ErrorFull,
	// ErrorConflict, ErrorRetry or ErrorOther) of each error the database
	// returned, once per error, including those of readiness pings. It
	// must not block.
	OnError func(class string)
}

// Open connects to the database named by a DATABASE_URL (see ParseURL),
// checks that it answers and applies every pending schema migration (see
// Migrate; Applied lists what it applied), so the store it returns is ready
// for use. Several processes may open one database at once.
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	return OpenWith(ctx, databaseURL, OpenOptions{})
}

// OpenReadOnly opens the database named by a DATABASE_URL for reading
// only, as it is: it applies no migration and writes nothing (a SQLite
// file is opened read-only), for checking a backup or a restored copy
// (auditlog restore-check). Only reads may be called on the store.
func OpenReadOnly(ctx context.Context, databaseURL string) (*DB, error) {
	return OpenWith(ctx, databaseURL, OpenOptions{readOnly: true})
}

// OpenOptions changes which migrations OpenWith applies. The zero value
// applies them all, as Open does.
type OpenOptions struct {
	// NoMigrate opens the database as it is, applying nothing and
	// filling nothing in: for reading its migration status
	// (MigrationStatus). The store must not be used for anything else
	// unless the schema is current.
	NoMigrate bool
	// MigrateTo, when above zero, applies the migrations up to that
	// version only: tests use it to load data into an older schema.
	MigrateTo int
	// readOnly is OpenReadOnly's: NoMigrate, and no writes at all.
	readOnly bool
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, databaseURL string, opt OpenOptions) (*DB, error) {
	src, err := ParseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	db := &DB{source: src, readOnly: opt.readOnly, Now: time.Now, stats: newStats(), signed: tlog.NewSignedHeads()}
	switch src.Engine {
	case SQLite:
		err = db.openSQLite()
	case Postgres:
		err = db.openPostgres()
	case MySQL:
		err = db.openMySQL()
	default:
		err = fmt.Errorf("engine %s is not supported", src.Engine)
	}
	if err != nil {
		return nil, err
	}
	db.wr = db.runner(db.write)
	db.rd = db.runner(db.read)
	if err := db.pingAtOpen(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach %s: %w", src.Safe, err)
	}
	if src.Engine == Postgres {
		if db.prefixByRange, err = postgresBytewise(ctx, db.read); err != nil {
			db.Close()
			return nil, fmt.Errorf("read the collation of %s: %w", src.Safe, err)
		}
	}
	if opt.readOnly || opt.NoMigrate {
		return db, nil
	}
	if db.applied, err = db.migrate(ctx, opt.MigrateTo); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", src.Safe, err)
	}
	if db.unknown, err = db.unknownMigrations(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", src.Safe, err)
	}
	if err := db.backfillSearch(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("index events for search in %s: %w", src.Safe, err)
	}
	if src.Engine == SQLite {
		if err := db.resumeMergesAtOpen(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("resume the full-text index's merges in %s: %w", src.Safe, err)
		}
	}
	return db, nil
}

// actorRollups reports whether the store keeps and reads the week and month
// actor counts (event_actor_counts).
func (db *DB) actorRollups() bool { return !db.noActorRollups && !db.beforeActorCounts.Load() }

// Applied returns the names of the migrations that Open applied, in order;
// none when the schema was already up to date.
func (db *DB) Applied() []string { return db.applied }

// Unknown returns the names of the migrations that the database records
// and this binary does not know, in order: a newer binary applied them.
// Open found them; none when the binary is as new as the schema or newer.
// Under the one-release rule (docs/upgrades.md) this binary still works on
// that schema, so the commands warn rather than refuse.
func (db *DB) Unknown() []string { return db.unknown }

// openAttempts bounds how often Open pings a database that answers with a
// transient error.
const openAttempts = 6

// pingAtOpen pings the database, retrying transient errors: a SQLite file
// that another process is switching to WAL at the same moment answers
// SQLITE_BUSY without waiting for its busy timeout.
func (db *DB) pingAtOpen(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := db.Ping(ctx)
		if err == nil || attempt == openAttempts || !errors.Is(db.dialect.classify(err), errTransient) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
		}
	}
}

func (db *DB) openSQLite() error {
	db.dialect = sqliteDialect
	path := db.source.DSN
	if db.readOnly {
		if _, err := os.Stat(path); err != nil {
			return err // mode=ro would report only "unable to open"
		}
	} else if path != ":memory:" {
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return fmt.Errorf("create directory for %s: %w", db.source.Safe, err)
			}
		}
	}
	// WAL lets readers run beside the writer; synchronous=FULL makes each
	// commit durable before it is acknowledged; busy_timeout waits for locks
	// instead of failing; foreign keys are off in SQLite unless asked for.
	pragmas := url.Values{"_pragma": {
		"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)",
	}}
	if db.readOnly {
		pragmas = url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(10000)", "query_only(ON)"}}
	}
	writeDSN := "file:" + path + "?" + pragmas.Encode() + "&_txlock=immediate"
	readDSN := "file:" + path + "?" + pragmas.Encode() + "&_pragma=query_only(ON)"
	var err error
	if db.write, err = sql.Open("sqlite", writeDSN); err != nil {
		return err
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetConnMaxIdleTime(0)
	if path == ":memory:" {
		// A memory database exists per connection: share the one.
		db.read = db.write
		return nil
	}
	if db.read, err = sql.Open("sqlite", readDSN); err != nil {
		db.write.Close()
		return err
	}
	// Idle readers stay open: each keeps its prepared statements (and
	// SQLite's page cache), which a reconnect would throw away.
	n := max(4, runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	return nil
}

// connectTimeout bounds how long opening one connection to a server may take.
const connectTimeout = 10 * time.Second

// openPostgres opens a pool through pgx's database/sql adapter. The adapter
// keeps pgx underneath: a bulk path can reach the *pgx.Conn through
// sql.Conn.Raw and (*stdlib.Conn).Conn() to use COPY.
func (db *DB) openPostgres() error {
	db.dialect = postgresDialect
	cfg, err := pgx.ParseConfig(db.source.DSN)
	if err != nil {
		return fmt.Errorf("%s: %w", db.source.Safe, err)
	}
	// Sessions run in UTC, so any time the server renders as text is UTC.
	cfg.RuntimeParams["timezone"] = "UTC"
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "auditlog"
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	db.pgConfig = cfg.Copy()
	db.write = stdlib.OpenDB(*cfg)
	db.read = db.write
	setServerPool(db.write)
	return nil
}

// openMySQL opens a pool through go-sql-driver/mysql; the DSN already holds
// the session settings that ParseURL added.
func (db *DB) openMySQL() error {
	db.dialect = mysqlDialect
	cfg, err := mysql.ParseDSN(db.source.DSN)
	if err != nil {
		return fmt.Errorf("%s: %w", db.source.Safe, err)
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", db.source.Safe, err)
	}
	db.write = sql.OpenDB(connector)
	db.read = db.write
	setServerPool(db.write)
	return nil
}

// setServerPool sizes the pool of a server engine. Writes to one account
// queue on its log head whatever the pool size, so a few connections per
// core serve the rest; many processes may share one server, whose
// connection limit (PostgreSQL's default is 100) they must stay under.
func setServerPool(pool *sql.DB) {
	n := max(8, 4*runtime.GOMAXPROCS(0))
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	pool.SetConnMaxLifetime(time.Hour)
}

// Engine reports which engine the store runs on.
func (db *DB) Engine() Engine { return db.source.Engine }

// Describe returns a description of the database that is safe to log.
func (db *DB) Describe() string { return db.source.Safe }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return err
	}
	return db.read.PingContext(ctx)
}

// runner returns the runner of a pool, which prepares its statements when
// the dialect asks for it.
func (db *DB) runner(pool *sql.DB) runner {
	r := runner{db: db, q: pool}
	if db.dialect.prepare {
		if pool == db.write && db.wr.stmts != nil {
			r.stmts = db.wr.stmts
		} else {
			r.stmts = newStmtCache(pool)
		}
	}
	return r
}

// Close closes every connection.
func (db *DB) Close() error {
	db.stats.close()
	for _, r := range []runner{db.wr, db.rd} {
		if r.stmts != nil {
			r.stmts.close()
		}
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// now returns the current time in UTC, truncated to microseconds.
func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }

// Tx is a write transaction. Its methods must be called from one goroutine.
type Tx struct {
	db       *DB
	tx       *sql.Tx
	run      runner    // runs statements in tx
	conn     *sql.Conn // the transaction's connection, when the dialect needs it
	now      time.Time // fixed for the whole transaction
	appended []*audit.Event
	// signed are the checkpoints the transaction stored, remembered in
	// db.signed once it commits.
	signed []tlog.SignedHead
}

// relaxPragmas and restorePragmas are the write connection's settings for
// a relaxed transaction (updateWith) and its own (open). cache_spill 1 is
// SQLite's default: pages spill once the cache (cache_size) is full.
const (
	relaxPragmas   = `PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0; PRAGMA cache_spill = 4096`
	restorePragmas = `PRAGMA synchronous = FULL; PRAGMA temp_store = DEFAULT; PRAGMA wal_autocheckpoint = 1000; PRAGMA cache_spill = 1`
)

// maxAttempts bounds how often Update runs a transaction that failed with a
// transient error (deadlock, lock timeout, serialization failure).
const maxAttempts = 3

// Update runs fn in a write transaction and commits it if fn returns nil.
// When the transaction fails with a transient error it is rolled back and fn
// runs again, up to maxAttempts times in all, so fn must have no effects
// outside the transaction. After the commit, OnCommit sees the appended events.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return db.updateWith(ctx, false, fn)
}

// updateWith is Update; with relaxed set, on SQLite, the commit does not
// wait for the write-ahead log to reach the disk (synchronous=NORMAL for
// that one transaction): it stays atomic and consistent, and a power
// failure can undo it only together with every transaction committed
// after it that had not reached the disk either. Only work that is
// repeated when lost may be relaxed (a prune batch). The transaction also
// keeps its statement journals in memory (temp_store=MEMORY): a statement
// that changes many rows of a table with triggers and indexes inside a
// transaction saves the pages it changes first, to a temporary file when
// they pass 64 KiB. It keeps the pages it changes in memory up to 16 MiB
// (cache_spill 4096 pages, against cache_size's 2 MB) rather than writing
// them to the write-ahead log before its commit: an attempt rolled back
// then wrote nothing, which the next commit's fsync would otherwise have
// written to the disk. And its commit does not checkpoint the log
// (wal_autocheckpoint 0): SQLite's checkpoint after a commit that grows
// the log past 1,000 pages runs in the committing connection, the one
// writer, and the caller checkpoints instead, off the writer (PruneBatch).
func (db *DB) updateWith(ctx context.Context, relaxed bool, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		var tx *Tx
		tx, err = db.update(ctx, attempt, relaxed, fn)
		if err == nil {
			for _, h := range tx.signed {
				db.signed.Advance(h.AccountID, tlog.Head{Size: h.Size, Root: h.Root})
			}
			if len(tx.appended) > 0 {
				db.noteAppended(tx.appended)
				if db.OnCommit != nil {
					db.OnCommit(tx.appended)
				}
			}
			return nil
		}
		if !errors.Is(err, errTransient) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
	}
	if errors.Is(err, errTransient) {
		return &audit.Error{Code: audit.EUNAVAILABLE, Message: audit.ErrUnavailable.Message, Err: err}
	}
	return err
}

func (db *DB) update(ctx context.Context, attempt int, relaxed bool, fn func(tx *Tx) error) (*Tx, error) {
	db.writersWaiting.Add(1)
	if yield := db.writerWaits.Load(); yield != nil {
		(*yield)()
	}
	waiting := true
	defer func() {
		if waiting {
			db.writersWaiting.Add(-1)
		}
	}()
	var conn *sql.Conn
	begin := db.write.BeginTx
	if db.dialect.copyEvents != nil {
		// The bulk path needs the driver's connection inside the
		// transaction: hold one connection for the whole transaction.
		var err error
		if conn, err = db.write.Conn(ctx); err != nil {
			return nil, db.wrap(err, "connect")
		}
		defer conn.Close()
		begin = conn.BeginTx
	} else if relaxed && db.source.Engine == SQLite {
		// Both settings are the connection's, and cannot change inside a
		// transaction: set them around this one, on the one write
		// connection held throughout, and put them back before any other
		// transaction gets the connection. A connection that cannot be
		// put back is closed, not reused.
		var err error
		if conn, err = db.write.Conn(ctx); err != nil {
			return nil, db.wrap(err, "connect")
		}
		defer conn.Close()
		defer func() { // also when relaxing them failed half-way
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), restorePragmas); err != nil {
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
		if _, err := conn.ExecContext(ctx, relaxPragmas); err != nil {
			return nil, db.wrap(err, "relax synchronous")
		}
		begin = conn.BeginTx
	}
	sqltx, err := begin(ctx, db.dialect.writeTx)
	waiting = false
	db.writersWaiting.Add(-1)
	if err != nil {
		return nil, db.wrap(err, "begin")
	}
	defer sqltx.Rollback()
	tx := &Tx{db: db, tx: sqltx, conn: conn, now: db.now(), run: runner{db: db, q: sqltx, tx: sqltx, stmts: db.wr.stmts}}
	if err := fn(tx); err != nil {
		return nil, err
	}
	if db.beforeCommit != nil {
		if err := db.beforeCommit(attempt); err != nil {
			return nil, err
		}
	}
	if err := sqltx.Commit(); err != nil {
		return nil, db.wrap(err, "commit")
	}
	return tx, nil
}

// Now returns the transaction's timestamp: the current time when it began.
func (tx *Tx) Now() time.Time { return tx.now }

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.run.exec(ctx, query, args...)
}

func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) scanner {
	return tx.run.queryRow(ctx, query, args...)
}

// view runs fn in a read-only transaction on the read pool: one snapshot,
// so that what fn reads in several statements agrees.
func (db *DB) view(ctx context.Context, fn func(r runner) error) error {
	tx, err := db.read.BeginTx(ctx, db.dialect.readTx)
	if err != nil {
		return db.wrap(err, "begin read")
	}
	defer tx.Rollback()
	return fn(runner{db: db, q: tx, tx: tx, stmts: db.rd.stmts})
}

// insert runs an INSERT and returns the new row's generated id.
func (tx *Tx) insert(ctx context.Context, query string, args ...any) (int64, error) {
	if r := tx.db.dialect.returningID; r != "" {
		var id int64
		err := tx.queryRow(ctx, query+r, args...).Scan(&id)
		return id, err
	}
	res, err := tx.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// t converts a time to a query argument for the engine.
func (db *DB) t(t time.Time) any { return db.dialect.timeArg(t) }

// Analyze refreshes the planner's statistics of every table, as a
// benchmark must after loading data, and as an operator may after a bulk
// import: the service does not rely on autovacuum having run.
func (db *DB) Analyze(ctx context.Context) error {
	var stmt string
	switch db.source.Engine {
	case SQLite:
		stmt = `ANALYZE`
	case Postgres:
		stmt = `ANALYZE`
	case MySQL:
		stmt = `ANALYZE TABLE accounts, users, events, log_heads, log_tiles, checkpoints, sessions, api_keys, event_counts, event_party_counts, event_actor_counts`
	}
	_, err := db.write.ExecContext(ctx, stmt)
	return db.wrap(err, "analyze")
}
