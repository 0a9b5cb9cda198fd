package sqlstore

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestWritesThatChangeHowEventsRead guards the rule listing versions rely
// on (internal/app/version.go): nothing changes how an event reads
// without appending an event. A listing shows the events' own columns and
// the acting user's email, names and role, so every statement of the store
// that updates or deletes events or users is listed here with why it keeps
// the rule. A new one fails this test until it is added, after checking
// that the operation calling it appends an event in the same transaction
// (or changes nothing a listing shows), or listingVersion is bumped.
func TestWritesThatChangeHowEventsRead(t *testing.T) {
	allowed := map[string]string{
		"UPDATE events SET ip_bin, search_text": "search columns, never shown",
		"UPDATE users SET is_active, role":      "UpdateUserAccess: App.UpdateUser records each change in the same transaction",
		"UPDATE users SET password_hash":        "not shown in a listing",
		"UPDATE events SET actor_email, actor_id, actor_name, changes, details, ip_address, ip_bin, metadata, salt, search_text, user_agent": "ErasePersonalData: App.Erase records personal_data_erased in the same transaction",
		"UPDATE users SET email, first_name, is_active, last_name, password_hash":                                                            "AnonymizeUser: App.Erase records personal_data_erased in the same transaction",
		"DELETE FROM events": "PruneBatch (retention): listing versions name the log's pruned size too",
	}
	stmt := regexp.MustCompile("(?i)(UPDATE\\s+(events|users)\\s+SET\\s+([^`]*?)\\s+WHERE|DELETE\\s+FROM\\s+(events|users)\\b)")
	col := regexp.MustCompile(`(\w+)\s*=`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range stmt.FindAllStringSubmatch(string(src), -1) {
			key := "DELETE FROM " + m[4]
			if m[2] != "" {
				var cols []string
				for _, c := range col.FindAllStringSubmatch(m[3], -1) {
					cols = append(cols, c[1])
				}
				slices.Sort(cols)
				key = "UPDATE " + m[2] + " SET " + strings.Join(cols, ", ")
			}
			seen++
			if _, ok := allowed[key]; !ok {
				t.Errorf("%s: %q changes what an event listing may show: check the rule in internal/app/version.go, then list it here", f, key)
			}
		}
	}
	if seen < len(allowed) {
		t.Errorf("found %d such statements; want at least the %d listed: is the pattern still right?", seen, len(allowed))
	}
}
