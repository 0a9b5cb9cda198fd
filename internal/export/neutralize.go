package export

import "unicode/utf8"

// NeutralizeCell makes a CSV cell inert in a spreadsheet, as OWASP's "CSV
// Injection" page advises: a cell that a spreadsheet would read as a formula
// gets a single quote (') in front. A cell needs it when its first character,
// after any leading spaces, is one of
//
//	= + - @ tab CR LF NUL  and the full-width ＝ ＋ － ＠
//
// (spreadsheets in CJK locales take the full-width signs for their ASCII
// counterparts), except when the whole cell is a plain decimal number such
// as -1, +5 or -12.50, which a spreadsheet reads as the number it is and
// which cannot hold a formula. A cell that begins with a quote followed by
// a cell that needs one gets one more, so that RestoreCell undoes
// NeutralizeCell exactly.
func NeutralizeCell(s string) string {
	if needsQuote(s) {
		return "'" + s
	}
	return s
}

// RestoreCell returns the value that NeutralizeCell turned into s: for a
// program that reads a CSV export and wants a text column's value as the
// client sent it.
func RestoreCell(s string) string {
	if len(s) > 0 && s[0] == '\'' && needsQuote(s[1:]) {
		return s[1:]
	}
	return s
}

// needsQuote reports whether s, after any leading quotes, starts a formula.
func needsQuote(s string) bool {
	for {
		if startsFormula(s) {
			return true
		}
		if s == "" || s[0] != '\'' {
			return false
		}
		s = s[1:]
	}
}

// startsFormula reports whether a spreadsheet could read s as a formula.
func startsFormula(s string) bool {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i == len(s) {
		return false
	}
	switch s[i] {
	case '=', '@', '\t', '\r', '\n', 0:
		return true
	case '+', '-':
		return i > 0 || !isPlainNumber(s)
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	switch r {
	case '＝', '＋', '－', '＠':
		return true
	}
	return false
}

// isPlainNumber reports whether s is an optional sign, digits and an
// optional fraction: [+-]?[0-9]+(\.[0-9]+)?
func isPlainNumber(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	digits := func() int {
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		return n
	}
	n := digits()
	if n == 0 {
		return false
	}
	s = s[n:]
	if s == "" {
		return true
	}
	if s[0] != '.' {
		return false
	}
	s = s[1:]
	n = digits()
	return n > 0 && n == len(s)
}
