package sqlstore

import (
	"context"
	"sync"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// Planner statistics. The engines plan from statistics about each table
// (its size, how its values spread), and the service must not depend on
// autovacuum or anything else outside it to gather them: operators turn
// autovacuum off, or it lags behind a bulk load. A PostgreSQL table never
// analyzed looks to its planner as it did when it was created, and an
// account that grew from nothing to millions of events since the last
// ANALYZE is, to the planner, a small one; either can send a lookup by
// event ID or a first page through the wrong index.
//
// So the store refreshes the statistics itself, in the background, never on
// a request's path: after a commit in which some account's log reached
// statsGrowth times its size at the last refresh (and at least
// statsMinEvents events). A log of ten million events costs about ten
// refreshes over its life. The statements sample (PostgreSQL's ANALYZE
// reads a fixed sample of rows; SQLite's is bounded by analysis_limit;
// InnoDB's reads a fixed number of pages), so one costs about the same at
// any size. At most one runs at a time per process, and the next waits
// statsPause times as long as the last one took, so the refreshes take a
// small share of the database's time even while many accounts grow at
// once; accounts that grew meanwhile are covered by the next.
//
// Each process counts the appends it commits; an account it has not
// written to before counts from the size it had then (a log already large
// when the process started is assumed analyzed). Bulk loads (auditlog
// generate, benchmarks) call Analyze at their end as well.

// Tuning of the statistics refresh.
const (
	statsGrowth    = 4
	statsMinEvents = 1000
	statsPause     = 20
	statsTimeout   = 5 * time.Minute
	// statsRetry is the wait after a refresh that failed.
	statsRetry = time.Minute
)

// stats tracks the growth of the accounts' logs since the planner's
// statistics were last refreshed.
type stats struct {
	mu      sync.Mutex
	base    map[int64]int64 // per account: the log's size at the last refresh (or when first seen)
	size    map[int64]int64 // per account: the log's size at its last commit seen
	due     bool            // a log grew enough: refresh when allowed
	running bool
	next    time.Time // the earliest start of the next refresh
	// stop ends a refresh when the store closes; wg waits for it.
	stop   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// done, when set (by tests only), is called after each refresh with
	// its error.
	done func(error)
}

func newStats() *stats {
	stop, cancel := context.WithCancel(context.Background())
	return &stats{base: map[int64]int64{}, size: map[int64]int64{}, stop: stop, cancel: cancel}
}

// noteAppended counts the events of a committed transaction, in the order
// appended, and starts a refresh in the background when one is due and
// allowed.
func (db *DB) noteAppended(events []*audit.Event) {
	s := db.stats
	if s == nil || db.dialect.analyzeLog == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		if _, ok := s.base[e.AccountID]; !ok {
			s.base[e.AccountID] = e.Seq - 1
		}
		s.size[e.AccountID] = max(s.size[e.AccountID], e.Seq)
	}
	if !s.due {
		for _, e := range events {
			if n := s.size[e.AccountID]; n >= statsMinEvents && n >= statsGrowth*s.base[e.AccountID] {
				s.due = true
				break
			}
		}
	}
	now := time.Now()
	if !s.due || s.running || now.Before(s.next) || s.stop.Err() != nil {
		return
	}
	s.due, s.running = false, true
	covered := make(map[int64]int64, len(s.size))
	for a, n := range s.size {
		covered[a] = n
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.stop, statsTimeout)
		defer cancel()
		start := time.Now()
		err := db.dialect.analyzeLog(ctx, db)
		took := time.Since(start)
		s.mu.Lock()
		s.running = false
		if err != nil {
			s.due, s.next = true, time.Now().Add(statsRetry)
		} else {
			for a, n := range covered {
				s.base[a] = n
			}
			s.next = time.Now().Add(statsPause * took)
		}
		done := s.done
		s.mu.Unlock()
		if done != nil {
			done(err)
		}
	}()
}

// close cancels a refresh that is running and waits for it to end.
func (s *stats) close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	s.wg.Wait()
}

// analyzeStatements returns a dialect's analyzeLog that runs the given
// statements, in order, on the write pool's connection.
func analyzeStatements(stmts ...string) func(ctx context.Context, db *DB) error {
	return func(ctx context.Context, db *DB) error {
		conn, err := db.write.Conn(ctx)
		if err != nil {
			return db.wrap(err, "analyze")
		}
		defer conn.Close()
		for _, q := range stmts {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return db.wrap(err, "analyze")
			}
		}
		return nil
	}
}
