package config_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestSettingsDocumented reads the names of the settings FromEnv reads
// (from its source) and requires a row of the README's settings table
// for each, so that the one table of settings (docs/operations.md#settings
// points at it) cannot drift from the code.
func TestSettingsDocumented(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, "| `") {
			first, _, _ := strings.Cut(l[2:], " |")
			rows = append(rows, first)
		}
	}
	names := regexp.MustCompile(`\b(?:lookup|str|dur|rule)\("([A-Z][A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(names) < 25 {
		t.Fatalf("found %d settings in config.go; the pattern no longer matches how FromEnv reads them", len(names))
	}
	for _, m := range names {
		found := false
		for _, r := range rows {
			if strings.Contains(r, "`"+m[1]+"`") {
				found = true
			}
		}
		if !found {
			t.Errorf("setting %s is read by FromEnv but has no row in the README's settings table (first column)", m[1])
		}
	}
}
