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

// benchCorpus returns n events of a shop for the search benchmark.
func benchCorpus(r *rand.Rand, accountID int64, n int, t0 time.Time) []*audit.Event {
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
	evs := make([]*audit.Event, n)
	for i := range evs {
		var d []string
		for range 4 + r.IntN(8) {
			d = append(d, word())
		}
		if r.IntN(10_000) == 0 {
			d = append(d, "zyzzyva") // one event in 10,000
		}
		actor := r.IntN(1000)
		evs[i] = &audit.Event{
			AccountID: accountID, Action: actions[min(r.IntN(len(actions)), r.IntN(len(actions)))],
			ResourceType: []string{"order", "product", "customer", "user"}[r.IntN(4)], ResourceID: strconv.Itoa(100000 + r.IntN(50000)),
			Details: strings.Join(d, " "), ActorType: "external", ActorID: fmt.Sprintf("staff_%d", actor),
			ActorEmail: fmt.Sprintf("staff%d@shop.example.com", actor), ActorName: fmt.Sprintf("Staff Member %d", actor),
			IPAddress: fmt.Sprintf("10.%d.%d.%d", r.IntN(4), r.IntN(256), r.IntN(256)), Outcome: []string{"success", "success", "success", "failure"}[r.IntN(4)],
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
			Metadata:  []byte(fmt.Sprintf(`{"plan":%q,"amount":%d}`, []string{"basic", "pro", "plus"}[r.IntN(3)], r.IntN(500))),
			CreatedAt: t0.Add(time.Duration(i) * 10 * time.Second),
		}
	}
	return evs
}

// BenchmarkSearch loads one shop of AUDITLOG_BENCH_SEARCH_EVENTS events
// (default 200,000) beside four smaller shops (a tenth of that each) on
// every engine this run reaches, runs db.Analyze on the server engines
// (SQLite runs without statistics, as the service deploys it), then
// measures the first page (50 events, with its capped count) of typical
// searches of the big shop: p50 and p99 in milliseconds, and how many
// events match (capped at the count bound). Loading takes a minute or
// more per engine; it runs only when -bench selects it.
func BenchmarkSearch(b *testing.B) {
	n := 200_000
	if v := os.Getenv("AUDITLOG_BENCH_SEARCH_EVENTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	searches := []struct{ name, q string }{
		{"qualifier", "action:order.refunded"},
		{"two-qualifiers", "action:order.* outcome:failure"},
		{"actor", "actor:staff42@shop.example.com"},
		{"ip-cidr", "ip:10.1.0.0/20"},
		{"metadata", "metadata.plan:pro action:order.refunded"},
		{"rare-word", "zyzzyva"},
		{"common-word", "order"},
		{"phrase", `"refund issued"`},
		{"prefix", "subscr*"},
		{"word-and-qualifier", "refund action:order.refunded"},
		{"negated-word", "-order action:user_login"},
	}
	for _, e := range sqltest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			ctx := b.Context()
			r := rand.New(rand.NewPCG(1, 2))
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var big int64
			for i, size := range []int{n, n / 10, n / 10, n / 10, n / 10} {
				a := &audit.Account{Name: "Shop", Domain: fmt.Sprintf("shop%d.example.com", i)}
				if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
					b.Fatal(err)
				}
				if i == 0 {
					big = a.ID
				}
				evs := benchCorpus(r, a.ID, size, t0)
				for start := 0; start < len(evs); start += 1000 {
					batch := evs[start:min(start+1000, len(evs))]
					if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, sqltest.Signer(b), batch...); return err }); err != nil {
						b.Fatal(err)
					}
				}
			}
			if e.Name != "sqlite" {
				if err := db.Analyze(ctx); err != nil {
					b.Fatal(err)
				}
			}
			now := t0.Add(time.Duration(n) * 10 * time.Second)
			for _, s := range searches {
				q, err := query.Parse(s.q, now)
				if err != nil {
					b.Fatal(err)
				}
				b.Run(s.name, func(b *testing.B) {
					var times []time.Duration
					var total int64
					for b.Loop() {
						start := time.Now()
						p, err := db.SearchEvents(ctx, big, q, audit.PageRequest{Page: 1, PerPage: 50})
						if err != nil {
							b.Fatal(err)
						}
						times = append(times, time.Since(start))
						total = p.Pagination.Total
					}
					slices.Sort(times)
					ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
					b.ReportMetric(ms(times[len(times)/2]), "p50-ms")
					b.ReportMetric(ms(times[len(times)*99/100]), "p99-ms")
					b.ReportMetric(float64(total), "matches")
				})
			}
		})
	}
}
