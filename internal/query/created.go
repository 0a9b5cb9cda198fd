package query

import (
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// moment is one end of a created value: a day, an instant or a relative
// time, as the span [lo, hi] of stored (microsecond) times it covers.
type moment struct {
	text     string // canonical spelling
	lo, hi   time.Time
	relative bool
	open     bool // "*", the open end of a range
}

const dateHint = "use a date such as 2026-01-31, a date-time such as 2026-01-31T12:00:00Z, or a relative time such as -7d"

// created parses one created value at p.i: a comparison, a range or a
// bare moment.
func (p *parser) created() (Value, *Error) {
	pos := p.i
	op := OpEq
	for _, o := range []Op{OpGTE, OpLTE, OpGT, OpLT} {
		if strings.HasPrefix(p.src[p.i:], string(o)) {
			op = o
			p.i += len(o)
			break
		}
	}
	apos := p.i
	a, aq, err := p.atom(true)
	if err != nil {
		return Value{}, err
	}
	if strings.HasPrefix(p.src[p.i:], "..") {
		if op != OpEq {
			return Value{}, p.errorf(p.i, "write created:>=2026-01-01 or created:2026-01-01..2026-01-31", "a comparison cannot also be a range")
		}
		p.i += 2
		bpos := p.i
		b, bq, err := p.atom(true)
		switch {
		case err != nil:
			return Value{}, err
		case a == "" && !aq:
			return Value{}, p.errorf(apos, "use * for an open start, such as created:*..2026-01-31", "missing start of range")
		case b == "" && !bq:
			return Value{}, p.errorf(bpos, "use * for an open end, such as created:2026-01-01..*", "missing end of range")
		}
		ma, err := p.moment(a, aq, apos, true)
		if err != nil {
			return Value{}, err
		}
		mb, err := p.moment(b, bq, bpos, true)
		if err != nil {
			return Value{}, err
		}
		v := Value{Op: OpRange, Text: ma.text, To: mb.text}
		switch {
		case ma.open && mb.open:
			return Value{}, p.errorf(pos, "leave the qualifier out to match any time", "a range needs at least one end")
		case !ma.open && !mb.open && ma.lo.After(mb.hi):
			return Value{}, p.errorf(pos, "put the earlier time first", "range ends before it starts")
		}
		if !ma.open {
			v.Since = ma.lo
		}
		if !mb.open {
			v.Until = mb.hi
		}
		return v, nil
	}
	if a == "" && !aq {
		if op != OpEq {
			return Value{}, p.errorf(apos, dateHint, "missing time after %q", string(op))
		}
		return Value{}, p.errorf(apos, "remove the extra comma", "empty value")
	}
	m, err := p.moment(a, aq, apos, false)
	if err != nil {
		return Value{}, err
	}
	v := Value{Op: op, Text: m.text}
	switch op {
	case OpEq:
		v.Since = m.lo
		if !m.relative {
			v.Until = m.hi
		}
	case OpGT:
		v.Since = m.hi.Add(time.Microsecond)
	case OpGTE:
		v.Since = m.lo
	case OpLT:
		v.Until = m.lo.Add(-time.Microsecond)
	case OpLTE:
		v.Until = m.hi
	}
	return v, nil
}

// moment parses one end of a created value at pos. An unquoted "*" is an
// open end, allowed only in a range.
func (p *parser) moment(text string, quoted bool, pos int, inRange bool) (moment, *Error) {
	if text == "*" && !quoted {
		if !inRange {
			return moment{}, p.errorf(pos, "such as created:2026-01-01..*", `"*" stands only for an open end of a range`)
		}
		return moment{text: "*", open: true}, nil
	}
	if strings.HasPrefix(text, "-") {
		return p.relative(text, pos)
	}
	t, err := audit.ParseTimeBound(text, false)
	if err != nil {
		switch {
		case relativePattern(strings.TrimPrefix(text, "+")):
			return moment{}, p.errorf(pos, "relative times count back from now and start with -, such as -7d", "%q is not a date or time", text)
		case len(text) >= 5 && isDigit(text[0]) && isDigit(text[1]) && isDigit(text[2]) && isDigit(text[3]) && text[4] == '-':
			return moment{}, p.errorf(pos, "write a date as 2026-01-31 and a date-time as 2026-01-31T12:00:00Z", "%q is not a date", text)
		}
		return moment{}, p.errorf(pos, dateHint, "%q is not a date or time", text)
	}
	m := moment{text: text, lo: ceilMicro(t), hi: t.Truncate(time.Microsecond)}
	if _, err := time.Parse(time.DateOnly, text); err == nil {
		m.hi, _ = audit.ParseTimeBound(text, true)
	}
	if !m.lo.After(time.Time{}) || m.hi.Year() > 9999 {
		return moment{}, p.errorf(pos, "years run from 1 to 9999", "%q is out of range", text)
	}
	return m, nil
}

// relative parses a relative time such as -7d: minutes, hours, days or weeks
// before now.
func (p *parser) relative(text string, pos int) (moment, *Error) {
	s := text[1:]
	if !relativePattern(s) {
		return moment{}, p.errorf(pos, "count back in m (minutes), h (hours), d (days) or w (weeks), such as -7d", "%q is not a relative time", text)
	}
	n, _ := strconv.Atoi(s[:len(s)-1])
	unit := s[len(s)-1]
	var t time.Time
	switch unit {
	case 'm':
		t = p.now.Add(-time.Duration(n) * time.Minute)
	case 'h':
		t = p.now.Add(-time.Duration(n) * time.Hour)
	case 'd':
		t = p.now.AddDate(0, 0, -n)
	case 'w':
		t = p.now.AddDate(0, 0, -7*n)
	}
	if !t.After(time.Time{}) {
		return moment{}, p.errorf(pos, "years run from 1 to 9999", "%q is too far back", text)
	}
	return moment{text: "-" + strconv.Itoa(n) + string(unit), lo: t, hi: t, relative: true}, nil
}

// relativePattern reports whether s is 1 to 6 digits and a unit.
func relativePattern(s string) bool {
	if len(s) < 2 || len(s) > 7 || !strings.ContainsRune("mhdw", rune(s[len(s)-1])) {
		return false
	}
	for i := 0; i < len(s)-1; i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// ceilMicro rounds t up to the microsecond.
func ceilMicro(t time.Time) time.Time {
	if tr := t.Truncate(time.Microsecond); tr.Before(t) {
		return tr.Add(time.Microsecond)
	}
	return t.Truncate(time.Microsecond)
}
