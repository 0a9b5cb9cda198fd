package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/export"
	"github.com/auditlog/auditlog/internal/tlog"
	"github.com/auditlog/auditlog/internal/witness"
)

// startWitness runs a real `auditlog witness` process for the log key and
// returns its URL and verifier key.
func startWitness(t *testing.T, bin, name, logKey string) (url, vkey string) {
	t.Helper()
	var out bytes.Buffer
	if err := runTest(t, []string{"witness-keygen", "--name", name}, envMap(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	skey, _ := strings.CutPrefix(lines[0], "WITNESS_KEY=")
	vkey, _ = strings.CutPrefix(lines[1], "witness verifier key: ")
	ctx, cancel := context.WithTimeout(t.Context(), processDeadline)
	cmd := exec.CommandContext(ctx, bin, "witness", "--log", logKey, "--listen", "127.0.0.1:0", "--state", filepath.Join(t.TempDir(), "witness.db"))
	cmd.Env = []string{"WITNESS_KEY=" + skey}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		cancel()
		if t.Failed() {
			t.Logf("log of witness %s:\n%s", name, stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	_, addr, ok := strings.Cut(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok || !strings.Contains(line, vkey) {
		t.Fatalf("witness said %q, %v", line, err)
	}
	return addr, vkey
}

// TestWitnessProcesses runs two real witness processes: they cosign a log's
// checkpoints as it grows, auditlog verify with a witness policy accepts an
// export whose checkpoint both cosigned and rejects one they did not, and
// both refuse a rewritten history signed with the log's own key.
func TestWitnessProcesses(t *testing.T) {
	bin := buildAuditlog(t)
	t.Chdir(t.TempDir())
	skey, vkey, err := tlog.GenerateKey("audit.witnessed.test")
	if err != nil {
		t.Fatal(err)
	}
	logSigner, _ := tlog.NewSigner(skey)
	w1, k1 := startWitness(t, bin, "w1.example.org", vkey)
	w2, k2 := startWitness(t, bin, "w2.example.org", vkey)
	ctx := t.Context()
	hc := &http.Client{Timeout: 30 * time.Second}

	// grow builds a log of account 3 of n events (action prefix p for the
	// events from index `from` on), signs it, has both witnesses cosign it,
	// and writes its complete export with the cosigned checkpoint.
	type log struct {
		events []*audit.Event
		tiles  map[tlog.TileKey][]byte
	}
	view := func(l *log) *tlog.Tiles {
		return tlog.NewTiles(func(keys []tlog.TileKey) (map[tlog.TileKey][]byte, error) {
			out := map[tlog.TileKey][]byte{}
			for _, k := range keys {
				if d, ok := l.tiles[k]; ok {
					out[k] = d
				}
			}
			return out, nil
		})
	}
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	grow := func(l *log, n int, action string) {
		tiles := view(l)
		for range n {
			seq := int64(len(l.events) + 1)
			e := tlog.Sealed(&audit.Event{AccountID: 3, Action: action, CreatedAt: base.Add(time.Duration(seq) * time.Second)}, seq, base)
			e.ID = seq
			if err := tiles.Append(seq-1, e.LeafHash); err != nil {
				t.Fatal(err)
			}
			l.events = append(l.events, e)
		}
		for _, c := range tiles.Changed() {
			l.tiles[c.Key] = c.Data
		}
	}
	cosign := func(l *log, urls ...string) ([]byte, error) {
		size := int64(len(l.events))
		root, _ := view(l).Root(size)
		signed, err := logSigner.Sign(tlog.Checkpoint{Origin: tlog.Origin(logSigner.Name(), 3), Size: size, Root: root})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range urls {
			prove := func(from int64) ([]tlog.Hash, error) { return view(l).ConsistencyProof(from, size) }
			if signed, err = witness.Cosign(ctx, hc, u, signed, size, prove); err != nil {
				return signed, err
			}
		}
		return signed, nil
	}
	writeExport := func(l *log, signed []byte) string {
		size := int64(len(l.events))
		root, _ := view(l).Root(size)
		path := filepath.Join(t.TempDir(), "export.ndjson")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w := export.NewWriter(f, export.Header{AccountID: 3, Origin: tlog.Origin(logSigner.Name(), 3), TreeSize: size, RootHash: root,
			Checkpoint: string(signed), Complete: true, ExportedAt: "2024-03-02T00:00:00.000000Z"})
		for _, e := range l.events {
			line := export.EventOf(e)
			w.Write(&line)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return path
	}
	verify := func(file string, flags ...string) (string, error) {
		var out bytes.Buffer
		err := runTest(t, append(append([]string{"verify", "--key", vkey}, flags...), file), envMap(nil), &out, io.Discard)
		return out.String(), err
	}

	real := &log{tiles: map[tlog.TileKey][]byte{}}
	var signed []byte
	for _, n := range []int{4, 9, 20} {
		grow(real, n, "order_paid")
		if signed, err = cosign(real, w1, w2); err != nil {
			t.Fatalf("size %d: %v", len(real.events), err)
		}
	}
	both := []string{"--witness", k1, "--witness", k2}
	if out, err := verify(writeExport(real, signed), both...); err != nil || !strings.Contains(out, "Cosigned by at least 2 of the 2") {
		t.Errorf("cosigned export: %v\n%s", err, out)
	}
	plain, _ := cosign(real) // signed by the log only
	if out, err := verify(writeExport(real, plain), both...); err == nil || !strings.Contains(out, "witness policy") {
		t.Errorf("export without cosignatures: %v\n%s", err, out)
	}
	if out, err := verify(writeExport(real, plain)); err != nil {
		t.Errorf("without a policy the same export verifies: %v\n%s", err, out)
	}

	// The insider's history: the same log with event 10 changed and grown
	// past the cosigned size, signed with the log's own key.
	forged := &log{tiles: map[tlog.TileKey][]byte{}}
	grow(forged, 9, "order_paid")
	grow(forged, 1, "nothing_happened")
	grow(forged, len(real.events)-10+2, "order_paid")
	for _, u := range []string{w1, w2} {
		_, err := cosign(forged, u)
		if err == nil || !strings.Contains(err.Error(), "422") {
			t.Errorf("witness %s on the rewritten log: %v; want a 422 refusal", u, err)
		}
	}
	forgedNote, _ := cosign(forged)
	if out, err := verify(writeExport(forged, forgedNote), "--witness", k1, "--witness", k2, "--witness-quorum", "1"); err == nil {
		t.Errorf("rewritten log's export passed the witness policy:\n%s", out)
	}
}
