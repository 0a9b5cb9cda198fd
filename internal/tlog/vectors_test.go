package tlog

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json instead of checking it")

// vectorKey is the fixed, published test signer key of the vectors. Never
// use it for anything else.
const vectorKey = "PRIVATE+KEY+vectors.auditlog.example+af8b3d3f+Ad/7vvJkF394YrvaWjm2p45rM1kHx3yGnrMIIlUa0R0B"

// Vectors are the test vectors of docs/verification.md: events → leaf bytes
// → leaf hashes → tree roots → proofs → a signed checkpoint.
type Vectors struct {
	VerifierKey string       `json:"verifier_key"`
	Leaves      []VectorLeaf `json:"leaves"` // leaf encoding version 1
	// LeavesV2 are leaves 3 and 5 in leaf encoding version 2: one with
	// occurred_at, one without.
	LeavesV2    []VectorLeaf `json:"leaves_v2"`
	Roots       []VectorRoot `json:"roots"`
	Inclusion   VectorProof  `json:"inclusion"`
	Consistency VectorProof  `json:"consistency"`
	Checkpoint  string       `json:"checkpoint"`
}

// VectorLeaf is one event of the vectors.
type VectorLeaf struct {
	AccountID    int64    `json:"account_id"`
	Seq          int64    `json:"seq"`
	CreatedAt    string   `json:"created_at"`
	OccurredAt   string   `json:"occurred_at"`
	UserID       int64    `json:"user_id"`
	ActorType    string   `json:"actor_type"`
	EventID      string   `json:"event_id"`
	Action       string   `json:"action"`
	ResourceType string   `json:"resource_type"`
	ResourceID   string   `json:"resource_id"`
	Outcome      string   `json:"outcome"`
	Personal     Personal `json:"personal"`
	SaltHex      string   `json:"salt_hex"`
	Commitment   string   `json:"commitment_hex"`
	LeafHex      string   `json:"leaf_hex"`
	LeafHash     string   `json:"leaf_hash_hex"`
}

// VectorRoot is the root of the tree of the first Size leaves.
type VectorRoot struct {
	Size int64  `json:"size"`
	Root string `json:"root_hex"`
}

// VectorProof is an inclusion proof (Index in a tree of Size) or a
// consistency proof (From a tree of size Index to one of Size).
type VectorProof struct {
	Index int64    `json:"index"`
	Size  int64    `json:"size"`
	Proof []string `json:"proof_hex"`
}

func makeVectors(t *testing.T) *Vectors {
	signer, err := NewSigner(vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	v := &Vectors{VerifierKey: signer.VerifierKey()}
	base := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	occurred := base.Add(-90 * time.Second)
	specs := []struct {
		user                        int64
		actorType, eventID          string
		action, rtype, rid, outcome string
		occurredAt                  time.Time
		personal                    Personal
	}{
		{1, "user", "", "user_login", "user", "1", "success", time.Time{}, Personal{ActorEmail: "owner@sample-store.com", ActorName: "Olivia Owner", IPAddress: "203.0.113.10", UserAgent: "Mozilla/5.0", Details: "User logged in successfully"}},
		{2, "user", "", "product_created", "product", "1001", "", time.Time{}, Personal{ActorEmail: "admin@sample-store.com", ActorName: "Adam Admin", IPAddress: "203.0.113.27", UserAgent: "curl/8.5.0", Details: `Created product "Canvas Sneakers"`}},
		{0, "api_key", "evt_5001", "order.refunded", "order", "5001", "success", occurred, Personal{ActorID: "al_3f9c2a1b", ActorName: "checkout-service", Details: "Refunded $42.00 on order #5001", Metadata: `{"amount_cents":4200,"currency":"USD"}`, Changes: `[{"field":"status","old":"paid","new":"refunded"}]`}},
		{0, "customer", "evt_5002", "order.cancel_requested", "order", "5002", "failure", occurred.Add(time.Second), Personal{ActorID: "cust_77", ActorEmail: "jane@example.net", ActorName: "Jane Roe", IPAddress: "2001:db8::7"}},
		{4, "user", "", "page_published", "page", "", "", time.Time{}, Personal{ActorEmail: "creator@sample-store.com", ActorName: "Carlos Creator", IPAddress: "198.51.100.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Details: "Published page \"FAQ\" — ünïcödé"}},
	}
	store := memTiles{}
	tiles := NewTiles(store.load)
	for i, sp := range specs {
		salt := bytes.Repeat([]byte{byte(i + 1)}, SaltSize)
		l := &Leaf{Version: LeafVersion1, AccountID: 42, Seq: int64(i + 1), CreatedAt: base.Add(time.Duration(i)*time.Minute + time.Duration(i)*123456*time.Microsecond),
			OccurredAt: sp.occurredAt, UserID: sp.user, ActorType: sp.actorType, EventID: sp.eventID,
			Action: sp.action, ResourceType: sp.rtype, ResourceID: sp.rid, Outcome: sp.outcome, Commitment: sp.personal.Commit(salt)}
		h := l.Hash()
		if err := tiles.Append(int64(i), h); err != nil {
			t.Fatal(err)
		}
		vl := VectorLeaf{
			AccountID: l.AccountID, Seq: l.Seq, CreatedAt: l.CreatedAt.Format("2006-01-02T15:04:05.000000Z"), UserID: l.UserID,
			ActorType: l.ActorType, EventID: l.EventID, Action: l.Action, ResourceType: l.ResourceType, ResourceID: l.ResourceID,
			Outcome: l.Outcome, Personal: sp.personal,
			SaltHex: hex.EncodeToString(salt), Commitment: hex.EncodeToString(l.Commitment[:]),
			LeafHex: hex.EncodeToString(l.Encode()), LeafHash: hex.EncodeToString(h[:]),
		}
		if !l.OccurredAt.IsZero() {
			vl.OccurredAt = l.OccurredAt.Format("2006-01-02T15:04:05.000000Z")
		}
		v.Leaves = append(v.Leaves, vl)
		if i == 2 || i == 4 {
			l2 := *l
			l2.Version = LeafVersion
			h2 := l2.Hash()
			vl.LeafHex, vl.LeafHash = hex.EncodeToString(l2.Encode()), hex.EncodeToString(h2[:])
			v.LeavesV2 = append(v.LeavesV2, vl)
		}
	}
	v.Roots = append(v.Roots, VectorRoot{0, hex.EncodeToString(EmptyRoot[:])})
	for size := int64(1); size <= int64(len(specs)); size++ {
		r, err := tiles.Root(size)
		if err != nil {
			t.Fatal(err)
		}
		v.Roots = append(v.Roots, VectorRoot{size, hex.EncodeToString(r[:])})
	}
	hexes := func(hs []Hash) []string {
		var out []string
		for _, h := range hs {
			out = append(out, hex.EncodeToString(h[:]))
		}
		return out
	}
	ip, _ := tiles.InclusionProof(5, 2)
	v.Inclusion = VectorProof{Index: 2, Size: 5, Proof: hexes(ip)}
	cp, _ := tiles.ConsistencyProof(3, 5)
	v.Consistency = VectorProof{Index: 3, Size: 5, Proof: hexes(cp)}
	root, _ := tiles.Root(5)
	note, err := signer.Sign(Checkpoint{Origin: Origin(signer.Name(), 42), Size: 5, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	v.Checkpoint = string(note)
	return v
}

// TestVectors checks the published test vectors: against the golden file,
// and that docs/verification.md shows every value.
func TestVectors(t *testing.T) {
	v := makeVectors(t)
	got, _ := json.MarshalIndent(v, "", "  ")
	golden := filepath.Join("testdata", "vectors.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Fatalf("vectors changed: the leaf encoding or hashing is no longer what docs/verification.md specifies.\nIf the change is deliberate, bump LeafVersion, then run go test -update and update the doc.")
	}
	// The checkpoint in the vectors verifies under the published key.
	if _, err := OpenCheckpoint([]byte(v.Checkpoint), v.VerifierKey); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "verification.md"))
	if err != nil {
		t.Fatal(err)
	}
	values := []string{v.VerifierKey, v.Checkpoint}
	for _, l := range append(v.Leaves, v.LeavesV2...) {
		values = append(values, l.LeafHex, l.LeafHash, l.Commitment)
	}
	for _, r := range v.Roots {
		values = append(values, r.Root)
	}
	values = append(values, v.Inclusion.Proof...)
	values = append(values, v.Consistency.Proof...)
	for _, val := range values {
		if !strings.Contains(string(doc), val) {
			t.Errorf("docs/verification.md lacks the vector value %q", val)
		}
	}
}
