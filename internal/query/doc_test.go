package query

import (
	"os"
	"strings"
	"testing"
)

// TestSearchDoc checks docs/search.md against the parser: every search in
// the tables of its Qualifiers, Times and Examples sections parses, and
// every search in its Errors table fails with the message shown.
func TestSearchDoc(t *testing.T) {
	b, err := os.ReadFile("../../docs/search.md")
	if err != nil {
		t.Fatal(err)
	}
	section, valid, invalid := "", 0, 0
	for _, line := range strings.Split(string(b), "\n") {
		if s, ok := strings.CutPrefix(line, "## "); ok {
			section = s
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(line, "| `") {
			continue
		}
		search, ok := codeSpan(cells[1])
		if !ok {
			continue
		}
		switch section {
		case "Times", "Examples":
			if _, err := Parse(search, testNow); err != nil {
				t.Errorf("%s: Parse(%q): %v", section, search, err)
			}
			valid++
		case "Errors":
			want, ok := codeSpan(cells[2])
			if !ok {
				t.Errorf("Errors: no message for %q", search)
				continue
			}
			if _, err := Parse(search, testNow); err == nil || err.Error() != want {
				t.Errorf("Errors: Parse(%q) = %v\nthe page says %s", search, err, want)
			}
			invalid++
		}
	}
	if valid < 20 || invalid < 20 {
		t.Errorf("found %d valid and %d invalid searches in docs/search.md; the tables moved?", valid, invalid)
	}
}

// codeSpan returns the text of a table cell that is one code span.
func codeSpan(cell string) (string, bool) {
	cell = strings.TrimSpace(cell)
	if len(cell) < 2 || cell[0] != '`' || cell[len(cell)-1] != '`' || strings.Count(cell, "`") != 2 {
		return "", false
	}
	return cell[1 : len(cell)-1], true
}
