package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/coder/websocket"
)

// liveBenchRun measures the live tail with n clients: how long an event
// takes from the moment its ingest request is acknowledged to the moment a
// client receives it, p50 and p99 over every (event, client) pair, with the
// clients on an `auditlog serve` process of their own and the events sent
// to that process (one process) or to the benchmark's own server on the
// same database (across two processes); and what the serve process's
// resident memory grows by per idle connection.
func liveBenchRun(ctx context.Context, e *env, base, dbURL, run string, n int, d time.Duration, rate int) error {
	keys, err := benchAccountsScoped(base, run+"-live", 1, "events:write", "events:read")
	if err != nil {
		return err
	}
	key := keys[0]
	srv, err := startLiveServe(ctx, e, dbURL)
	if err != nil {
		return err
	}
	defer srv.stop()

	runtime.GC()
	time.Sleep(500 * time.Millisecond)
	rss0 := srv.rss()
	clients, err := dialLiveClients(ctx, srv.url, key, n)
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range clients {
			c.conn.CloseNow()
		}
	}()
	time.Sleep(2 * time.Second) // let the server settle
	rss1 := srv.rss()

	fmt.Fprintf(e.stdout, "auditlog bench --live %d: %d events/s for %s per scenario, clients on a serve process of their own\n\n", n, rate, d)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tevents\tmessages\tp50\tp99\tmax\t")
	for _, sc := range []struct {
		name, target string
	}{{"one process", srv.url}, {"across two processes", base}} {
		res, err := liveDrive(ctx, sc.target, key, clients, d, rate)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t\n", sc.name, res.events, res.messages,
			res.p50.Round(100*time.Microsecond), res.p99.Round(100*time.Microsecond), res.max.Round(100*time.Microsecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rss0 > 0 && rss1 > 0 {
		per := float64(rss1-rss0) / float64(n)
		fmt.Fprintf(e.stdout, "\nidle connections: serve RSS %.1f MiB before, %.1f MiB with %d connected: %.1f KiB each; 1 GB holds about %.0f\n",
			float64(rss0)/(1<<20), float64(rss1)/(1<<20), n, per/1024, float64(1<<30)/per)
	}
	return nil
}

// liveClient is one WebSocket of the benchmark, with what it received.
type liveClient struct {
	conn *websocket.Conn
	mu   sync.Mutex
	got  map[int64]time.Time // seq → when received
}

// dialLiveClients opens n streams and waits for each one's ready.
func dialLiveClients(ctx context.Context, base, key string, n int) ([]*liveClient, error) {
	clients := make([]*liveClient, n)
	url := "ws" + strings.TrimPrefix(base, "http") + "/api/audit-logs/stream"
	for i := range clients {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		conn, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + key}}})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		conn.SetReadLimit(1 << 20)
		c := &liveClient{conn: conn, got: map[int64]time.Time{}}
		if _, _, err := conn.Read(ctx); err != nil { // ready
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		go c.read(ctx)
		clients[i] = c
	}
	return clients, nil
}

// read records when each event arrives, until the connection ends. It
// finds the seq without decoding the message, so that a thousand clients
// in the benchmark's process cost it little: an event message starts
// {"type":"event","event":{"id":…,"seq":N, as the server encodes it.
func (c *liveClient) read(ctx context.Context) {
	prefix := []byte(`{"type":"event"`)
	key := []byte(`"seq":`)
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			return
		}
		at := time.Now()
		if !bytes.HasPrefix(b, prefix) {
			continue
		}
		i := bytes.Index(b, key)
		if i < 0 {
			continue
		}
		rest := b[i+len(key):]
		j := bytes.IndexAny(rest, ",}")
		if j < 0 {
			continue
		}
		seq, err := strconv.ParseInt(string(rest[:j]), 10, 64)
		if err != nil {
			continue
		}
		c.mu.Lock()
		c.got[seq] = at
		c.mu.Unlock()
	}
}

type liveResult struct {
	events, messages int
	p50, p99, max    time.Duration
}

// liveDrive sends rate single events per second to base for d, then waits
// for every client to have every event, and computes the latencies.
func liveDrive(ctx context.Context, base, key string, clients []*liveClient, d time.Duration, rate int) (liveResult, error) {
	var res liveResult
	acked := map[int64]time.Time{}
	hc := &http.Client{Timeout: 30 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.Now().Add(d)
	var seqs []int64
	for i := 0; time.Now().Before(end); i++ {
		<-tick.C
		body, _ := json.Marshal(benchEvent(i))
		out, err := call(hc, "POST", base+"/api/audit-logs", key, "", string(body), 201)
		if err != nil {
			return res, err
		}
		at := time.Now()
		var r struct {
			Log struct {
				Seq int64 `json:"seq"`
			} `json:"audit_log"`
		}
		if err := json.Unmarshal(out, &r); err != nil {
			return res, err
		}
		acked[r.Log.Seq] = at
		seqs = append(seqs, r.Log.Seq)
	}
	// Wait for every client to have every event.
	deadline := time.Now().Add(30 * time.Second)
	var waiting atomic.Int64
	for {
		waiting.Store(0)
		for _, c := range clients {
			c.mu.Lock()
			for _, s := range seqs {
				if _, ok := c.got[s]; !ok {
					waiting.Add(1)
				}
			}
			c.mu.Unlock()
		}
		if waiting.Load() == 0 {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d deliveries still missing after 30s", waiting.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
	var lat []time.Duration
	for _, c := range clients {
		c.mu.Lock()
		for _, s := range seqs {
			l := c.got[s].Sub(acked[s])
			lat = append(lat, max(l, 0)) // received before the client saw the acknowledgment
		}
		c.mu.Unlock()
	}
	slices.Sort(lat)
	res.events, res.messages = len(seqs), len(lat)
	res.p50, res.p99, res.max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	return res, nil
}

// serveProcess is an `auditlog serve` the benchmark started.
type serveProcess struct {
	cmd *exec.Cmd
	url string
}

// startLiveServe starts `auditlog serve` on the database, without rate limits.
func startLiveServe(ctx context.Context, e *env, dbURL string) (*serveProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "serve", "--database-url", dbURL, "--port", "0", "--dev", "--env-file", os.DevNull, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "SECRET_KEY=live-bench-"+strconv.FormatInt(time.Now().UnixNano(), 36)+"-not-a-secret",
		"RATE_LIMIT_READS=0", "RATE_LIMIT_INGEST=0")
	cmd.Stderr = e.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serveProcess{cmd: cmd}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("server did not start: %w", err)
	}
	p.url = strings.TrimSpace(line[strings.LastIndex(line, " ")+1:])
	go io.Copy(io.Discard, stdout)
	return p, nil
}

func (p *serveProcess) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// rss returns the process's resident memory in bytes, or 0 when it cannot
// be read (Linux only).
func (p *serveProcess) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
