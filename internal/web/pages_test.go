package web

import "testing"

// TestPagesParse parses every page with the layout: pages are parsed on
// first use, so a template that does not parse must fail here rather than
// on the first visit to its page.
func TestPagesParse(t *testing.T) {
	ps := mustParsePages()
	if len(ps) < 10 {
		t.Fatalf("%d pages; want every template of templates/", len(ps))
	}
	for name, page := range ps {
		if tpl := page(); tpl == nil || tpl.Lookup("layout") == nil || page() != tpl {
			t.Errorf("page %s: not parsed once with the layout", name)
		}
	}
}
