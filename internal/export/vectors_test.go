package export

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditlog/auditlog/internal/audit"
	"github.com/auditlog/auditlog/internal/tlog"
)

// vectorKey is the published signer key of docs/verification.md's test
// vectors (also in internal/tlog/vectors_test.go). Never use it for
// anything else.
const vectorKey = "PRIVATE+KEY+vectors.auditlog.example+af8b3d3f+Ad/7vvJkF394YrvaWjm2p45rM1kHx3yGnrMIIlUa0R0B"

// vectorExports returns the export-file test vectors of §10: a complete
// export of the five vector events and an export of them filtered by
// resource_type=order, both under the vectors' checkpoint of size 5.
func vectorExports(t *testing.T) (complete, filtered []byte, vkey string) {
	raw, err := os.ReadFile(filepath.Join("..", "tlog", "testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Checkpoint string `json:"checkpoint"`
		Leaves     []struct {
			Seq          int64         `json:"seq"`
			CreatedAt    string        `json:"created_at"`
			OccurredAt   string        `json:"occurred_at"`
			UserID       int64         `json:"user_id"`
			ActorType    string        `json:"actor_type"`
			EventID      string        `json:"event_id"`
			Action       string        `json:"action"`
			ResourceType string        `json:"resource_type"`
			ResourceID   string        `json:"resource_id"`
			Outcome      string        `json:"outcome"`
			Personal     tlog.Personal `json:"personal"`
			Salt         string        `json:"salt_hex"`
		} `json:"leaves"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	signer, err := tlog.NewSigner(vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	vkey = signer.VerifierKey()
	var events []*audit.Event
	store := map[tlog.TileKey][]byte{}
	tiles := tlog.NewTiles(func(keys []tlog.TileKey) (map[tlog.TileKey][]byte, error) {
		out := map[tlog.TileKey][]byte{}
		for _, k := range keys {
			if d, ok := store[k]; ok {
				out[k] = d
			}
		}
		return out, nil
	})
	for _, l := range v.Leaves {
		salt, _ := hex.DecodeString(l.Salt)
		ev := Event{
			Type: TypeEvent, ID: 1000 + l.Seq, Seq: l.Seq, CreatedAt: l.CreatedAt, OccurredAt: l.OccurredAt, UserID: l.UserID,
			ActorType: l.ActorType, EventID: l.EventID, Action: l.Action, ResourceType: l.ResourceType, ResourceID: l.ResourceID,
			Outcome: l.Outcome, ActorID: l.Personal.ActorID, ActorEmail: l.Personal.ActorEmail, ActorName: l.Personal.ActorName,
			IPAddress: l.Personal.IPAddress, UserAgent: l.Personal.UserAgent, Details: l.Personal.Details,
			Metadata: l.Personal.Metadata, Changes: l.Personal.Changes, Salt: salt, Commitment: l.Personal.Commit(salt),
		}
		e, err := ev.Event(42)
		if err != nil {
			t.Fatal(err)
		}
		leaf := tlog.LeafOf(e)
		leaf.Version = tlog.LeafVersion1 // the vectors' leaves are of version 1
		e.LeafHash = leaf.Hash()
		if err := tiles.Append(l.Seq-1, e.LeafHash); err != nil {
			t.Fatal(err)
		}
		for _, c := range tiles.Changed() {
			store[c.Key] = c.Data
		}
		events = append(events, e)
	}
	root, err := tiles.Root(5)
	if err != nil {
		t.Fatal(err)
	}
	write := func(filter map[string]string, keep func(*audit.Event) bool) []byte {
		var buf bytes.Buffer
		w := NewWriter(&buf, Header{AccountID: 42, Origin: tlog.Origin(signer.Name(), 42), TreeSize: 5, RootHash: root,
			Checkpoint: v.Checkpoint, Complete: filter == nil, Filter: filter, ExportedAt: "2024-06-01T00:00:00.000000Z"})
		for _, e := range events {
			if !keep(e) {
				continue
			}
			line := EventOf(e)
			line.ID = 1000 + e.Seq
			if filter != nil {
				if line.Proof, err = tiles.InclusionProof(5, e.Seq-1); err != nil {
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
	complete = write(nil, func(*audit.Event) bool { return true })
	filtered = write(map[string]string{"resource_type": "order"}, func(e *audit.Event) bool { return e.ResourceType == "order" })
	return complete, filtered, vkey
}

// TestExportVectors checks the export files of docs/verification.md §10:
// they verify, and the document shows them byte for byte.
func TestExportVectors(t *testing.T) {
	complete, filtered, vkey := vectorExports(t)
	rep, err := Verify(bytes.NewReader(complete), vkey)
	if err != nil || !rep.Complete || rep.Events != 5 {
		t.Errorf("complete vector export: %+v, %v", rep, err)
	}
	rep, err = Verify(bytes.NewReader(filtered), vkey)
	if err != nil || rep.Complete || rep.Events != 2 {
		t.Errorf("filtered vector export: %+v, %v", rep, err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "verification.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string][]byte{"complete": complete, "filtered": filtered} {
		if !strings.Contains(string(doc), "```\n"+string(file)+"```\n") {
			t.Errorf("docs/verification.md lacks the %s export vector:\n%s", name, file)
		}
	}
	// The vectors' leaves are of version 1, which encodes an absent
	// occurred_at as the epoch: an export that shows the epoch for an
	// event without one keeps the leaf hash, and must fail all the same.
	epoch := bytes.Replace(complete, []byte(`"id":1001,"seq":1,"created_at":"2024-01-01T12:00:00.000000Z","occurred_at":""`),
		[]byte(`"id":1001,"seq":1,"created_at":"2024-01-01T12:00:00.000000Z","occurred_at":"1970-01-01T00:00:00.000000Z"`), 1)
	if bytes.Equal(epoch, complete) {
		t.Fatal("the epoch case did not change the export")
	}
	if _, err := Verify(bytes.NewReader(epoch), vkey); err == nil || !strings.Contains(err.Error(), "epoch") {
		t.Errorf("version 1 leaf shown with an epoch occurred_at: %v; want a failure naming the epoch", err)
	}
}
