package sqlstore_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
)

// BenchmarkAnalytics loads one account with AUDITLOG_BENCH_EVENTS events
// (default 1,000,000) spread over the 90 days before now, through the
// write path in batches of 1,000 (so the counts are kept as in service),
// on every engine this run reaches, then runs the dashboard's queries over
// the last 1, 7, 30 and 90 days and reports each query's p50 and p99 in ms.
// Top actors runs twice per iteration, alternating which goes first: as
// the service does (weeks and months from event_actor_counts; p50-ms,
// p99-ms) and from the per-day rows alone, as before migration 0017
// (old-p50-ms, old-p99-ms), so that a busy machine slows both alike.
// AUDITLOG_BENCH_ENGINES (e.g. "sqlite,postgres") limits the engines.
// Each action has its own resource type, as in a shop's log (order.* on
// orders); AUDITLOG_BENCH_CROSSED=1 draws the resource type apart from the
// action instead, the worst case of the counts' size (every action,
// resource type and outcome combination every day).
// AUDITLOG_BENCH_FILL=1 fills the counts as those events would leave them
// (sqlstore.FillCountsForBenchmark: the write path's own tally, without
// writing the events; TestCountsFill checks they agree), so that ten
// million events take a minute instead of hours. The queries read only
// the counts, so they cannot tell the difference.
// Loading takes minutes; it runs only when -bench selects it.
func BenchmarkAnalytics(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("AUDITLOG_BENCH_EVENTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	only := os.Getenv("AUDITLOG_BENCH_ENGINES")
	crossed := os.Getenv("AUDITLOG_BENCH_CROSSED") == "1"
	fill := os.Getenv("AUDITLOG_BENCH_FILL") == "1"
	signer := sqltest.Signer(b)
	for _, e := range sqltest.Engines(b) {
		if only != "" && !slices.Contains(splitComma(only), e.Name) {
			continue
		}
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			ctx := b.Context()
			a := &audit.Account{Name: "Analytics", Domain: "analytics.example.com"}
			if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC()
			start := time.Now()
			stream := analyticsStream(a.ID, n, now, crossed)
			how := "through the write path"
			if fill {
				how = "as counts only (FillCountsForBenchmark)"
				if err := sqlstore.FillCountsForBenchmark(ctx, db, stream); err != nil {
					b.Fatal(err)
				}
			} else {
				for evs := range stream {
					if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, signer, evs...); return err }); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.Logf("%s: loaded %d events %s in %s", e.Name, n, how, time.Since(start).Round(time.Second))
			if err := db.Analyze(ctx); err != nil {
				b.Fatal(err)
			}
			end := sqlstore.GrainHour.Ceil(now)
			b.Logf("%s: load average %s before the queries", e.Name, loadAverage())
			defer func() { b.Logf("%s: load average %s after the queries", e.Name, loadAverage()) }()
			for _, days := range []int{1, 7, 30, 90} {
				f := sqlstore.CountFilter{Start: end.AddDate(0, 0, -days), End: end, MaxGrain: sqlstore.GrainMonth}
				day := f
				day.MaxGrain = sqlstore.GrainDay
				logins := day
				logins.Action = audit.ActionLoginFailed
				failed := f
				failed.Outcome = audit.OutcomeFailure
				queries := []struct {
					name string
					run  func() error
				}{
					{"summary", func() error { _, _, err := db.CountTop(ctx, a.ID, f, sqlstore.DimOutcome, 10); return err }},
					{"series-day", func() error { _, err := db.CountSeries(ctx, a.ID, day); return err }},
					{"series-login-failed", func() error { _, err := db.CountSeries(ctx, a.ID, logins); return err }},
					{"top-actions", func() error { _, _, err := db.CountTop(ctx, a.ID, f, sqlstore.DimAction, 8); return err }},
					{"top-actors", func() error { _, _, err := db.CountTop(ctx, a.ID, f, sqlstore.DimActor, 8); return err }},
					{"failures-by-type", func() error {
						_, _, err := db.CountTop(ctx, a.ID, failed, sqlstore.DimResourceType, 8)
						return err
					}},
				}
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
				report := func(b *testing.B, times []time.Duration, prefix string) {
					slices.Sort(times)
					b.ReportMetric(ms(times[len(times)/2]), prefix+"p50-ms")
					b.ReportMetric(ms(times[len(times)*99/100]), prefix+"p99-ms")
				}
				for _, q := range queries {
					b.Run(fmt.Sprintf("%dd/%s", days, q.name), func(b *testing.B) {
						var times, old []time.Duration
						timed := func(days bool) {
							sqlstore.ActorRollupsForBenchmark(db, !days)
							defer sqlstore.ActorRollupsForBenchmark(db, true)
							t0 := time.Now()
							if err := q.run(); err != nil {
								b.Fatal(err)
							}
							if days {
								old = append(old, time.Since(t0))
							} else {
								times = append(times, time.Since(t0))
							}
						}
						i := 0
						for b.Loop() {
							if q.name != "top-actors" {
								timed(false)
								continue
							}
							i++
							timed(i%2 == 0)
							timed(i%2 == 1)
						}
						report(b, times, "")
						if len(old) > 0 {
							report(b, old, "old-")
						}
					})
				}
			}
		})
	}
}

// analyticsStream returns BenchmarkAnalytics's events, in batches of 1,000:
// n events of the account spread evenly over the 90 days before now, in
// time order, of 40 actions (most events in a few), 2,000 actors and 500
// addresses, a fifth without outcome and a fifth failed. Each action has
// its own resource type unless crossed. The same n, now and crossed give
// the same events.
func analyticsStream(accountID int64, n int, now time.Time, crossed bool) func(yield func([]*audit.Event) bool) {
	return func(yield func([]*audit.Event) bool) {
		span := 90 * 24 * time.Hour
		r := rand.New(rand.NewPCG(1, 2))
		actions := make([]string, 40)
		for i := range actions {
			actions[i] = fmt.Sprintf("resource%d.action%d", i%10, i)
		}
		actions[0] = audit.ActionLoginFailed
		types := []string{"order", "product", "customer", "user", "discount", "page", "refund", "payment", "shipment", "setting"}
		outcomes := []string{audit.OutcomeSuccess, audit.OutcomeSuccess, audit.OutcomeSuccess, audit.OutcomeFailure, ""}
		for done := 0; done < n; done += 1000 {
			evs := benchEvents(accountID, min(1000, n-done))
			for i, ev := range evs {
				// In time order across the load, as a log grows.
				ev.CreatedAt = now.Add(-span + time.Duration(float64(span)*float64(done+i)/float64(n))).Truncate(time.Microsecond)
				ai := int(r.ExpFloat64()*6) % len(actions)
				ev.Action = actions[ai]
				ev.ResourceType = types[ai%len(types)]
				if crossed {
					ev.ResourceType = types[r.IntN(len(types))]
				}
				ev.Outcome = outcomes[r.IntN(len(outcomes))]
				ev.ActorEmail = fmt.Sprintf("user%d@analytics.example.com", int(r.ExpFloat64()*300)%2000)
				ev.IPAddress = fmt.Sprintf("198.51.%d.%d", r.IntN(2), r.IntN(250))
			}
			if !yield(evs) {
				return
			}
		}
	}
}

// loadAverage returns the machine's load averages over 1, 5 and 15
// minutes, as /proc/loadavg gives them ("?" where there is none).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// BenchmarkAppendCounts measures what keeping the analytics counts costs
// the write path: each iteration appends one batch with the counts and one
// without (sqlstore.SkipCountsForBenchmark), alternating in the same
// database, so that a busy machine slows both alike. "same" batches share
// one actor, address and action (benchEvents); "varied" ones have a
// distinct actor and address per event and ten actions, the most rows a
// batch can add. with/without is the events/s ratio.
// AUDITLOG_BENCH_ROLLUPS=1 compares instead the counts with the week and
// month actor rows (with) and without them, as before migration 0017
// (without; sqlstore.ActorRollupsForBenchmark): what those rows cost.
func BenchmarkAppendCounts(b *testing.B) {
	signer := sqltest.Signer(b)
	rollups := os.Getenv("AUDITLOG_BENCH_ROLLUPS") == "1"
	for _, e := range sqltest.Engines(b) {
		for _, kind := range []string{"same", "varied"} {
			for _, batch := range []int{1, 100, 1000} {
				b.Run(fmt.Sprintf("%s/%s/batch=%d", e.Name, kind, batch), func(b *testing.B) {
					db := e.Open(b)
					ctx := b.Context()
					a := &audit.Account{Name: "Bench", Domain: "bench.example.com"}
					if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
						b.Fatal(err)
					}
					var with, without time.Duration
					k := 0
					for b.Loop() {
						for _, skip := range []bool{k%2 == 1, k%2 == 0} {
							evs := benchEvents(a.ID, batch)
							if kind == "varied" {
								for i, ev := range evs {
									k++
									ev.Action = fmt.Sprintf("order.action%d", i%10)
									ev.ActorEmail = fmt.Sprintf("user%d@bench.example.com", k)
									ev.IPAddress = fmt.Sprintf("198.51.100.%d", k%250)
								}
							}
							if rollups {
								sqlstore.ActorRollupsForBenchmark(db, !skip)
							} else {
								sqlstore.SkipCountsForBenchmark(db, skip)
							}
							t0 := time.Now()
							if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, signer, evs...); return err }); err != nil {
								b.Fatal(err)
							}
							if skip {
								without += time.Since(t0)
							} else {
								with += time.Since(t0)
							}
						}
						k++
					}
					events := float64(batch * b.N)
					b.ReportMetric(events/with.Seconds(), "with-ev/s")
					b.ReportMetric(events/without.Seconds(), "without-ev/s")
					b.ReportMetric(without.Seconds()/with.Seconds(), "with/without")
				})
			}
		}
	}
}
