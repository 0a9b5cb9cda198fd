package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

// soakOptions are the flags of auditlog bench --soak.
type soakOptions struct {
	duration, interval time.Duration
	// verifySize bounds the log that exports and verifications read: the
	// window account's writes move to a fresh account once it holds this
	// many events, so their latency measures the service, not the log's
	// growth.
	verifySize int
}

// soakAccount is one account the soak drives: an owner's session and an
// API key that writes events.
type soakAccount struct {
	owner  *http.Client
	key    string
	events atomic.Int64 // events written with key
}

// soakKinds are the operations the soak mixes, in the order reported.
var soakKinds = []string{"write", "batch", "read", "export", "verify"}

// soakStats collects latencies and errors per operation kind between two
// reports.
type soakStats struct {
	mu     sync.Mutex
	lat    map[string][]time.Duration
	errors map[string]int
	events int64
	last   string // the last error, to show
}

func (s *soakStats) add(kind string, d time.Duration, events int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errors[kind]++
		s.last = err.Error()
		return
	}
	s.lat[kind] = append(s.lat[kind], d)
	s.events += int64(events)
}

// take returns what was collected and starts afresh.
func (s *soakStats) take() (map[string][]time.Duration, map[string]int, int64, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lat, errs, n, last := s.lat, s.errors, s.events, s.last
	s.lat, s.errors, s.events, s.last = map[string][]time.Duration{}, map[string]int{}, 0, ""
	return lat, errs, n, last
}

// soakRun starts auditlog serve as a process of its own on dbURL and, for
// o.duration, drives it with a mix of single-event writes, batches, list
// reads, exports and verifications. Every o.interval it prints the server
// process's RSS, goroutines and open database connections (from its
// --debug-addr listener) and each operation's latency p50/p99, so a leak
// or a slowdown shows as a column that grows (beside the machine's load
// average, which explains a slowdown on a shared machine).
func soakRun(ctx context.Context, e *env, dbURL string, o soakOptions) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, exe, "serve", "--database-url", dbURL, "--port", "0", "--dev", "--env-file", os.DevNull,
		"--log-level", "error", "--debug-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SECRET_KEY=soak-"+strconv.FormatInt(time.Now().UnixNano(), 36)+"-not-a-secret-at-all",
		"RATE_LIMIT_LOGIN_IP=off", "RATE_LIMIT_LOGIN_ACCOUNT=off", "RATE_LIMIT_READS=off", "RATE_LIMIT_INGEST=off",
		"RATE_LIMIT_SIGNUP=off", "PUBLIC_SIGNUP=true", "REDIS_URL=")
	cmd.Stderr = e.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	lines := bufio.NewReader(stdout)
	var base, debugURL string
	for base == "" || debugURL == "" {
		line, err := lines.ReadString('\n')
		if err != nil {
			return fmt.Errorf("server did not start: %w", err)
		}
		url := strings.TrimSpace(line[strings.LastIndex(line, " ")+1:])
		switch {
		case strings.HasPrefix(line, "auditlog listening on "):
			base = url
		case strings.HasPrefix(line, "auditlog debug on "):
			debugURL = url
		}
	}
	go io.Copy(io.Discard, lines)

	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var accounts atomic.Int64
	newAccount := func() (*soakAccount, error) {
		domain := fmt.Sprintf("soak-%s-%d.bench.example", run, accounts.Add(1))
		email := "owner@" + domain
		if _, err := call(http.DefaultClient, "POST", base+"/api/accounts", "", "",
			fmt.Sprintf(`{"name":"Soak","domain":%q,"owner_email":%q,"owner_password":"bench-password-1"}`, domain, email), 201); err != nil {
			return nil, err
		}
		a := &soakAccount{owner: &http.Client{Jar: newJar(), Timeout: 5 * time.Minute}}
		if _, err := call(a.owner, "POST", base+"/api/auth/login", "", "", fmt.Sprintf(`{"email":%q,"password":"bench-password-1"}`, email), 200); err != nil {
			return nil, err
		}
		out, err := call(a.owner, "POST", base+"/api/api-keys", "", "", `{"name":"soak","scopes":["events:write"]}`, 201)
		if err != nil {
			return nil, err
		}
		var k struct {
			Key string `json:"key"`
		}
		json.Unmarshal(out, &k)
		a.key = k.Key
		return a, nil
	}
	big, err := newAccount() // grows for the whole run: single writes, reads
	if err != nil {
		return err
	}
	first, err := newAccount() // the window: batches, exports, verifications
	if err != nil {
		return err
	}
	var window atomic.Pointer[soakAccount]
	window.Store(first)

	hc := &http.Client{Timeout: time.Minute}
	stats := &soakStats{lat: map[string][]time.Duration{}, errors: map[string]int{}}
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	loop := func(kind string, pause time.Duration, op func(i int) (int, error)) {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				n, err := op(i)
				if ctx.Err() != nil {
					return // cut short by the end of the run
				}
				stats.add(kind, time.Since(t0), n, err)
				if pause > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(pause):
					}
				}
			}
		})
	}
	single := func(i int) (int, error) {
		b, _ := json.Marshal(benchEvent(i))
		_, err := call(hc, "POST", base+"/api/audit-logs", big.key, "", string(b), 201)
		return 1, err
	}
	loop("write", 0, single)
	loop("write", 0, single)
	loop("batch", 20*time.Millisecond, func(i int) (int, error) {
		w := window.Load()
		if w.events.Load() >= int64(o.verifySize) {
			next, err := newAccount()
			if err != nil {
				return 0, err
			}
			window.Store(next)
			w = next
		}
		evs := make([]map[string]any, 50)
		for j := range evs {
			evs[j] = benchEvent(i*50 + j)
		}
		b, _ := json.Marshal(map[string]any{"events": evs})
		_, err := call(hc, "POST", base+"/api/audit-logs/batch", w.key, "", string(b), 201)
		if err == nil {
			w.events.Add(int64(len(evs)))
		}
		return len(evs), err
	})
	for range 2 {
		loop("read", 0, func(i int) (int, error) {
			q := "/api/audit-logs?per_page=50"
			if i%2 == 1 {
				q += "&action=order.refunded&page=2"
			}
			_, err := call(big.owner, "GET", base+q, "", "", "", 200)
			return 0, err
		})
	}
	loop("export", 200*time.Millisecond, func(int) (int, error) {
		_, err := call(window.Load().owner, "GET", base+"/api/audit-logs/export?format=ndjson", "", "", "", 200)
		return 0, err
	})
	loop("verify", 200*time.Millisecond, func(int) (int, error) {
		out, err := call(window.Load().owner, "GET", base+"/api/audit-logs/verify", "", "", "", 200)
		if err == nil && !strings.Contains(string(out), `"ok":true`) {
			err = fmt.Errorf("verify: %s", out)
		}
		return 0, err
	})

	fmt.Fprintf(e.stdout, "auditlog bench --soak: %s for %s, a row every %s; exports and verifications read at most %d events\n\n",
		dbURL[:strings.Index(dbURL, ":")], o.duration, o.interval, o.verifySize)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "elapsed\tload\tRSS MiB\tgoroutines\tDB conns\tevents/s\t"
	for _, k := range soakKinds {
		header += k + " p50/p99 ms\t"
	}
	fmt.Fprintln(tw, header+"errors\t")
	tw.Flush()
	start, last := time.Now(), time.Now()
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	failed := 0
	report := func() {
		lat, errs, events, lastErr := stats.take()
		now := time.Now()
		row := fmt.Sprintf("%s\t%s\t%.1f\t%s\t%s\t%.0f\t", now.Sub(start).Round(time.Second), loadAverage(), float64(processRSS(cmd.Process.Pid))/(1<<20),
			debugField(debugURL, "goroutines"), debugField(debugURL, "db_open_connections"), float64(events)/now.Sub(last).Seconds())
		for _, k := range soakKinds {
			row += percentiles(lat[k]) + "\t"
		}
		n := 0
		for _, c := range errs {
			n += c
		}
		failed += n
		fmt.Fprintln(tw, row+strconv.Itoa(n)+"\t")
		tw.Flush()
		if lastErr != "" {
			fmt.Fprintf(e.stderr, "last error: %s\n", lastErr)
		}
		last = now
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			report()
		}
	}
	wg.Wait()
	if time.Since(last) > o.interval/4 {
		report()
	}
	// The growing log verifies as a whole at the end.
	out, err := call(big.owner, "GET", base+"/api/audit-logs/verify", "", "", "", 200)
	if err != nil || !strings.Contains(string(out), `"ok":true`) {
		return fmt.Errorf("final verification of the growing account: %v %s", err, out)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	fmt.Fprintf(e.stdout, "\n%d accounts, %d events in the growing account's log, which verifies; %d errors\n", accounts.Load(), treeSize(out), failed)
	if failed > 0 {
		return fmt.Errorf("%d requests failed", failed)
	}
	return nil
}

// treeSize returns the tree size a verify response reports.
func treeSize(verify []byte) int64 {
	var v struct {
		TreeSize int64 `json:"tree_size"`
	}
	json.Unmarshal(verify, &v)
	return v.TreeSize
}

// percentiles formats the p50 and p99 of ds in milliseconds.
func percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	slices.Sort(ds)
	p := func(q float64) float64 { return float64(ds[int(q*float64(len(ds)-1))]) / float64(time.Millisecond) }
	return fmt.Sprintf("%.1f/%.1f", p(0.5), p(0.99))
}

// processRSS returns the resident set size of process pid in bytes, 0 when
// it cannot be read (/proc is Linux's).
func processRSS(pid int) int64 { return procStatus(pid, "VmRSS") }

// procStatus returns one memory figure of process pid's /proc status
// (VmRSS, VmHWM, RssFile…) in bytes, 0 when it cannot be read.
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// debugField returns one number of the server's /debug/stats, "?" when it
// cannot be read.
func debugField(url, field string) string {
	resp, err := http.Get(url)
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	var m map[string]json.Number
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return "?"
	}
	return m[field].String()
}

// loadAverage returns the machine's one-minute load average, "?" where
// /proc/loadavg (Linux) cannot be read: on a shared machine it tells a
// slowdown of the service from one of the machine.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
