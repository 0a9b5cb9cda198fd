package stream_test

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/stream"
)

// BenchmarkWebhook measures webhook delivery to a receiver on this
// machine (over loopback, checking every signature), on every engine the
// run covers:
//
//   - catch-up: a backlog of 20,000 events, committed while no engine
//     ran (a receiver back after an outage), delivered from the cursor in
//     batches of 500: events/s from the engine's start to the last batch
//     received, and the CPU time of this process (the engine and the
//     receiver; not the database server's) per event delivered;
//   - latency: 300 events committed one per transaction, 5 ms apart, with
//     the engine running: the time from each commit's return (what an
//     ingest request's acknowledgment waits for) to the batch that carried
//     it arriving at the receiver, p50 and p99.
//
// Run it with -benchtime=1x; docs/performance.md has the figures.
func BenchmarkWebhook(b *testing.B) {
	for _, eng := range sqltest.Engines(b) {
		b.Run(eng.Name, func(b *testing.B) {
			for b.Loop() {
				db := eng.Open(b)
				f := newFixture(b, db)
				a, p := f.tenant("bench")

				// Catch-up.
				r := newReceiver(b)
				s := f.createStream(p, r)
				const backlog, perTx = 20_000, 500
				for range backlog / perTx {
					f.appendEvents(db, a, "order.paid", perTx)
				}
				start, cpu0 := time.Now(), cpuTime()
				e := f.engine(db, stream.Options{})
				got := f.caughtUp(db, r, a)
				elapsed, cpu := time.Since(start), cpuTime()-cpu0
				e.Close()
				inOrder(b, got.seqs, s.Cursor+1)
				b.ReportMetric(float64(len(got.seqs))/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(cpu.Microseconds())/float64(len(got.seqs)), "cpu-µs/event")

				// Latency.
				r2 := newReceiver(b)
				f.createStream(p, r2)
				e = f.engine(db, stream.Options{})
				db.OnCommit = e.Committed
				f.caughtUp(db, r2, a) // its first event: the stream's creation
				committed := map[int64]time.Time{}
				for range 300 {
					f.appendEvents(db, a, "order.paid", 1)
					at := time.Now()
					size, _ := db.LogSize(b.Context(), a)
					committed[size] = at
					time.Sleep(5 * time.Millisecond)
				}
				f.caughtUp(db, r2, a)
				db.OnCommit = nil
				e.Close()
				var lat []time.Duration
				r2.mu.Lock()
				for i, bt := range r2.batches {
					for seq := bt.FirstSeq; seq <= bt.LastSeq; seq++ {
						if c, ok := committed[seq]; ok {
							lat = append(lat, r2.arrived[i].Sub(c))
						}
					}
				}
				r2.mu.Unlock()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

// cpuTime is the CPU time (user and system) this process has used: the
// engine's and the receiver's, which a loaded machine inflates less than
// the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
