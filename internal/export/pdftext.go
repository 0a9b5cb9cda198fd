package export

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/unicode/norm"
)

// Font families as registered with fpdf.
const (
	famSans = "DejaVuSans"
	famCJK  = "DroidSansFallback"
)

// Font indexes into a [3]coverage and typesetter.widths.
const (
	fontRegular = iota
	fontBold
	fontFallback
)

// typesetter measures, wraps and draws text with the report's fonts. A
// character the main font lacks is drawn with the CJK fallback font, which
// is loaded only for a report that needs it; one that no font has (emoji,
// for instance) becomes U+FFFD, drawn as a visible replacement mark, so that
// nothing the PDF library cannot encode reaches it.
type typesetter struct {
	pdf      *fpdf.Fpdf
	cov      *[3]coverage
	fallback bool // the CJK font is loaded
	// widths caches character widths at 1 pt, per font. Measuring a new
	// character selects its font in the PDF, which writes a font change
	// into the page; the cache keeps that to once per character.
	widths [3]map[rune]float64
	// current is the font and size last selected, or font -1 when not
	// known (forget); selecting it again writes nothing into the page.
	current struct {
		font int
		size float64
	}
}

// newTypesetter loads the fonts into pdf; the CJK fallback font only when
// fallback is true.
func newTypesetter(pdf *fpdf.Fpdf, cov *[3]coverage, fallback bool) *typesetter {
	ts := &typesetter{pdf: pdf, cov: cov, fallback: fallback}
	ts.forget()
	pdf.AddUTF8FontFromBytes(famSans, "", fontRegularTTF)
	pdf.AddUTF8FontFromBytes(famSans, "B", fontBoldTTF)
	if fallback {
		pdf.AddUTF8FontFromBytes(famCJK, "", fontCJKTTF)
	}
	for i := range ts.widths {
		ts.widths[i] = map[rune]float64{}
	}
	return ts
}

// needsFallback reports whether s has a character that only the CJK font
// has.
func needsFallback(cov *[3]coverage, s string) bool {
	for _, r := range s {
		if r >= 0x2E80 && !cov[fontRegular].has(r) && cov[fontFallback].has(r) {
			return true
		}
	}
	return false
}

// clean prepares text for the PDF: valid UTF-8, composed (NFC, so that a
// letter and its combining accent become one glyph where Unicode has one),
// control characters as spaces (line breaks, CRLF or CR, kept as LF),
// invisible format characters dropped, and characters no font has replaced
// with U+FFFD, one per emoji sequence.
func (ts *typesetter) clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = norm.NFC.String(s)
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return ' '
		case r >= 0xFE00 && r <= 0xFE0F || r >= 0x1F3FB && r <= 0x1F3FF:
			return -1 // variation selectors and skin tones: part of the character before
		case r == '\u200d':
			return r // zero-width joiner, handled below
		case unicode.Is(unicode.Cf, r):
			return -1 // invisible format characters (bidi marks, BOM)
		case ts.cov[fontRegular].has(r) || ts.fallback && ts.cov[fontFallback].has(r):
			return r
		}
		return '\uFFFD'
	}, s)
	if strings.ContainsRune(s, '\u200d') {
		// An emoji sequence joined by ZWJ (👩‍💻) is one replacement mark.
		for strings.Contains(s, "\uFFFD\u200d\uFFFD") {
			s = strings.ReplaceAll(s, "\uFFFD\u200d\uFFFD", "\uFFFD")
		}
		s = strings.ReplaceAll(s, "\u200d", "")
	}
	return s
}

// fontOf returns the font that draws r in a bold or regular run.
func (ts *typesetter) fontOf(r rune, bold bool) int {
	main := fontRegular
	if bold {
		main = fontBold
	}
	if ts.cov[main].has(r) || !ts.fallback || !ts.cov[fontFallback].has(r) {
		return main
	}
	return fontFallback
}

// setFont selects font at size pt, unless it is the one selected last:
// the PDF library writes a font change into the page at every call.
func (ts *typesetter) setFont(f *fpdf.Fpdf, font int, size float64) {
	if ts.current.font == font && ts.current.size == size {
		return
	}
	ts.current.font, ts.current.size = font, size
	switch font {
	case fontRegular:
		f.SetFont(famSans, "", size)
	case fontBold:
		f.SetFont(famSans, "B", size)
	default:
		f.SetFont(famCJK, "", size)
	}
}

// forget makes the next setFont select its font whatever was selected
// before: the page header and footer end with it, since the library
// selects the page's font again after them.
func (ts *typesetter) forget() { ts.current.font = -1 }

// runeWidth returns r's advance at size pt, in mm.
func (ts *typesetter) runeWidth(r rune, font int, size float64) float64 {
	w, ok := ts.widths[font][r]
	if !ok {
		ts.setFont(ts.pdf, font, 1)
		w = ts.pdf.GetStringWidth(string(r))
		if unicode.Is(unicode.Mn, r) {
			w = 0 // combining marks: fpdf counts a default width
		}
		ts.widths[font][r] = w
	}
	return w * size
}

// width returns the width of a line of cleaned text, in mm.
func (ts *typesetter) width(s string, bold bool, size float64) float64 {
	w := 0.0
	for _, r := range s {
		w += ts.runeWidth(r, ts.fontOf(r, bold), size)
	}
	return w
}

// isBreakable reports whether a line may break before and after r without
// a space: ideographs and kana, which are written without spaces.
func isBreakable(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// isBreakAfter reports whether a line may break after r inside a word: in
// e-mail addresses, action names, paths and IP addresses.
func isBreakAfter(r rune) bool { return strings.ContainsRune(".@-/_:,;", r) }

// wrap splits cleaned text into lines no wider than w mm: at line breaks,
// at spaces, after the punctuation of isBreakAfter, between CJK characters, and inside a word too long for a line.
func (ts *typesetter) wrap(s string, w float64, bold bool, size float64) []string {
	var lines []string
	for para := range strings.SplitSeq(s, "\n") {
		lines = ts.wrapPara(lines, para, w, bold, size)
	}
	return lines
}

func (ts *typesetter) wrapPara(lines []string, s string, w float64, bold bool, size float64) []string {
	var line strings.Builder
	lineW := 0.0
	flush := func() {
		lines = append(lines, strings.TrimRight(line.String(), " "))
		line.Reset()
		lineW = 0
	}
	for len(s) > 0 {
		// The next token: a run of spaces, one CJK character, or a word.
		r, n := utf8.DecodeRuneInString(s)
		end := n
		switch {
		case r == ' ':
			for end < len(s) && s[end] == ' ' {
				end++
			}
		case !isBreakable(r) && !isBreakAfter(r):
			for end < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[end:])
				if r2 == ' ' || isBreakable(r2) {
					break
				}
				end += n2
				if isBreakAfter(r2) {
					break
				}
			}
		}
		tok := s[:end]
		s = s[end:]
		tw := ts.width(tok, bold, size)
		if tok[0] == ' ' {
			if line.Len() > 0 && lineW+tw <= w {
				line.WriteString(tok)
				lineW += tw
			} else if line.Len() > 0 {
				flush()
			}
			continue
		}
		if lineW+tw <= w {
			line.WriteString(tok)
			lineW += tw
			continue
		}
		if line.Len() > 0 {
			flush()
		}
		if tw <= w {
			line.WriteString(tok)
			lineW = tw
			continue
		}
		// A word wider than the line: break it between characters.
		for _, c := range tok {
			cw := ts.runeWidth(c, ts.fontOf(c, bold), size)
			if lineW+cw > w && line.Len() > 0 {
				flush()
			}
			line.WriteRune(c)
			lineW += cw
		}
	}
	if line.Len() > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

// fit returns the line cut with "…" to fit w mm.
func (ts *typesetter) fit(s string, w float64, bold bool, size float64) string {
	if ts.width(s, bold, size) <= w {
		return s
	}
	ell := ts.width("…", bold, size)
	total := 0.0
	for i, r := range s {
		total += ts.runeWidth(r, ts.fontOf(r, bold), size)
		if total+ell > w {
			return s[:i] + "…"
		}
	}
	return s
}

// visual returns a line in the order its characters are drawn, left to
// right, for a left-to-right paragraph: each run of right-to-left text
// (Hebrew, Arabic), with the spaces and punctuation between its letters, is
// reversed, but numbers within it keep their order. This is the part of the
// Unicode bidirectional algorithm that names, notes and addresses need; the
// PDF library has none. Arabic letters are not joined: they show in their
// isolated forms.
func visual(line string) string {
	rs := []rune(line)
	start := -1
	for i := range rs {
		if isRTL(rs[i]) {
			start = i
			break
		}
	}
	if start < 0 {
		return line
	}
	out := make([]rune, 0, len(rs))
	out = append(out, rs[:start]...)
	for i := start; i < len(rs); {
		if !isRTL(rs[i]) {
			out = append(out, rs[i])
			i++
			continue
		}
		// The run ends at the last RTL letter before a left-to-right one.
		end, last := i, i
		for end < len(rs) && !isLTR(rs[end]) {
			if isRTL(rs[end]) {
				last = end
			}
			end++
		}
		out = append(out, reverseRTL(rs[i:last+1])...)
		i = last + 1
	}
	return string(out)
}

func isRTL(r rune) bool {
	return r >= 0x0590 && r <= 0x08FF || r >= 0xFB1D && r <= 0xFDFF || r >= 0xFE70 && r <= 0xFEFF
}

// isLTR reports whether r is a strong left-to-right character.
func isLTR(r rune) bool { return unicode.IsLetter(r) && !isRTL(r) }

// reverseRTL reverses a right-to-left run, keeping digit sequences in order
// and mirroring brackets.
func reverseRTL(run []rune) []rune {
	out := make([]rune, 0, len(run))
	for i := len(run) - 1; i >= 0; {
		if unicode.IsDigit(run[i]) {
			j := i
			for j > 0 && (unicode.IsDigit(run[j-1]) || (run[j-1] == '.' || run[j-1] == ',') && j > 1 && unicode.IsDigit(run[j-2])) {
				j--
			}
			out = append(out, run[j:i+1]...)
			i = j - 1
			continue
		}
		out = append(out, mirror(run[i]))
		i--
	}
	return out
}

func mirror(r rune) rune {
	switch r {
	case '(':
		return ')'
	case ')':
		return '('
	case '[':
		return ']'
	case ']':
		return '['
	case '{':
		return '}'
	case '}':
		return '{'
	case '<':
		return '>'
	case '>':
		return '<'
	case '«':
		return '»'
	case '»':
		return '«'
	}
	return r
}

// draw writes a line of cleaned text with its baseline at (x, y), switching
// to the fallback font for the characters that need it.
func (ts *typesetter) draw(x, y float64, s string, bold bool, size float64) {
	s = visual(s)
	for len(s) > 0 {
		r, _ := utf8.DecodeRuneInString(s)
		font := ts.fontOf(r, bold)
		end := 0
		for end < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[end:])
			if ts.fontOf(r2, bold) != font {
				break
			}
			end += n2
		}
		run := s[:end]
		s = s[end:]
		ts.setFont(ts.pdf, font, size)
		ts.pdf.Text(x, y, run)
		x += ts.width(run, bold, size)
	}
}
