package export

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
}

// Failure is a verification failure, located in the file and, where it
// concerns one event, in the log.
type Failure struct {
	Line   int   // 1-based line of the file
	Index  int64 // 0-based leaf index (seq-1) of the event at fault, or -1
	Reason string
}

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
	rep := &Report{AccountID: h.AccountID, Origin: cp.Origin, TreeSize: cp.Size, Root: cp.Root, Complete: h.Complete, Filter: h.Filter}

	var (
		b       tlog.Builder
		lastSeq int64
		ev      Event
		sawEnd  bool
	)
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
			if end.Events != rep.Events {
				return nil, &Failure{Line: line, Index: -1, Reason: fmt.Sprintf("end line counts %d events; the file holds %d", end.Events, rep.Events)}
			}
			sawEnd = true
			continue
		}
		ev = Event{}
		if err := jsonv2.Unmarshal(text, &ev, strict); err != nil {
			return nil, &Failure{Line: line, Index: -1, Reason: "malformed event line"}
		}
		if err := checkEvent(&ev, rep, &b, lastSeq, line); err != nil {
			return nil, err
		}
		lastSeq = ev.Seq
		rep.Events++
	}
	if !sawEnd {
		return nil, &Failure{Line: line, Index: -1, Reason: "no end line: the file is truncated"}
	}
	if rep.Complete {
		if b.Size() != cp.Size {
			return nil, &Failure{Line: line, Index: b.Size(), Reason: fmt.Sprintf("complete export holds %d events; the checkpoint covers %d", b.Size(), cp.Size)}
		}
		if b.Root() != cp.Root {
			return nil, &Failure{Line: line, Index: -1, Reason: "the events do not hash to the checkpoint's root: the log was altered"}
		}
	}
	return rep, nil
}

// checkEvent checks one event line.
func checkEvent(ev *Event, rep *Report, b *tlog.Builder, lastSeq int64, line int) error {
	idx := ev.Seq - 1
	fail := func(format string, args ...any) error {
		return &Failure{Line: line, Index: idx, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case ev.Seq < 1 || ev.Seq > rep.TreeSize:
		return fail("seq %d is outside the checkpoint's tree of size %d", ev.Seq, rep.TreeSize)
	case rep.Complete && ev.Seq != lastSeq+1:
		return &Failure{Line: line, Index: lastSeq, Reason: fmt.Sprintf("expected seq %d, found %d: events are missing or out of order", lastSeq+1, ev.Seq)}
	case ev.Seq <= lastSeq:
		return fail("seq %d does not follow seq %d", ev.Seq, lastSeq)
	}
	personal := ev.personal()
	if ev.Salt == nil {
		if personal != (tlog.Personal{}) {
			return fail("personal data without a salt cannot be checked")
		}
		rep.Erased++
	} else if len(ev.Salt) != tlog.SaltSize || personal.Commit(ev.Salt) != ev.Commitment {
		return fail("personal data (actor, IP address, user agent or details) does not match its commitment")
	}
	leaf, err := ev.leaf(rep.AccountID)
	if err != nil {
		return fail("bad created_at %q or occurred_at %q", ev.CreatedAt, ev.OccurredAt)
	}
	h := leaf.Hash()
	if h != ev.LeafHash {
		return fail("event fields do not hash to its leaf hash")
	}
	if rep.Complete {
		b.Add(h)
		return nil
	}
	if err := tlog.VerifyInclusion(ev.Proof, rep.TreeSize, rep.Root, idx, h); err != nil {
		return fail("inclusion proof does not lead to the checkpoint's root")
	}
	return nil
}
