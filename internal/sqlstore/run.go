package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// querier is what both *sql.DB and *sql.Tx offer for running statements.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// runner runs SQL written with ? placeholders, on a pool or inside a
// transaction. It is the one place where placeholders are rebound for the
// engine, so no call site can forget to.
//
// Statements whose text is fixed (query, queryRow, exec) are prepared once
// per connection where the engine gains from it; statements whose text is
// built per call (IN lists and multi-row inserts of varying length: the
// *Built methods) are not, so that they cannot fill the cache.
type runner struct {
	db    *DB
	q     querier    // the pool or the transaction
	tx    *sql.Tx    // the transaction, when in one
	stmts *stmtCache // the pool's prepared statements; nil when not preparing
}

func (r runner) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := r.prepared(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case st == nil:
		return r.queryBuilt(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (r runner) queryRow(ctx context.Context, query string, args ...any) scanner {
	st, err := r.prepared(ctx, query)
	switch {
	case err != nil:
		return errRow{err}
	case st == nil:
		return r.q.QueryRowContext(ctx, r.db.dialect.rebind(query), args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (r runner) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := r.prepared(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case st == nil:
		return r.execBuilt(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

// queryBuilt runs a query whose text is built per call, unprepared.
func (r runner) queryBuilt(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.q.QueryContext(ctx, r.db.dialect.rebind(query), args...)
}

// execBuilt runs a statement whose text is built per call, unprepared.
func (r runner) execBuilt(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.q.ExecContext(ctx, r.db.dialect.rebind(query), args...)
}

// prepared returns the prepared statement for query, bound to the
// transaction when in one, or nil to run the query unprepared.
//
// A transaction never prepares on its pool: that would wait for a second
// connection while holding one (SQLite's writer has only one). On a miss
// inside a transaction the query runs unprepared this once, and the
// statement is prepared on the pool in the background for later calls.
func (r runner) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if r.stmts == nil {
		return nil, nil
	}
	query = r.db.dialect.rebind(query)
	if r.tx != nil {
		st := r.stmts.lookup(query)
		if st == nil {
			r.stmts.prepareLater(query)
			return nil, nil
		}
		// database/sql reuses the statement already prepared on the
		// transaction's connection, and prepares it there otherwise.
		return r.tx.StmtContext(ctx, st), nil
	}
	return r.stmts.get(ctx, query)
}

// errRow is a row whose statement could not be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// scanner is a row or rows to scan.
type scanner interface {
	Scan(dest ...any) error
}

// selectAll runs query on the readers and returns every row as scan reads
// it: an empty slice, never nil, when there is none. op names the query in
// errors.
func selectAll[T any](ctx context.Context, db *DB, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.rd.query(ctx, query, args...)
	if err != nil {
		return nil, db.wrap(err, op)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, db.wrap(err, "scan: "+op)
		}
		out = append(out, v)
	}
	return out, db.wrap(rows.Err(), op)
}

// maxPreparedStatements bounds a pool's statement cache. The store has a
// few dozen fixed statements (and up to a hundred filter combinations of
// the event listing); past the bound, statements run unprepared.
const maxPreparedStatements = 256

// stmtCache holds a pool's prepared statements by text. database/sql keeps
// one prepared copy per connection underneath each *sql.Stmt and prepares
// it on a connection the first time it runs there.
type stmtCache struct {
	pool    *sql.DB
	mu      sync.RWMutex
	m       map[string]*sql.Stmt
	pending map[string]bool // being prepared in the background
	closed  bool
	// background counts the prepares running in the background, which
	// close cancels (stop) and waits for: a prepare that outlived the
	// store could open a connection (and, on SQLite, files) after Close.
	background sync.WaitGroup
	stop       context.Context
	cancel     context.CancelFunc
}

func newStmtCache(pool *sql.DB) *stmtCache {
	stop, cancel := context.WithCancel(context.Background())
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}, pending: map[string]bool{}, stop: stop, cancel: cancel}
}

// lookup returns the cached statement for query, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// get returns the prepared statement for query, preparing it on first use,
// or nil (run unprepared) once the cache is full. It holds no lock while it
// prepares: preparing may wait for a connection, and a transaction holding
// one may need the cache meanwhile.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := c.lookup(query); st != nil {
		return st, nil
	}
	if c.full() {
		return nil, nil
	}
	st, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return c.keep(query, st), nil
}

// full reports whether the cache takes no more statements.
func (c *stmtCache) full() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.closed || len(c.m)+len(c.pending) >= maxPreparedStatements
}

// keep caches st for query and returns the statement to use: st, or the
// one another caller cached first (st is then closed once done with).
func (c *stmtCache) keep(query string, st *sql.Stmt) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.m[query]; prev != nil {
		st.Close() // database/sql closes it once no query uses it
		return prev
	}
	if c.closed {
		st.Close() // database/sql closes it once no query uses it
		return st
	}
	c.m[query] = st
	return st
}

// prepareTimeout bounds a background prepare.
const prepareTimeout = 30 * time.Second

// prepareLater prepares query on the pool in the background, unless it is
// cached, already being prepared, or the cache is full. A failure is
// forgotten: the next miss tries again.
func (c *stmtCache) prepareLater(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[query] != nil || c.pending[query] || c.closed || len(c.m)+len(c.pending) >= maxPreparedStatements {
		return
	}
	c.pending[query] = true
	c.background.Add(1)
	go func() {
		defer c.background.Done()
		ctx, cancel := context.WithTimeout(c.stop, prepareTimeout)
		defer cancel()
		st, err := c.pool.PrepareContext(ctx, query)
		c.mu.Lock()
		delete(c.pending, query)
		c.mu.Unlock()
		if err == nil {
			c.keep(query, st)
		}
	}()
}

// close closes every cached statement, and cancels and waits for the
// prepares running in the background.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
	c.mu.Unlock()
	c.cancel()
	c.background.Wait()
}
