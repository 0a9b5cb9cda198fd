package exportfile

import (
	"bytes"
	"fmt"
	"time"
)

// The members of each line type, as §7 of docs/verification.md lists them.
// Decoding alone cannot tell a missing member or a null from a zero value,
// so checkMembers looks at the line's members themselves: every listed
// member must be present, and null only where the list allows it.
var (
	headerMembers = memberSet{required: []string{"type", "format", "account_id", "origin", "tree_size", "root_hash", "checkpoint", "complete", "exported_at"}, optional: []string{"filter", "pruned"}}
	eventMembers  = memberSet{
		required: []string{"type", "id", "seq", "created_at", "occurred_at", "user_id", "actor_type", "event_id", "action", "resource_type",
			"resource_id", "outcome", "actor_id", "actor_email", "actor_name", "ip_address", "user_agent", "details", "metadata", "changes",
			"salt", "commitment", "leaf_hash"},
		optional: []string{"proof"},
		nullable: "salt",
	}
	endMembers = memberSet{required: []string{"type", "events"}}
)

const (
	hasFilter = 1 << 0 // headerMembers.optional[0]
	hasPruned = 1 << 1 // headerMembers.optional[1]
	hasProof  = 1 << 0 // eventMembers.optional[0]
)

// memberSet lists the members one line type may have.
type memberSet struct {
	required []string
	optional []string
	nullable string // the one member that may be null, if any
	index    map[string]int
}

func (m *memberSet) init() {
	m.index = map[string]int{}
	for i, name := range append(append([]string(nil), m.required...), m.optional...) {
		m.index[name] = i
	}
}

func init() {
	for _, m := range []*memberSet{&headerMembers, &eventMembers, &endMembers} {
		m.init()
	}
}

// checkMembers checks that line, a JSON object that already decoded
// strictly (so it is valid JSON with no duplicate or unknown member), has
// every required member of set and no null where set allows none. It
// returns which optional members are present, as a bit mask in the order
// of set.optional. It scans the bytes once without allocating: Verify
// runs it on every line.
func checkMembers(line []byte, set memberSet) (optional uint64, err error) {
	var seen uint64
	depth := 0
	expectName := false
	var name []byte
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case '{', '[':
			depth++
			expectName = depth == 1 && c == '{'
		case '}', ']':
			depth--
		case ',':
			expectName = depth == 1
		case '"':
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if expectName {
				name, expectName = line[i+1:j], false
			}
			i = j
		case ':':
			if depth != 1 {
				continue
			}
			k, ok := set.index[string(name)]
			if !ok {
				// Decoded strictly yet not listed: a name written with
				// escapes, which the service never writes.
				return 0, fmt.Errorf("member %q is not written plainly", name)
			}
			j := i + 1
			for j < len(line) && (line[j] == ' ' || line[j] == '\t' || line[j] == '\n') {
				j++
			}
			if j < len(line) && line[j] == 'n' && string(name) != set.nullable {
				return 0, fmt.Errorf("%s is null", name)
			}
			seen |= 1 << k
		}
	}
	for i, n := range set.required {
		if seen&(1<<i) == 0 {
			return 0, fmt.Errorf("%s is missing", n)
		}
	}
	return seen >> len(set.required), nil
}

// parseTime parses a time of an export line. §7 allows exactly one form,
// the one the service writes: RFC 3339 in UTC with six fractional digits
// and Z. Another spelling of the same instant would leave the leaf hash
// valid while showing a reader different text, so it is refused.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil || t.Format(timeLayout) != s {
		return time.Time{}, fmt.Errorf("%q is not a time written as 2006-01-02T15:04:05.000000Z", s)
	}
	return t, nil
}

// splitLines is a bufio.SplitFunc that splits at "\n" only: unlike
// bufio.ScanLines it leaves a "\r" in the line, where Verify refuses it.
func splitLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
