package tlog

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// TestPrunedLog checks a log whose oldest events were removed, at sizes on
// and off tile boundaries: VerifyStored starts from the stored frontier and
// passes, meeting only the checkpoints kept; every remaining event's
// inclusion proof and every consistency proof, from sizes inside the
// pruned prefix too, still check against the roots; and a damaged frontier
// hash, or a removed event after the pruned size, fails.
func TestPrunedLog(t *testing.T) {
	ctx := context.Background()
	signer := testSigner(t)
	vkey := signer.VerifierKey()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	const total = 300
	build := func() *memLog {
		m := newMemLog(1)
		m.pruned = map[int64]int64{}
		for i := 0; i < total; i += 7 {
			var in []*audit.Event
			for j := i; j < min(i+7, total); j++ {
				in = append(in, &audit.Event{AccountID: 1, Action: fmt.Sprintf("a%d", j), ActorEmail: "x@example.com"})
			}
			if _, err := Append(ctx, m, signer, now, in); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
	m := build()
	roots := map[int64]Hash{}
	tiles := TilesOf(ctx, m, 1)
	for n := int64(1); n <= total; n++ {
		r, err := tiles.Root(n)
		if err != nil {
			t.Fatal(err)
		}
		roots[n] = r
	}
	for _, pruned := range []int64{1, 15, 16, 17, 100, 255, 256, 257, 299, 300} {
		t.Run(fmt.Sprint(pruned), func(t *testing.T) {
			m.pruned[1] = pruned
			kept := m.cps[1]
			defer func() { m.cps[1] = kept }()
			var cps []SignedCheckpoint
			for _, c := range kept {
				if c.Size >= pruned {
					cps = append(cps, c)
				}
			}
			m.cps[1] = cps
			rep, err := VerifyStored(ctx, m, 1, vkey)
			if err != nil || rep.Failure != nil {
				t.Fatalf("VerifyStored: %+v, %v", rep, err)
			}
			if rep.Pruned != pruned || rep.CheckedEvents != total-pruned || rep.CheckedCheckpoints != int64(len(cps)) {
				t.Errorf("report %+v; want %d pruned, %d events, %d checkpoints", rep, pruned, total-pruned, len(cps))
			}
			tiles := TilesOf(ctx, m, 1)
			for idx := pruned; idx < total; idx += 13 {
				proof, err := tiles.InclusionProof(total, idx)
				if err != nil {
					t.Fatal(err)
				}
				if err := VerifyInclusion(proof, total, roots[total], idx, m.events[1][idx].LeafHash); err != nil {
					t.Errorf("inclusion of %d: %v", idx, err)
				}
			}
			for _, from := range []int64{1, pruned, max(1, pruned-1), total} {
				proof, err := tiles.ConsistencyProof(from, total)
				if err == nil {
					err = VerifyConsistency(proof, from, roots[from], total, roots[total])
				}
				if err != nil {
					t.Errorf("consistency %d→%d: %v", from, total, err)
				}
			}
			frontier, err := tiles.Frontier(pruned)
			if err != nil {
				t.Fatal(err)
			}
			b, err := BuilderAt(pruned, frontier)
			if err != nil || b.Root() != roots[pruned] {
				t.Errorf("the frontier's root is not the tree's: %v", err)
			}
		})
	}

	// A damaged hash of the pruned prefix's frontier fails the check.
	m.pruned[1] = 100
	m.cps[1] = nil
	k := TileKey{Level: 0, Index: 96 / 16}
	saved := append([]byte(nil), m.tiles[1][k]...)
	m.tiles[1][k][0] ^= 1 // leaf 96, inside the frontier's subtree [96, 100)
	rep, err := VerifyStored(ctx, m, 1, vkey)
	if err != nil || rep.Failure == nil {
		t.Errorf("damaged frontier: %+v, %v; want a failure", rep, err)
	}
	m.tiles[1][k] = saved
	// An event after the pruned size that is missing fails too.
	m.pruned[1] = 100
	m.events[1] = append(m.events[1][:150:150], m.events[1][151:]...)
	rep, err = VerifyStored(ctx, m, 1, vkey)
	if err != nil || rep.Failure == nil || !strings.Contains(rep.Failure.Reason, "missing") {
		t.Errorf("missing event after the pruned size: %+v, %v; want a failure", rep, err)
	}
	if _, err := BuilderAt(5, make([]Hash, 1)); err == nil {
		t.Error("BuilderAt accepted a frontier of the wrong length")
	}
}
