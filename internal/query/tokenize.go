package query

import (
	"strings"
	"unicode"
)

// Tokenize splits s into the tokens full-text search matches: the runs of
// letters, digits (any Unicode number) and combining marks, lower-cased. Everything else
// separates tokens, so "Order.Refunded", "order_refunded" and
// "order refunded" all give [order refunded]. There is no stemming, no stop
// word list and no folding of accents or of compatibility forms.
//
// Word.Tokens comes from Tokenize. Indexing the searched text with the same
// function keeps the three database engines, whose own tokenizers differ,
// in agreement with the query.
func Tokenize(s string) []string {
	var out []string
	start := -1
	for i, r := range s {
		switch {
		case isTokenRune(r):
			if start < 0 {
				start = i
			}
		case start >= 0:
			out = append(out, strings.ToLower(s[start:i]))
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, strings.ToLower(s[start:]))
	}
	return out
}

func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
}
