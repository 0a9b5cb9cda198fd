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
	"path/filepath"
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

// liveBench is what `auditlog bench --live` measures.
type liveBench struct {
	clients  int
	duration time.Duration
	rate     int
	// servers are the executables that serve the clients, each in turn
	// (none: this one).
	servers []string
	// profile, when set, names the file of a CPU profile of the clients'
	// serve process during each one-process scenario.
	profile string
}

// liveBenchRun measures the live tail with n clients: how long an event
// takes from the moment its ingest request is acknowledged to the moment a
// client receives it, p50 and p99 over every (event, client) pair, with the
// clients on an `auditlog serve` process of their own and the events sent
// to that process (one process) or to the benchmark's own server on the
// same database (across two processes); the CPU time the clients' serve
// process spent per message delivered (user and system, from
// /proc/PID/stat: the figure a loaded machine inflates least), and the
// benchmark's own (its clients, and across two processes the server that
// takes the events), which shares the machine with it; and what
// the serve process's resident memory grows by per idle connection. With
// several servers, each serves the clients in turn, in the same run.
func liveBenchRun(ctx context.Context, e *env, base, dbURL, run string, lb liveBench) error {
	keys, err := benchAccountsScoped(base, run+"-live", 1, "events:write", "events:read")
	if err != nil {
		return err
	}
	key := keys[0]
	servers := lb.servers
	if len(servers) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		servers = []string{exe}
	}
	fmt.Fprintf(e.stdout, "auditlog bench --live %d: %d events/s for %s per scenario, clients on a serve process of their own; load average %s\n\n",
		lb.clients, lb.rate, lb.duration, loadAverage())
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tscenario\tevents\tmessages\tp50\tp99\tmax\tserve CPU/message\tbench CPU/message\tidle connection\tload\t")
	for i, exe := range servers {
		profile := lb.profile
		if profile != "" && len(servers) > 1 {
			ext := filepath.Ext(profile)
			profile = fmt.Sprintf("%s.%d%s", strings.TrimSuffix(profile, ext), i+1, ext)
		}
		if err := liveBenchServer(ctx, e, tw, base, dbURL, key, exe, i+1, lb, profile); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// liveBenchServer measures the live tail with the clients on a serve
// process started from exe, writing a row per scenario to tw.
func liveBenchServer(ctx context.Context, e *env, tw *tabwriter.Writer, base, dbURL, key, exe string, index int, lb liveBench, profile string) error {
	srv, err := startLiveServe(ctx, e, exe, dbURL, profile != "")
	if err != nil {
		return err
	}
	defer srv.stop()

	runtime.GC()
	time.Sleep(500 * time.Millisecond)
	rss0 := srv.rss()
	clients, err := dialLiveClients(ctx, srv.url, key, lb.clients)
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
	idle := "-"
	if rss0 > 0 && rss1 > 0 {
		per := float64(rss1-rss0) / float64(lb.clients)
		idle = fmt.Sprintf("%.1f KiB (~%.0f in 1 GB)", per/1024, float64(1<<30)/per)
	}
	for _, sc := range []struct {
		name, target string
		profile      bool
	}{{"one process", srv.url, profile != ""}, {"across two processes", base, false}} {
		var prof chan error
		if sc.profile {
			prof = make(chan error, 1)
			go func() { prof <- srv.cpuProfile(ctx, lb.duration, profile) }()
		}
		cpu0, own0 := srv.cpu(), processCPU()
		res, err := liveDrive(ctx, sc.target, key, clients, lb.duration, lb.rate)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		cpu, own := srv.cpu()-cpu0, processCPU()-own0
		if prof != nil {
			if err := <-prof; err != nil {
				return fmt.Errorf("CPU profile: %w", err)
			}
		}
		perMsg := func(cpu time.Duration) string {
			if cpu < 0 || res.messages == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f µs", float64(cpu.Microseconds())/float64(res.messages))
		}
		fmt.Fprintf(tw, "%d %s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", index, filepath.Base(exe), sc.name, res.events, res.messages,
			res.p50.Round(100*time.Microsecond), res.p99.Round(100*time.Microsecond), res.max.Round(100*time.Microsecond), perMsg(cpu), perMsg(own), idle, loadAverage())
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
//
// The clients share the machine with the server they measure, so they read
// cheaply: into a buffer of their own, reused, and with a context that
// has no end (the reads end when the benchmark closes the connection),
// which spares the library a timer per message.
func (c *liveClient) read(ctx context.Context) {
	prefix := []byte(`{"type":"event"`)
	key := []byte(`"seq":`)
	rctx := context.WithoutCancel(ctx)
	var buf bytes.Buffer
	for {
		_, r, err := c.conn.Reader(rctx)
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		at := time.Now()
		b := buf.Bytes()
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
	cmd       *exec.Cmd
	url       string
	debugAddr string
}

// startLiveServe starts `auditlog serve` from exe on the database, without
// rate limits; with debug, also its debug listener (for a CPU profile).
func startLiveServe(ctx context.Context, e *env, exe, dbURL string, debug bool) (*serveProcess, error) {
	args := []string{"serve", "--database-url", dbURL, "--port", "0", "--dev", "--env-file", os.DevNull, "--log-level", "warn"}
	if debug {
		args = append(args, "--debug-addr", "127.0.0.1:0")
	}
	cmd := exec.CommandContext(ctx, exe, args...)
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
	r := bufio.NewReader(stdout)
	for p.url == "" || (debug && p.debugAddr == "") {
		line, err := r.ReadString('\n')
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("server did not start: %w", err)
		}
		last := strings.TrimSpace(line[strings.LastIndex(line, " ")+1:])
		switch {
		case strings.HasPrefix(line, "auditlog listening on "):
			p.url = last
		case strings.HasPrefix(line, "auditlog debug on "):
			p.debugAddr = strings.TrimSuffix(strings.TrimPrefix(last, "http://"), "/debug/stats")
		}
	}
	go io.Copy(io.Discard, r)
	return p, nil
}

// cpuProfile writes a CPU profile of the process over d to file.
func (p *serveProcess) cpuProfile(ctx context.Context, d time.Duration, file string) error {
	secs := max(int(d.Seconds()), 1)
	hc := &http.Client{Timeout: d + 30*time.Second}
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.debugAddr, secs), nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /debug/pprof/profile: %s", resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpu returns the CPU time (user and system) the process has used, or -1
// when it cannot be read (Linux only).
func (p *serveProcess) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	// The fields after the command name (which may hold spaces) start
	// after its closing parenthesis; utime and stime are the 14th and
	// 15th fields, in clock ticks (100 a second on Linux).
	rest := string(b[bytes.LastIndexByte(b, ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * (time.Second / 100)
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
func (p *serveProcess) rss() int64 { return processRSS(p.cmd.Process.Pid) }
