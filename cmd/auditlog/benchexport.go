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
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/sqlstore"
	"github.com/auditlog/auditlog/internal/tlog"
)

// exportBenchRun measures GET /api/audit-logs/export of a log of n events
// in each format: it loads the log as a real verifiable log (appends of
// 1,000 events, then the engine's statistics), then, for each format,
// starts a fresh auditlog serve process on the same database, downloads
// the whole export with an API key, stops the server and reads its peak
// RSS. The figures are the served rate (events/s from the request to the
// last byte), the time to the first byte, the server's CPU time (steadier
// than the rate on a shared machine) and its peak RSS. With several
// servers (executables) or rounds, each format is measured rounds times on
// each server in turn, alternating them, so that builds compared on a
// shared machine see the same moments of its load.
func exportBenchRun(ctx context.Context, e *env, db *sqlstore.DB, signer *tlog.Signer, base, dbURL, run string, n int, formats, servers []string, rounds int) error {
	domain := "export-" + run + ".bench.example"
	email := "owner@" + domain
	out, err := call(http.DefaultClient, "POST", base+"/api/accounts", "", "", fmt.Sprintf(`{"name":"Export bench","domain":%q,"owner_email":%q,"owner_password":"bench-password-1"}`, domain, email), 201)
	if err != nil {
		return err
	}
	var created struct {
		Account struct {
			ID int64 `json:"id"`
		} `json:"account"`
	}
	if err := json.Unmarshal(out, &created); err != nil || created.Account.ID == 0 {
		return fmt.Errorf("account creation answered %s", out)
	}
	jar := &http.Client{Jar: newJar()}
	if _, err := call(jar, "POST", base+"/api/auth/login", "", "", fmt.Sprintf(`{"email":%q,"password":"bench-password-1"}`, email), 200); err != nil {
		return err
	}
	out, err = call(jar, "POST", base+"/api/api-keys", "", "", `{"name":"export-bench","scopes":["events:read"]}`, 201)
	if err != nil {
		return err
	}
	var k struct {
		Key string `json:"key"`
	}
	json.Unmarshal(out, &k)

	start := time.Now()
	for done := 0; done < n; done += 1000 {
		evs := exportBenchEvents(created.Account.ID, done, min(1000, n-done))
		if err := db.Update(ctx, func(tx *sqlstore.Tx) error { _, err := tx.AppendEvents(ctx, signer, evs...); return err }); err != nil {
			return fmt.Errorf("load events: %w", err)
		}
	}
	if err := db.Analyze(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "auditlog bench --export: %s, loaded %d events in %s\n\n", db.Describe(), n, time.Since(start).Round(time.Millisecond))

	if len(servers) == 0 {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		servers = []string{self}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "format\tevents\tbytes\tfirst byte\ttotal\tevents/s\tMB/s\tserver CPU\tserver peak RSS\t")
	if len(servers) > 1 {
		fmt.Fprint(tw, "server\t")
	}
	fmt.Fprintln(tw)
	for _, format := range formats {
		for range rounds {
			for _, exe := range servers {
				r, err := exportOnce(ctx, e, exe, dbURL, k.Key, format)
				if err != nil {
					return fmt.Errorf("%s: %w", format, err)
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%.0f\t%.1f\t%s\t%.0f MB (%.0f MB file)\t", format, r.events, r.bytes, r.firstByte.Round(time.Millisecond),
					r.total.Round(time.Millisecond), float64(r.events)/r.total.Seconds(), float64(r.bytes)/1e6/r.total.Seconds(), r.cpu.Round(10*time.Millisecond), float64(r.maxRSS)/1e6, float64(r.fileRSS)/1e6)
				if len(servers) > 1 {
					fmt.Fprint(tw, exe+"\t")
				}
				fmt.Fprintln(tw)
				if len(servers) > 1 || rounds > 1 {
					tw.Flush() // a long comparison shows each result as it comes
				}
			}
		}
	}
	return tw.Flush()
}

type exportResult struct {
	events, bytes    int64
	firstByte, total time.Duration
	maxRSS           int64         // bytes, the server's peak resident set
	fileRSS          int64         // bytes of its resident set mapped from files (its executable) at the end
	cpu              time.Duration // the server process's user and system time, start to stop
}

// exportOnce starts the executable exe's auditlog serve on the database,
// downloads one export and stops the server.
func exportOnce(ctx context.Context, e *env, exe, dbURL, key, format string) (exportResult, error) {
	var r exportResult
	cmd := exec.CommandContext(ctx, exe, "serve", "--database-url", dbURL, "--port", "0", "--dev", "--env-file", os.DevNull, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "SECRET_KEY=export-bench-"+strconv.FormatInt(time.Now().UnixNano(), 36)+"-not-a-secret")
	cmd.Stderr = e.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return r, err
	}
	if err := cmd.Start(); err != nil {
		return r, err
	}
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return r, fmt.Errorf("server did not start: %w", err)
	}
	url := strings.TrimSpace(line[strings.LastIndex(line, " ")+1:])
	go io.Copy(io.Discard, stdout)

	req, err := http.NewRequestWithContext(ctx, "GET", url+"/api/audit-logs/export?format="+format, nil)
	if err != nil {
		return r, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		return r, fmt.Errorf("export: %d %s", resp.StatusCode, body)
	}
	var one [1]byte
	if _, err := io.ReadFull(resp.Body, one[:]); err != nil {
		return r, err
	}
	r.firstByte = time.Since(t0)
	rest, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return r, err
	}
	r.total, r.bytes = time.Since(t0), rest+1
	r.events, _ = strconv.ParseInt(resp.Header.Get("X-Export-Events"), 10, 64)

	// The peak is read from the server while it runs: the kernel's
	// ru_maxrss of a child also counts this process's own peak, which the
	// child shared until it called exec.
	r.maxRSS, r.fileRSS = procStatus(cmd.Process.Pid, "VmHWM"), procStatus(cmd.Process.Pid, "RssFile")
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	stopped = true
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return r, nil
}

// exportBenchEvents returns n events like a shop's: a user refunding
// orders, with metadata.
func exportBenchEvents(accountID int64, from, n int) []*audit.Event {
	evs := make([]*audit.Event, n)
	for i := range evs {
		id := strconv.Itoa(100000 + from + i)
		evs[i] = &audit.Event{
			AccountID: accountID, ActorType: "customer", ActorID: "cust_" + strconv.Itoa((from+i)%977), ActorEmail: "jane@example.net",
			Action: "order.refunded", ResourceType: "order", ResourceID: id, Outcome: audit.OutcomeSuccess,
			Details: "Refunded $42.00 on order #" + id, IPAddress: "203.0.113.10", UserAgent: "checkout-service/2.3",
			Metadata: []byte(`{"amount_cents":4200,"currency":"USD"}`),
		}
	}
	return evs
}
