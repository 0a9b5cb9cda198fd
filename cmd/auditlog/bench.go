package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ingest"
	"github.com/auditlog/auditlog/internal/live"
	"github.com/auditlog/auditlog/internal/password"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/server"
	"github.com/auditlog/auditlog/internal/sqlstore"
)

// scenario is one load the benchmark drives through the HTTP API.
type scenario struct {
	name     string
	clients  int
	batch    int // events per request; 1 uses POST /api/audit-logs
	accounts int // accounts mixed in each batch
}

var scenarios = []scenario{
	{"single, 1 client", 1, 1, 1},
	{"single, 64 clients", 64, 1, 1},
	{"batch of 100, 4 clients", 4, 100, 1},
	{"batch of 1000, 4 clients", 4, 1000, 1},
	{"batch of 1000 over 100 accounts, 4 clients", 4, 1000, 100},
}

func runBench(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dbURL := fs.String("database-url", "", "database `URL` to load (default: a new SQLite file in a temporary directory). Use an empty scratch database: the benchmark adds accounts and events")
	duration := fs.Duration("duration", 5*time.Second, "how long each scenario runs")
	only := fs.String("only", "", "run only the scenarios whose names contain this `text`")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file`")
	exactlyOnce := fs.Int("exactly-once", 0, "instead of the scenarios, send `N` events in batches of 1,000 with Idempotency-Keys, send every batch twice at once (blind retries), and check that the log holds each event exactly once and verifies")
	exportEvents := fs.Int("export", 0, "instead of the scenarios, load a log of `N` events into a new account and measure GET /api/audit-logs/export of it in each format, each served by a fresh auditlog serve process: events/s, time to first byte and the server's peak RSS")
	liveClients := fs.Int("live", 0, "instead of the scenarios, open `N` WebSocket streams (GET /api/audit-logs/stream) on an auditlog serve process of their own and measure the latency from an event's ingest acknowledgment to its arrival at every client, with the events sent to that process and to another one on the same database; and the memory of each idle connection")
	liveRate := fs.Int("live-rate", 20, "with --live, how many events per second to send")
	liveServers := fs.String("live-servers", "", "with --live, the auditlog `executables` that serve the clients, comma-separated, each measured in turn (default: this one); to compare builds in one run on a shared machine")
	liveProfile := fs.String("live-profile", "", "with --live, write a CPU profile of the clients' serve process during each one-process scenario to `file` (the server's index is added before the extension when there are several)")
	exportFormats := fs.String("formats", strings.Join(app.ExportFormats, ","), "with --export, the `formats` to measure, comma-separated")
	exportServers := fs.String("export-servers", "", "with --export, the auditlog `executables` that serve the exports, comma-separated, each measured in turn on the same loaded log (default: this one); to compare builds on a shared machine")
	exportRounds := fs.Int("export-rounds", 1, "with --export, measure each format on each server `N` times, alternating servers")
	prune := fs.Int64("prune", 0, "instead of the scenarios, generate `N` events over 365 days into a new account, prune those older than 182 days (half) in PRUNE_BATCH transactions, and report the events removed per second and the p50/p99 of one-event appends to the same account during the prune and idle")
	pruneAccount := fs.Int64("prune-account", 0, "with --prune, generate nothing: prune this existing account `ID` of the database instead, one that auditlog generate --span 365d filled with the N events (to prune copies of one loaded database, old build against new)")
	pruneBatch := fs.Int("prune-batch", config.DefaultPruneBatch, "with --prune, the events removed per transaction (PRUNE_BATCH)")
	soak := fs.Duration("soak", 0, "instead of the scenarios, run a soak for `DURATION`: a separate auditlog serve process on the database, driven by single writes, batches, list reads, exports and verifications at once, reporting its RSS, goroutines, open database connections and each operation's latency p50/p99 every --soak-interval")
	soakInterval := fs.Duration("soak-interval", time.Minute, "with --soak, report every `DURATION`")
	soakVerifySize := fs.Int("soak-verify-size", 5000, "with --soak, exports and verifications read an account of at most `N` events: its batches move to a fresh account once it holds N, so their latency stays comparable over the run")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: auditlog bench [flags]

Load the ingest API: start the real HTTP server on loopback with the
group-commit writer, then for each scenario drive it with concurrent
clients holding an API key, and report events/s and request latency
(p50, p99). In the same run, measure the engine's raw bulk insert of the
same rows (no HTTP, no Merkle tree, one transaction per 1,000 rows) and
print each scenario's rate as a fraction of it.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	url := *dbURL
	if url == "" {
		dir, err := os.MkdirTemp("", "auditlog-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		url = "sqlite:///" + filepath.Join(dir, "bench.db")
	}
	if *soak > 0 {
		if *soakInterval <= 0 || *soakVerifySize < 1 {
			return badUsage(e.stderr, "bench", errors.New("--soak-interval and --soak-verify-size must be positive"))
		}
		return soakRun(ctx, e, url, soakOptions{duration: *soak, interval: *soakInterval, verifySize: *soakVerifySize})
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := config.Default()
	cfg.Env, cfg.DatabaseURL, cfg.LogName = config.Development, url, "bench.auditlog"
	// The benchmark measures the write path, not the abuse limits: its one
	// client address signs in to every account it sets up and sends far more
	// than a key's default share.
	cfg.RateLimitLoginIP, cfg.RateLimitLoginAccount, cfg.RateLimitReads, cfg.RateLimitIngest = ratelimit.Rule{}, ratelimit.Rule{}, ratelimit.Rule{}, ratelimit.Rule{}
	cfg.RateLimitSignUp = ratelimit.Rule{}
	cfg.PruneBatch = *pruneBatch
	db, signer, err := openLog(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	writer := ingest.NewWriter(db, signer, ingest.Options{Workers: ingestWorkers(db), Logger: log})
	defer writer.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a := app.New(app.Deps{
		Store: db, Signer: signer, Ingest: writer, Hasher: password.NewHasher(password.OWASP), Config: cfg, Logger: log, SecretKey: []byte("bench"),
	})
	defer closeApp(a, log)
	if *prune > 0 {
		return benchPrune(ctx, e, db, signer, a, *prune, *pruneAccount, cfg.PruneBatch)
	}
	hub := live.New(db, live.Options{Logger: log})
	db.OnCommit = hub.Committed
	defer hub.Close()
	srv := &http.Server{Handler: server.New(server.Deps{
		App: a, Store: db, Config: cfg, Logger: log, Live: hub,
	})}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	run := fmt.Sprintf("%x", time.Now().UnixNano())

	if *exportEvents > 0 {
		var servers []string
		if *exportServers != "" {
			servers = strings.Split(*exportServers, ",")
		}
		return exportBenchRun(ctx, e, db, signer, base, url, run, *exportEvents, strings.Split(*exportFormats, ","), servers, max(*exportRounds, 1))
	}
	if *liveClients > 0 {
		var servers []string
		if *liveServers != "" {
			servers = strings.Split(*liveServers, ",")
		}
		return liveBenchRun(ctx, e, base, url, run, liveBench{clients: *liveClients, duration: *duration, rate: max(*liveRate, 1), servers: servers, profile: *liveProfile})
	}
	if *exactlyOnce > 0 {
		return exactlyOnceRun(ctx, e, db, base, run, *exactlyOnce)
	}
	fmt.Fprintf(e.stdout, "auditlog bench: %s, %s per scenario\n\n", db.Describe(), *duration)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tevents/s\trequests/s\tp50\tp99\tof raw\t")

	raw, err := rawInsertRate(ctx, db, run, *duration)
	if err != nil {
		return fmt.Errorf("raw bulk insert: %w", err)
	}
	for i, sc := range scenarios {
		if *only != "" && !strings.Contains(sc.name, *only) {
			continue
		}
		keys, err := benchAccounts(base, fmt.Sprintf("%s-%d", run, i), sc.accounts)
		if err != nil {
			return err
		}
		res, err := drive(ctx, base, keys, sc, *duration)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%s\t%.2f\t\n", sc.name, res.eventsPerSec, res.requestsPerSec,
			res.p50.Round(10*time.Microsecond), res.p99.Round(10*time.Microsecond), res.eventsPerSec/raw)
	}
	fmt.Fprintf(tw, "raw bulk insert, 1000 rows per transaction\t%.0f\t\t\t\t1.00\t\n", raw)
	return tw.Flush()
}

// benchAccounts creates n accounts through the API, each with an owner and
// an API key that may write events, and returns the keys.
func benchAccounts(base, tag string, n int) ([]string, error) {
	return benchAccountsScoped(base, tag, n, "events:write")
}

// benchAccountsScoped is benchAccounts with keys holding the scopes.
func benchAccountsScoped(base, tag string, n int, scopes ...string) ([]string, error) {
	keys := make([]string, n)
	for i := range keys {
		domain := fmt.Sprintf("b%s-%d.bench.example", tag, i)
		email := "owner@" + domain
		body := fmt.Sprintf(`{"name":"Bench %d","domain":%q,"owner_email":%q,"owner_password":"bench-password-1"}`, i, domain, email)
		if _, err := call(http.DefaultClient, "POST", base+"/api/accounts", "", "", body, 201); err != nil {
			return nil, err
		}
		jar := &http.Client{Jar: newJar()}
		if _, err := call(jar, "POST", base+"/api/auth/login", "", "", fmt.Sprintf(`{"email":%q,"password":"bench-password-1"}`, email), 200); err != nil {
			return nil, err
		}
		sc, _ := json.Marshal(scopes)
		out, err := call(jar, "POST", base+"/api/api-keys", "", "", `{"name":"bench","scopes":`+string(sc)+`}`, 201)
		if err != nil {
			return nil, err
		}
		var r struct {
			Key string `json:"key"`
		}
		json.Unmarshal(out, &r)
		keys[i] = r.Key
	}
	return keys, nil
}

// call sends a JSON request, with an API key and an Idempotency-Key when
// given, and fails unless the status is one of ok.
func call(hc *http.Client, method, url, bearer, idempotencyKey, body string, ok ...int) ([]byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if !slices.Contains(ok, resp.StatusCode) {
		return nil, fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, out)
	}
	return out, nil
}

type result struct {
	eventsPerSec, requestsPerSec float64
	p50, p99                     time.Duration
}

// benchEvent is a realistic event body of a platform service.
func benchEvent(i int) map[string]any {
	return map[string]any{
		"action": "order.refunded", "resource_type": "order", "resource_id": fmt.Sprint(100000 + i),
		"details": "Refunded $42.00 on order #100000", "ip_address": "203.0.113.10",
		"user_agent": "checkout-service/2.3", "outcome": "success",
		"actor":    map[string]any{"id": fmt.Sprintf("cust_%d", i%977), "type": "customer", "email": "jane@example.net"},
		"metadata": map[string]any{"amount_cents": 4200, "currency": "USD"},
	}
}

// drive runs one scenario for d and measures it. Each client sends its
// requests one after another; a batch mixing accounts is sent as one request
// per account key, concurrently, and counts as one request.
func drive(ctx context.Context, base string, keys []string, sc scenario, d time.Duration) (result, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: sc.clients * len(keys), MaxConnsPerHost: 0}
	hc := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	defer transport.CloseIdleConnections()
	perAccount := max(1, sc.batch/len(keys))
	bodies := make([][]byte, len(keys))
	for k := range keys {
		if sc.batch == 1 {
			bodies[k], _ = json.Marshal(benchEvent(k))
			continue
		}
		evs := make([]map[string]any, perAccount)
		for i := range evs {
			evs[i] = benchEvent(i)
		}
		bodies[k], _ = json.Marshal(map[string]any{"events": evs})
	}
	path := "/api/audit-logs"
	if sc.batch > 1 {
		path = "/api/audit-logs/batch"
	}
	var events atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	var firstErr error
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range sc.clients {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				start := time.Now()
				var sent int64
				var errs []error
				var inner sync.WaitGroup
				var emu sync.Mutex
				for k, key := range keys {
					inner.Go(func() {
						if _, err := call(hc, "POST", base+path, key, "", string(bodies[k]), http.StatusCreated); err != nil {
							emu.Lock()
							errs = append(errs, err)
							emu.Unlock()
						}
					})
					sent += int64(max(sc.batch/len(keys), 1))
				}
				inner.Wait()
				if len(errs) > 0 {
					mu.Lock()
					if firstErr == nil {
						firstErr = errs[0]
					}
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(start))
				events.Add(sent)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if firstErr != nil {
		return result{}, firstErr
	}
	if len(latencies) == 0 {
		return result{}, errors.New("no request completed")
	}
	slices.Sort(latencies)
	elapsed := d.Seconds()
	return result{
		eventsPerSec:   float64(events.Load()) / elapsed,
		requestsPerSec: float64(len(latencies)) / elapsed,
		p50:            latencies[len(latencies)/2],
		p99:            latencies[len(latencies)*99/100],
	}, nil
}

// rawInsertRate measures the engine's raw bulk insert of the same rows:
// 1,000 per transaction by the store's bulk path, with no HTTP, no tree and
// no checkpoint, into one account, for d.
func rawInsertRate(ctx context.Context, db *sqlstore.DB, run string, d time.Duration) (float64, error) {
	a := &audit.Account{Name: "raw", Domain: "raw-" + run + ".bench.example"}
	if err := db.Update(ctx, func(tx *sqlstore.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		return 0, err
	}
	var seq, n int64
	start := time.Now()
	for time.Since(start) < d {
		evs := make([]*audit.Event, 1000)
		for i := range evs {
			seq++
			evs[i] = &audit.Event{
				AccountID: a.ID, Seq: seq, Action: "order.refunded", ResourceType: "order", ResourceID: fmt.Sprint(100000 + i),
				Details: "Refunded $42.00 on order #100000", IPAddress: "203.0.113.10", UserAgent: "checkout-service/2.3",
				Outcome: "success", ActorType: "customer", ActorID: fmt.Sprintf("cust_%d", i%977), ActorEmail: "jane@example.net",
				Metadata: []byte(`{"amount_cents":4200,"currency":"USD"}`), Salt: bytes.Repeat([]byte{1}, 32),
			}
		}
		if err := db.InsertRawForBenchmark(ctx, evs); err != nil {
			return 0, err
		}
		n += 1000
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}

// exactlyOnceRun sends n events through the batch endpoint, each batch twice
// at once with the same Idempotency-Key, as a client retrying blindly would,
// then checks that the account's log holds exactly n events and verifies.
func exactlyOnceRun(ctx context.Context, e *env, db *sqlstore.DB, base, run string, n int) error {
	keys, err := benchAccounts(base, run+"-once", 1)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: time.Minute}
	evs := make([]map[string]any, 1000)
	for i := range evs {
		evs[i] = benchEvent(i)
	}
	body, _ := json.Marshal(map[string]any{"events": evs})
	start := time.Now()
	batches := (n + 999) / 1000
	work := make(chan int)
	var sent, replayed atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 2 { // two senders, each retrying its batch once, concurrently
		wg.Go(func() {
			for b := range work {
				var inner sync.WaitGroup
				for range 2 {
					inner.Go(func() {
						out, err := call(hc, "POST", base+"/api/audit-logs/batch", keys[0], fmt.Sprintf("%s-%d", run, b), string(body), 200, 201)
						if err != nil {
							mu.Lock()
							if firstErr == nil {
								firstErr = err
							}
							mu.Unlock()
							return
						}
						var r struct{ Created, Replayed int64 }
						json.Unmarshal(out, &r)
						sent.Add(r.Created)
						replayed.Add(r.Replayed)
					})
				}
				inner.Wait()
			}
		})
	}
	for b := range batches {
		work <- b
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	elapsed := time.Since(start)
	jar := &http.Client{Jar: newJar()}
	email := fmt.Sprintf("owner@b%s-once-0.bench.example", run)
	if _, err := call(jar, "POST", base+"/api/auth/login", "", "", fmt.Sprintf(`{"email":%q,"password":"bench-password-1"}`, email), 200); err != nil {
		return err
	}
	out, err := call(jar, "GET", base+"/api/audit-logs/verify", "", "", "", 200)
	if err != nil {
		return err
	}
	var v struct {
		OK       bool  `json:"ok"`
		TreeSize int64 `json:"tree_size"`
	}
	json.Unmarshal(out, &v)
	fmt.Fprintf(e.stdout, "sent %d events in %d batches, each batch twice at once, in %s (%.0f events/s)\n",
		batches*1000, batches, elapsed.Round(time.Millisecond), float64(batches*1000)/elapsed.Seconds())
	fmt.Fprintf(e.stdout, "created %d, recognised as retries %d; log size %d (the events plus the account's own %d), verify ok=%v\n",
		sent.Load(), replayed.Load(), v.TreeSize, v.TreeSize-int64(batches*1000), v.OK)
	if sent.Load() != int64(batches*1000) || replayed.Load() != int64(batches*1000) || !v.OK {
		return fmt.Errorf("exactly-once check failed")
	}
	return nil
}
