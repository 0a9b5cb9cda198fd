package web

import (
	"math"
	"regexp"
	"strconv"
	"testing"
)

// TestContrast computes the WCAG 2 contrast ratio of each text colour of
// static/console.css on the backgrounds it is used on, and fails below AA
// (4.5:1 for text). docs/console.md lists the ratios.
func TestContrast(t *testing.T) {
	css, err := staticFS.ReadFile("static/console.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+): (#[0-9a-f]{6})`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	color := func(s string) string {
		if s[0] == '#' {
			return s
		}
		v, ok := vars[s]
		if !ok {
			t.Fatalf("no --%s in console.css", s)
		}
		return v
	}
	for _, tt := range []struct{ what, fg, bg string }{
		{"text", "text", "bg"},
		{"text on the soft grey", "text", "soft"},
		{"muted text, hints", "muted", "bg"},
		{"muted text on the soft grey", "muted", "soft"},
		{"links", "accent", "bg"},
		{"primary buttons", "accent-text", "accent"},
		{"success tags and notices", "ok", "ok-bg"},
		{"live state, on white", "ok", "bg"},
		{"error text", "bad", "bg"},
		{"error banners and failure tags", "bad", "bad-bg"},
		{"warnings", "warn", "warn-bg"},
		{"live rows: text", "text", "warn-bg"},
		{"live rows: links", "accent", "warn-bg"},
		{"tags", "#3d444d", "#eaeef2"},
		{"header text", "#ffffff", "#0d1b2a"},
		{"header accent and role", "#9cc3ff", "#0d1b2a"},
		{"current page in the header", "#0d1b2a", "#ffffff"},
		{"erasure confirmation", "bad", "#fff7f7"},
		{"callout text", "text", "#f3fbf5"},
	} {
		r := contrast(color(tt.fg), color(tt.bg))
		t.Logf("%-32s %s on %s: %.2f:1", tt.what, color(tt.fg), color(tt.bg), r)
		if r < 4.5 {
			t.Errorf("%s: %s on %s is %.2f:1; WCAG AA needs 4.5:1", tt.what, color(tt.fg), color(tt.bg), r)
		}
	}
}

// contrast is the WCAG 2 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is a colour's relative luminance (WCAG 2).
func luminance(hex string) float64 {
	var c [3]float64
	for i := range c {
		n, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		v := float64(n) / 255
		if v <= 0.04045 {
			c[i] = v / 12.92
		} else {
			c[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}
