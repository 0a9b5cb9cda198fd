package chat

import (
	"regexp"
	"testing"
)

// TestPatternsCompile compiles every expression of the package, which are
// compiled on first use rather than at start: a pattern that does not
// compile must fail here, not in the first question that reaches it.
func TestPatternsCompile(t *testing.T) {
	lazy := []func() *regexp.Regexp{
		reEmail, reIPv4, reIPv6, reQuoted, reUserID, reResourceID, reName, reUnusual, reSeries, reTop, reTopN,
		reTopAction, reCount, reLast, reWho, reFail, reSuccess, reGeneral, reFollowUp, reMe, reSpaces, reCitation,
		reClockRange, reDateRange, reLastN, reLastUnit, reAgo, reSince, reOnDate, reInMonth, reDayFirst, reNamedSpan,
	}
	for _, v := range verbs {
		lazy = append(lazy, v.re)
	}
	for _, n := range nouns {
		lazy = append(lazy, n.re)
	}
	for i, re := range lazy {
		if re() == nil || re() != re() {
			t.Errorf("expression %d: not compiled once", i)
		}
	}
	if len(reDetailWord()) != len(details) {
		t.Errorf("%d detail words compiled; want %d", len(reDetailWord()), len(details))
	}
}
