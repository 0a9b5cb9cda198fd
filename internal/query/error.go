package query

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/auditlog/auditlog/internal/audit"
)

// Error is a malformed query. Every error Parse returns is an *Error.
//
// Its text reads "<what> at column <n>" followed, when there is one, by ": "
// and a hint, such as
//
//	unknown qualifier "acton" at column 1: did you mean "action"?
type Error struct {
	// Pos is the byte offset in the query of the problem: the start of the
	// term or value at fault, or len(query) when something is missing at
	// the end. 0 <= Pos <= len(query).
	Pos int
	// Column is Pos for people: the 1-based position of the character at
	// Pos, counting characters (runes), not bytes.
	Column int
	// Msg says what is wrong, without the position.
	Msg string
	// Hint, when not empty, says how to put it right.
	Hint string
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := e.Msg + " at column " + strconv.Itoa(e.Column)
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

// AuditError returns e as the application's error: code audit.EINVALID,
// field "q" and e's text as the message, so that the HTTP layer answers 400
// Bad Request. e stays reachable through errors.As for callers that want
// its position.
func (e *Error) AuditError() *audit.Error {
	return &audit.Error{Code: audit.EINVALID, Field: "q", Message: e.Error(), Err: e}
}

// errorAt returns an *Error at byte offset pos of src.
func errorAt(src string, pos int, hint string, format string, args ...any) *Error {
	pos = max(0, min(pos, len(src)))
	for pos > 0 && pos < len(src) && !utf8.RuneStart(src[pos]) {
		pos--
	}
	return &Error{Pos: pos, Column: utf8.RuneCountInString(src[:pos]) + 1, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// didYouMean returns a hint naming the candidate closest to s, or "" when
// none is close.
func didYouMean(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := distance(s, c); d < bestDist && d < len(c) && d < len(s) {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return `did you mean "` + best + `"?`
}

// distance is the optimal string alignment distance between a and b
// (Levenshtein plus transposition of adjacent characters), on bytes: the
// candidates are ASCII.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
