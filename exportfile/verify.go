package exportfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/auditlog/auditlog/internal/tlog"
	jsonv2 "github.com/go-json-experiment/json"
)

// strict is how export lines are decoded: member names match exactly, a
// member may appear once, unknown members and invalid UTF-8 are errors. A
// forger then cannot smuggle a second "action" or an "Action" past the
// verifier that a lenient reader elsewhere would take instead.
var strict = jsonv2.RejectUnknownMembers(true)

// maxLine bounds one line of an export; an event line is a few kilobytes at most.
const maxLine = 1 << 20

// Report says what Verify proved about an export.
type Report struct {
	AccountID int64
	Origin    string
	TreeSize  int64
	Root      tlog.Hash
	Events    int64 // event lines checked
	Complete  bool  // the file holds every event of the log up to TreeSize
	Erased    int64 // events whose personal data had been erased (checked by commitment only)
	Filter    map[string]string
	// FirstSeq is the seq of the first event of the log the export holds
	// (1 unless retention had removed older ones, at PrunedAt).
	FirstSeq int64
	PrunedAt string
	// Checkpoint is the header's signed checkpoint note, with any
	// cosignatures it carries, for a caller that checks a witness policy.
	Checkpoint string
}

// Failure is a verification failure, located in the file and, where it
// concerns one event, in the log.
type Failure struct {
	Line   int   // 1-based line of the file
	Index  int64 // 0-based leaf index (seq-1) of the event at fault, or -1
	Reason string
}

// Error describes the failure with its line and, for one event, its place in the log.
func (f *Failure) Error() string {
	if f.Index >= 0 {
		return fmt.Sprintf("line %d (log index %d, seq %d): %s", f.Line, f.Index, f.Index+1, f.Reason)
	}
	return fmt.Sprintf("line %d: %s", f.Line, f.Reason)
}

// Verify checks an export against the service's verifier key. It returns a
// Report when every check passed, and otherwise a *Failure for the first
// problem found (or an I/O error). It needs nothing but the file and the key.
//
// It checks that the checkpoint is signed by the key and names the log of
// the account the header names; that every event's personal data matches
// its commitment and every leaf its hash; that the events are in log order;
// and then either that the events are the whole log up to the checkpoint
// (complete exports: the root is recomputed from every leaf) or that each
// event is in the log (filtered exports: each inclusion proof is checked);
// and that the file ends with an end line that counts its events.
func Verify(r io.Reader, vkey string) (*Report, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	sc.Split(splitLines)
	line := 0
	next := func() ([]byte, error) {
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				if errors.Is(err, bufio.ErrTooLong) {
					return nil, &Failure{Line: line + 1, Index: -1, Reason: fmt.Sprintf("line longer than %d bytes", maxLine)}
				}
				return nil, err
			}
			return nil, io.EOF
		}
		line++
		if bytes.IndexByte(sc.Bytes(), '\r') >= 0 {
			return nil, &Failure{Line: line, Index: -1, Reason: "the line holds a carriage return: export lines end in LF alone, never CR LF"}
		}
		return sc.Bytes(), nil
	}

	first, err := next()
	if err == io.EOF {
		return nil, &Failure{Line: 1, Index: -1, Reason: "empty file: no header"}
	} else if err != nil {
		return nil, err
	}
	var h Header
	if err := jsonv2.Unmarshal(first, &h, strict); err != nil || h.Type != TypeHeader {
		return nil, &Failure{Line: 1, Index: -1, Reason: "first line is not an export header"}
	}
	if h.Format != Format {
		return nil, &Failure{Line: 1, Index: -1, Reason: fmt.Sprintf("format %q is not %q", h.Format, Format)}
	}
	hopt, err := checkMembers(first, headerMembers)
	if err != nil {
		return nil, &Failure{Line: 1, Index: -1, Reason: "malformed header: " + err.Error()}
	}
	if h.Complete && hopt&hasFilter != 0 {
		return nil, &Failure{Line: 1, Index: -1, Reason: "a complete export's header has a filter: a file is either complete or filtered"}
	}
	cp, err := tlog.OpenCheckpoint([]byte(h.Checkpoint), vkey)
	if err != nil {
		return nil, &Failure{Line: 1, Index: -1, Reason: "checkpoint is not validly signed by the given key: " + err.Error()}
	}
	if want := tlog.Origin(tlog.KeyName(vkey), h.AccountID); cp.Origin != want || h.Origin != want {
		return nil, &Failure{Line: 1, Index: -1, Reason: fmt.Sprintf("checkpoint origin %q is not the log of account %d (%q)", cp.Origin, h.AccountID, want)}
	}
	if cp.Size != h.TreeSize || cp.Root != h.RootHash {
		return nil, &Failure{Line: 1, Index: -1, Reason: "header's tree size or root differs from its signed checkpoint"}
	}
	rep := &Report{AccountID: h.AccountID, Origin: cp.Origin, TreeSize: cp.Size, Root: cp.Root, Complete: h.Complete, Filter: h.Filter, Checkpoint: h.Checkpoint, FirstSeq: 1}
	if p := h.Pruned; hopt&hasPruned != 0 && p != nil {
		if p.FirstSeq < 1 || p.FirstSeq-1 > cp.Size {
			return nil, &Failure{Line: 1, Index: -1, Reason: fmt.Sprintf("pruned.first_seq %d is outside the checkpoint's tree of size %d", p.FirstSeq, cp.Size)}
		}
		rep.FirstSeq, rep.PrunedAt = p.FirstSeq, p.PrunedAt
	}

	// The walk checks what every log has (seq order, commitments, leaf
	// hashes, and for a complete export the tree up to the header's
	// checkpoint); a filtered export plugs in each event's inclusion proof.
	var ev Event
	opts := tlog.WalkOptions{Sparse: !h.Complete}
	if h.Complete {
		header := &tlog.SignedCheckpoint{Size: h.TreeSize, Root: h.RootHash, Note: []byte(h.Checkpoint)}
		opts.Checkpoints = func() (*tlog.SignedCheckpoint, error) {
			c := header
			header = nil
			return c, nil
		}
	} else {
		opts.Leaf = func(index int64, leaf tlog.Hash) (*tlog.Failure, error) {
			if err := tlog.VerifyInclusion(ev.Proof, rep.TreeSize, rep.Root, index, leaf); err != nil {
				return &tlog.Failure{Index: index, Reason: "inclusion proof does not lead to the checkpoint's root"}, nil
			}
			return nil, nil
		}
	}
	walk := tlog.NewWalker(h.AccountID, vkey, opts)
	failed := func(f *tlog.Failure) error { return &Failure{Line: line, Index: f.Index, Reason: f.Reason} }
	if rep.FirstSeq > 1 {
		// The removed events' place in the tree is taken by the frontier
		// of their subtree: a wrong hash gives a root that the signed
		// checkpoint does not hold, so it needs no trust of its own.
		if f, err := walk.StartAt(rep.FirstSeq-1, h.Pruned.Frontier); err != nil {
			return nil, err
		} else if f != nil {
			return nil, failed(f)
		}
	}
	sawEnd := false
	eventPrefix := []byte(`{"type":"event"`)
	for {
		text, err := next()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if sawEnd {
			return nil, &Failure{Line: line, Index: -1, Reason: "data after the end line"}
		}
		if !bytes.HasPrefix(text, eventPrefix) {
			var end End
			if jsonv2.Unmarshal(text, &end, strict) != nil || end.Type != TypeEnd {
				return nil, &Failure{Line: line, Index: -1, Reason: "line is neither an event nor the end line"}
			}
			if _, err := checkMembers(text, endMembers); err != nil {
				return nil, &Failure{Line: line, Index: -1, Reason: "malformed end line: " + err.Error()}
			}
			if end.Events != walk.Events {
				return nil, &Failure{Line: line, Index: -1, Reason: fmt.Sprintf("end line counts %d events; the file holds %d", end.Events, walk.Events)}
			}
			sawEnd = true
			continue
		}
		ev = Event{}
		if err := jsonv2.Unmarshal(text, &ev, strict); err != nil {
			return nil, &Failure{Line: line, Index: -1, Reason: "malformed event line"}
		}
		opt, err := checkMembers(text, eventMembers)
		if err != nil {
			return nil, &Failure{Line: line, Index: ev.Seq - 1, Reason: "malformed event line: " + err.Error()}
		}
		if h.Complete && opt&hasProof != 0 {
			return nil, &Failure{Line: line, Index: ev.Seq - 1, Reason: "an event of a complete export carries a proof: only filtered exports do"}
		}
		if ev.Seq < 1 || ev.Seq > rep.TreeSize {
			return nil, &Failure{Line: line, Index: ev.Seq - 1, Reason: fmt.Sprintf("seq %d is outside the checkpoint's tree of size %d", ev.Seq, rep.TreeSize)}
		}
		e, err := ev.Event(h.AccountID)
		if err != nil {
			return nil, &Failure{Line: line, Index: ev.Seq - 1, Reason: "bad time: " + err.Error()}
		}
		if f, err := walk.Event(e); err != nil {
			return nil, err
		} else if f != nil {
			return nil, failed(f)
		}
	}
	if !sawEnd {
		return nil, &Failure{Line: line, Index: -1, Reason: "no end line: the file is truncated"}
	}
	if f, err := walk.Finish(); err != nil {
		return nil, err
	} else if f != nil {
		return nil, failed(f)
	}
	rep.Events, rep.Erased = walk.Events, walk.Erased
	return rep, nil
}
