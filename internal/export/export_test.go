package export

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
	jsonv2 "github.com/go-json-experiment/json"
)

// testLog is an account's log built in memory the way the store builds it.
type testLog struct {
	events []*audit.Event
	tiles  map[tlog.TileKey][]byte
	signer *tlog.Signer
	vkey   string
}

func newTestLog(t testing.TB, accountID int64, n int) *testLog {
	skey, vkey, err := tlog.GenerateKey("audit.example.com")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := tlog.NewSigner(skey)
	l := &testLog{tiles: map[tlog.TileKey][]byte{}, signer: signer, vkey: vkey}
	tiles := tlog.NewTiles(l.load)
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		e := tlog.Sealed(&audit.Event{
			AccountID: accountID, UserID: int64(1 + i%4),
			Action: []string{"order_refunded", "product_created", "user_login"}[i%3], ResourceType: "order", ResourceID: fmt.Sprint(5000 + i),
			Details: fmt.Sprintf("Refunded $%d.00", i), IPAddress: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)",
			ActorEmail: "admin@sample-store.com", ActorName: "Adam Admin", CreatedAt: base.Add(time.Duration(i) * time.Second),
		}, int64(i+1), base)
		e.ID = int64(1000 + i)
		if err := tiles.Append(int64(i), e.LeafHash); err != nil {
			t.Fatal(err)
		}
		l.events = append(l.events, e)
	}
	for _, c := range tiles.Changed() {
		l.tiles[c.Key] = c.Data
	}
	return l
}

func (l *testLog) load(keys []tlog.TileKey) (map[tlog.TileKey][]byte, error) {
	out := map[tlog.TileKey][]byte{}
	for _, k := range keys {
		if d, ok := l.tiles[k]; ok {
			out[k] = d
		}
	}
	return out, nil
}

// export writes the log as an export; with keep, only events for which keep
// returns true, each with its inclusion proof.
func (l *testLog) export(t testing.TB, keep func(*audit.Event) bool) []byte {
	size := int64(len(l.events))
	tiles := tlog.NewTiles(l.load)
	root, err := tiles.Root(size)
	if err != nil {
		t.Fatal(err)
	}
	accountID := l.events[0].AccountID
	cp := tlog.Checkpoint{Origin: tlog.Origin(l.signer.Name(), accountID), Size: size, Root: root}
	note, _ := l.signer.Sign(cp)
	var buf bytes.Buffer
	w := NewWriter(&buf, Header{AccountID: accountID, Origin: cp.Origin, TreeSize: size, RootHash: root, Checkpoint: string(note), Complete: keep == nil, ExportedAt: "2024-06-01T00:00:00.000000Z"})
	for _, e := range l.events {
		if keep != nil && !keep(e) {
			continue
		}
		line := EventOf(e)
		if keep != nil {
			if line.Proof, err = tiles.InclusionProof(size, e.Seq-1); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Write(&line); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func refunds(e *audit.Event) bool { return e.Action == "order_refunded" }

func TestVerifyGenuine(t *testing.T) {
	l := newTestLog(t, 7, 50)
	rep, err := Verify(bytes.NewReader(l.export(t, nil)), l.vkey)
	if err != nil {
		t.Fatalf("complete export: %v", err)
	}
	if !rep.Complete || rep.Events != 50 || rep.TreeSize != 50 || rep.AccountID != 7 {
		t.Errorf("report %+v", rep)
	}
	rep, err = Verify(bytes.NewReader(l.export(t, refunds)), l.vkey)
	if err != nil {
		t.Fatalf("filtered export: %v", err)
	}
	if rep.Complete || rep.Events != 17 {
		t.Errorf("filtered report %+v", rep)
	}
}

// lines splits an export into lines, for tampering.
func lines(b []byte) []string { return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") }

func join(ls []string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

func TestVerifyDetectsTampering(t *testing.T) {
	l := newTestLog(t, 7, 40)
	other := newTestLog(t, 8, 40) // same key name, another key and account
	complete, filtered := lines(l.export(t, nil)), lines(l.export(t, refunds))
	replace := func(ls []string, i int, old, new string) []string {
		out := append([]string(nil), ls...)
		if !strings.Contains(out[i], old) {
			t.Fatalf("line %d lacks %q", i, old)
		}
		out[i] = strings.Replace(out[i], old, new, 1)
		return out
	}
	without := func(ls []string, from, to int) []string {
		out := append([]string(nil), ls[:from]...)
		return append(out, ls[to:]...)
	}
	swap := func(ls []string, i, j int) []string {
		out := append([]string(nil), ls...)
		out[i], out[j] = out[j], out[i]
		return out
	}
	endCount := func(ls []string, n int) []string {
		out := append([]string(nil), ls...)
		out[len(out)-1] = fmt.Sprintf(`{"type":"end","events":%d}`, n)
		return out
	}
	tests := []struct {
		name      string
		file      []byte
		wantIndex int64 // -1: not about one event
		reason    string
	}{
		{"changed action", join(replace(complete, 4, `"action":"order_refunded"`, `"action":"order_created"`)), 3, "leaf hash"},
		{"changed details", join(replace(complete, 4, `Refunded $3.00`, `Refunded $0.00`)), 3, "commitment"},
		{"changed time", join(replace(complete, 4, `00:00:03`, `00:00:09`)), 3, "leaf hash"},
		{"changed leaf hash and field together", join(recomputeLeaf(t, replace(complete, 4, `"resource_id":"5003"`, `"resource_id":"9999"`), 4)), -1, "root"},
		{"deleted middle event", join(endCount(without(complete, 10, 11), 39)), 9, "missing"},
		{"deleted newest events", join(endCount(without(complete, 36, 41), 35)), 35, "checkpoint covers 40"},
		{"swapped events", join(swap(complete, 3, 4)), 2, "out of order"},
		{"truncated file", join(complete[:20]), -1, "truncated"},
		{"end count off", join(endCount(complete, 41)), -1, "end line"},
		{"other key's checkpoint", join(append([]string{lines(other.export(t, nil))[0]}, complete[1:]...)), -1, "signed"},
		{"forged proof", join(replace(filtered, 2, `"proof":["`, `"proof":["A`)), -1, ""},
		{"proof of another event", join(swapProofs(t, filtered, 1, 2)), 0, "inclusion proof"},
		{"filtered event moved", join(replace(filtered, 1, `"seq":1,`, `"seq":2,`)), 1, "leaf hash"},
		{"filtered truncated", join(filtered[:3]), -1, "truncated"},
		{"duplicate member", join(replace(complete, 4, `"action":"order_refunded"`, `"action":"order_refunded","action":"refund_voided"`)), -1, "malformed"},
		{"unknown member", join(replace(complete, 4, `"action":"order_refunded"`, `"action":"order_refunded","Action":"refund_voided"`)), -1, "malformed"},
		{"data after end", join(append(append([]string{}, complete...), complete[3])), -1, "after the end"},
		// Strict decoding (§7): each of these leaves every hash valid.
		{"CR LF line ends", []byte(strings.Join(complete, "\r\n") + "\r\n"), -1, "carriage return"},
		// A version 2 leaf tells an absent occurred_at from the epoch, so
		// the change is a plain hash mismatch (TestExportVectors meets
		// the epoch in a version 1 leaf).
		{"epoch occurred_at", join(replace(complete, 4, `"occurred_at":""`, `"occurred_at":"1970-01-01T00:00:00.000000Z"`)), 3, "differ from its leaf hash"},
		{"null occurred_at", join(replace(complete, 4, `"occurred_at":""`, `"occurred_at":null`)), 3, "occurred_at is null"},
		{"null user_id", join(replace(complete, 4, `"user_id":4`, `"user_id":null`)), 3, "user_id is null"},
		{"missing member", join(replace(complete, 4, `"outcome":"",`, ``)), 3, "outcome is missing"},
		{"sub-microsecond digits", join(replace(complete, 4, `00:00:03.000000Z`, `00:00:03.0000001Z`)), 3, "not a time written"},
		{"fewer fractional digits", join(replace(complete, 4, `00:00:03.000000Z`, `00:00:03Z`)), 3, "not a time written"},
		{"filter in a complete export", join(replace(complete, 0, `"complete":true,`, `"complete":true,"filter":{"action":"order_refunded"},`)), -1, "has a filter"},
		{"proof in a complete export", join(replace(complete, 4, `"type":"event",`, `"type":"event","proof":[],`)), 3, "carries a proof"},
		{"null in the end line", join(replace(complete, len(complete)-1, `"events":40`, `"events":null`)), -1, "end line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Verify(bytes.NewReader(tt.file), l.vkey)
			if err == nil {
				t.Fatalf("tampered export verified: %+v", rep)
			}
			var f *Failure
			if !errors.As(err, &f) {
				t.Fatalf("error %v is not a *Failure", err)
			}
			if tt.wantIndex >= 0 && f.Index != tt.wantIndex {
				t.Errorf("failure at index %d; want %d (%v)", f.Index, tt.wantIndex, f)
			}
			if !strings.Contains(f.Error(), tt.reason) {
				t.Errorf("failure %q does not mention %q", f, tt.reason)
			}
		})
	}

	// The checkpoint of another account of the same service (same key)
	// cannot vouch for this account's file.
	sameKey := newTestLog(t, 9, 40)
	sameKey.signer, sameKey.vkey = l.signer, l.vkey
	hdr := lines(sameKey.export(t, nil))[0]
	forged := join(append([]string{strings.Replace(hdr, `"account_id":9`, `"account_id":7`, 1)}, complete[1:]...))
	if _, err := Verify(bytes.NewReader(forged), l.vkey); err == nil || !strings.Contains(err.Error(), "origin") {
		t.Errorf("checkpoint of account 9 accepted for account 7: %v", err)
	}
}

// recomputeLeaf rewrites line i's leaf_hash to match its (altered) fields,
// as a forger who knows the format would.
func recomputeLeaf(t *testing.T, ls []string, i int) []string {
	var ev Event
	if err := jsonUnmarshal([]byte(ls[i]), &ev); err != nil {
		t.Fatal(err)
	}
	e, err := ev.Event(7)
	if err != nil {
		t.Fatal(err)
	}
	ev.LeafHash = tlog.LeafOf(e).Hash()
	out := append([]string(nil), ls...)
	out[i] = jsonLine(t, ev)
	return out
}

// swapProofs gives line i the proof of line j.
func swapProofs(t *testing.T, ls []string, i, j int) []string {
	var a, b Event
	jsonUnmarshal([]byte(ls[i]), &a)
	jsonUnmarshal([]byte(ls[j]), &b)
	a.Proof = b.Proof
	out := append([]string(nil), ls...)
	out[i] = jsonLine(t, a)
	return out
}

func BenchmarkVerifyComplete(b *testing.B) {
	const n = 100_000
	l := newTestLog(b, 1, n)
	file := l.export(b, nil)
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Verify(bytes.NewReader(file), l.vkey); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeEventLine compares decoding one event line with the
// standard library's encoding/json against the strict v2 decoder Verify uses,
// the part of verification that dominates its cost.
func BenchmarkDecodeEventLine(b *testing.B) {
	l := newTestLog(b, 1, 1)
	line := lines(l.export(b, nil))[1]
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var ev Event
			if err := jsonUnmarshal([]byte(line), &ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-v2-strict", func(b *testing.B) {
		for b.Loop() {
			var ev Event
			if err := jsonv2.Unmarshal([]byte(line), &ev, jsonv2.RejectUnknownMembers(true)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
