package chat

import (
	"strconv"
	"strings"
	"time"
)

// Span is the time a question asks about. Absolute spans are resolved in
// the asker's time zone and kept in UTC; Until is exclusive. A relative
// span ("in the last 24 hours") keeps its relative form (Relative, such as
// "-24h"), so the query shown reads as the question did.
type Span struct {
	Since    time.Time `json:"since,omitzero"`
	Until    time.Time `json:"until,omitzero"`
	Relative string    `json:"relative,omitempty"`
	// Label says the span in words, for the answer ("yesterday").
	Label string `json:"label"`
}

// terms returns the span as created: terms of the query language.
func (s *Span) terms() []string {
	if s == nil {
		return nil
	}
	if s.Relative != "" {
		return []string{"created:>=" + s.Relative}
	}
	var out []string
	if !s.Since.IsZero() {
		out = append(out, "created:>="+s.Since.UTC().Format(time.RFC3339))
	}
	if !s.Until.IsZero() {
		out = append(out, "created:<"+s.Until.UTC().Format(time.RFC3339))
	}
	return out
}

// bounds returns the span's bounds at now: since inclusive, until
// exclusive (zero when open).
func (s *Span) bounds(now time.Time) (since, until time.Time) {
	if s == nil {
		return time.Time{}, time.Time{}
	}
	if s.Relative != "" {
		n, _ := strconv.Atoi(s.Relative[1 : len(s.Relative)-1])
		unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s.Relative[len(s.Relative)-1]]
		return now.Add(-time.Duration(n) * unit), time.Time{}
	}
	return s.Since, s.Until
}

var (
	monthNames = map[string]time.Month{
		"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
		"may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
		"september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
		"december": 12, "dec": 12,
	}
	weekdays = map[string]time.Weekday{
		"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6,
	}
	numberWords = map[string]int{"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
		"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fourteen": 14, "thirty": 30}
)

const (
	monthRE = `(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)`
	// dateRE is a date: 2026-03-03, "march 3", "3 march", "march 3rd, 2026",
	// or a weekday.
	dateRE  = `(?:\d{4}-\d{2}-\d{2}|` + monthRE + `\.? \d{1,2}(?:st|nd|rd|th)?(?:,? \d{4})?|\d{1,2}(?:st|nd|rd|th)? (?:of )?` + monthRE + `(?:,? \d{4})?|(?:last )?(?:sunday|monday|tuesday|wednesday|thursday|friday|saturday))`
	clockRE = `(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?`
	dayRE   = `(today|yesterday|this morning|this afternoon|this evening|tonight|yesterday morning|yesterday afternoon|yesterday evening|on ` + dateRE + `)`
	unitRE  = `(minutes?|mins?|hours?|hrs?|days?|weeks?|months?)`
	countRE = `(\d{1,6}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen|thirty)`
)

var (
	reClockRange = lazyRE(`\b(?:between|from) ` + clockRE + ` (?:and|to|until|till|-) ` + clockRE + `(?: ` + dayRE + `)?`)
	reDateRange  = lazyRE(`\b(?:between|from) (` + dateRE + `) (?:and|to|until|till) (` + dateRE + `)`)
	reLastN      = lazyRE(`\b(?:in |during |over |within )?(?:the )?(?:last|past|previous) ` + countRE + ` ` + unitRE + `\b`)
	reLastUnit   = lazyRE(`\b(?:in |during |over |within )?(?:the )?(?:(?:past|last) (hour|day|24 hours)|past (week|month|year))\b`)
	reAgo        = lazyRE(`\b` + countRE + ` (days?|weeks?) ago\b`)
	reSince      = lazyRE(`\b(since|after|before|until) (` + dateRE + `)`)
	reOnDate     = lazyRE(`\b(?:on |in )?(` + dateRE + `)\b`)
	reInMonth    = lazyRE(`\b(?:in|during) (` + monthRE + `)(?: (\d{4}))?\b`)
	// reDayFirst is a day before a clock range ("yesterday between 1 and
	// 3pm"), which findTime reads as the range followed by the day.
	reDayFirst  = lazyRE(`\b(today|yesterday) ((?:between|from) \d{1,2}(?::\d{2})?\s*(?:am|pm)? (?:and|to|until|till|-) \d{1,2}(?::\d{2})?\s*(?:am|pm)?)`)
	reNamedSpan = lazyRE(`\b(the day before yesterday|yesterday morning|yesterday afternoon|yesterday evening|yesterday|today|this morning|this afternoon|this evening|tonight|last night|this week|last week|previous week|this month|last month|previous month|this year|last year|so far this week)\b`)
)

// findTime finds the time a question (lower case) asks about, resolved at
// now in loc. It returns the span, or nil, and the question with the
// phrase removed.
func findTime(s string, now time.Time, loc *time.Location) (*Span, string) {
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	cut := func(m []int) string { return s[:m[0]] + " " + s[m[1]:] }
	s = reDayFirst().ReplaceAllString(s, "$2 $1")

	if m := reClockRange().FindStringSubmatchIndex(s); m != nil {
		g := func(i int) string {
			if m[2*i] < 0 {
				return ""
			}
			return s[m[2*i]:m[2*i+1]]
		}
		day, part := today, g(7)
		switch {
		case strings.HasPrefix(part, "yesterday"):
			day = today.AddDate(0, 0, -1)
		case strings.HasPrefix(part, "on "):
			if d, ok := parseDate(part[3:], today); ok {
				day = d
			}
		}
		afternoon := strings.Contains(part, "afternoon") || strings.Contains(part, "evening") || part == "tonight"
		h1, ok1 := clockHour(g(1), g(3), afternoon, g(6))
		h2, ok2 := clockHour(g(4), g(6), afternoon, "")
		if ok1 && ok2 {
			m1, _ := strconv.Atoi(g(2))
			m2, _ := strconv.Atoi(g(5))
			since := day.Add(time.Duration(h1)*time.Hour + time.Duration(m1)*time.Minute)
			until := day.Add(time.Duration(h2)*time.Hour + time.Duration(m2)*time.Minute)
			if until.After(since) {
				label := "between " + since.Format("15:04") + " and " + until.Format("15:04") + " on " + day.Format("Monday 2 January 2006")
				return &Span{Since: since.UTC(), Until: until.UTC(), Label: label}, cut(m)
			}
		}
	}
	if m := reDateRange().FindStringSubmatchIndex(s); m != nil {
		a, okA := parseDate(s[m[2]:m[3]], today)
		b, okB := parseDate(s[m[4]:m[5]], today)
		if okA && okB && !b.Before(a) {
			return &Span{Since: a.UTC(), Until: b.AddDate(0, 0, 1).UTC(), Label: "from " + a.Format("2 January 2006") + " to " + b.Format("2 January 2006")}, cut(m)
		}
	}
	if m := reLastN().FindStringSubmatchIndex(s); m != nil {
		n, unit := countOf(s[m[2]:m[3]]), s[m[4]:m[5]]
		if sp := relativeSpan(n, unit, now, loc); sp != nil {
			return sp, cut(m)
		}
	}
	if m := reLastUnit().FindStringSubmatchIndex(s); m != nil {
		unit := ""
		for i := 2; i < 6; i += 2 {
			if m[i] >= 0 {
				unit += s[m[i]:m[i+1]]
			}
		}
		n := 1
		if unit == "24 hours" {
			n, unit = 24, "hours"
		}
		if unit == "year" {
			return &Span{Since: local.AddDate(-1, 0, 0).UTC(), Label: "in the past year"}, cut(m)
		}
		if sp := relativeSpan(n, unit, now, loc); sp != nil {
			return sp, cut(m)
		}
	}
	if m := reAgo().FindStringSubmatchIndex(s); m != nil {
		n, unit := countOf(s[m[2]:m[3]]), s[m[4]:m[5]]
		if n > 0 {
			if strings.HasPrefix(unit, "week") {
				start := weekStart(today).AddDate(0, 0, -7*n)
				return &Span{Since: start.UTC(), Until: start.AddDate(0, 0, 7).UTC(), Label: "the week of " + start.Format("2 January 2006")}, cut(m)
			}
			d := today.AddDate(0, 0, -n)
			return &Span{Since: d.UTC(), Until: d.AddDate(0, 0, 1).UTC(), Label: "on " + d.Format("Monday 2 January 2006")}, cut(m)
		}
	}
	if m := reSince().FindStringSubmatchIndex(s); m != nil {
		if d, ok := parseDate(s[m[4]:m[5]], today); ok {
			switch s[m[2]:m[3]] {
			case "since":
				return &Span{Since: d.UTC(), Label: "since " + d.Format("Monday 2 January 2006")}, cut(m)
			case "after":
				return &Span{Since: d.AddDate(0, 0, 1).UTC(), Label: "after " + d.Format("Monday 2 January 2006")}, cut(m)
			case "before":
				return &Span{Until: d.UTC(), Label: "before " + d.Format("Monday 2 January 2006")}, cut(m)
			default: // until
				return &Span{Until: d.AddDate(0, 0, 1).UTC(), Label: "until " + d.Format("Monday 2 January 2006")}, cut(m)
			}
		}
	}
	if m := reNamedSpan().FindStringSubmatchIndex(s); m != nil {
		if sp := namedSpan(s[m[2]:m[3]], local, today); sp != nil {
			return sp, cut(m)
		}
	}
	if m := reInMonth().FindStringSubmatchIndex(s); m != nil {
		mon := monthNames[s[m[2]:m[3]]]
		year := today.Year()
		if m[4] >= 0 {
			year, _ = strconv.Atoi(s[m[4]:m[5]])
		} else if mon > today.Month() {
			year--
		}
		start := time.Date(year, mon, 1, 0, 0, 0, 0, loc)
		return &Span{Since: start.UTC(), Until: start.AddDate(0, 1, 0).UTC(), Label: "in " + start.Format("January 2006")}, cut(m)
	}
	if m := reOnDate().FindStringSubmatchIndex(s); m != nil {
		if d, ok := parseDate(s[m[2]:m[3]], today); ok {
			return &Span{Since: d.UTC(), Until: d.AddDate(0, 0, 1).UTC(), Label: "on " + d.Format("Monday 2 January 2006")}, cut(m)
		}
	}
	return nil, s
}

// namedSpan resolves a named period such as "yesterday" or "last week".
// Weeks start on Monday.
func namedSpan(name string, local, today time.Time) *Span {
	day := func(d time.Time, from, to int, label string) *Span {
		return &Span{Since: d.Add(time.Duration(from) * time.Hour).UTC(), Until: d.Add(time.Duration(to) * time.Hour).UTC(), Label: label}
	}
	yesterday := today.AddDate(0, 0, -1)
	switch name {
	case "today":
		return &Span{Since: today.UTC(), Label: "today"}
	case "yesterday":
		return day(yesterday, 0, 24, "yesterday ("+yesterday.Format("Monday 2 January")+")")
	case "the day before yesterday":
		d := today.AddDate(0, 0, -2)
		return day(d, 0, 24, "on "+d.Format("Monday 2 January"))
	case "this morning":
		return day(today, 0, 12, "this morning")
	case "this afternoon":
		return day(today, 12, 18, "this afternoon")
	case "this evening", "tonight":
		return day(today, 18, 24, "this evening")
	case "yesterday morning":
		return day(yesterday, 0, 12, "yesterday morning")
	case "yesterday afternoon":
		return day(yesterday, 12, 18, "yesterday afternoon")
	case "yesterday evening":
		return day(yesterday, 18, 24, "yesterday evening")
	case "last night":
		return day(yesterday, 18, 30, "last night")
	case "this week", "so far this week":
		return &Span{Since: weekStart(today).UTC(), Label: "this week"}
	case "last week", "previous week":
		w := weekStart(today).AddDate(0, 0, -7)
		return &Span{Since: w.UTC(), Until: w.AddDate(0, 0, 7).UTC(), Label: "last week (from Monday " + w.Format("2 January") + ")"}
	case "this month":
		m := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, today.Location())
		return &Span{Since: m.UTC(), Label: "this month"}
	case "last month", "previous month":
		m := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, today.Location()).AddDate(0, -1, 0)
		return &Span{Since: m.UTC(), Until: m.AddDate(0, 1, 0).UTC(), Label: "last month (" + m.Format("January 2006") + ")"}
	case "this year":
		y := time.Date(today.Year(), 1, 1, 0, 0, 0, 0, today.Location())
		return &Span{Since: y.UTC(), Label: "this year"}
	case "last year":
		y := time.Date(today.Year()-1, 1, 1, 0, 0, 0, 0, today.Location())
		return &Span{Since: y.UTC(), Until: y.AddDate(1, 0, 0).UTC(), Label: "last year (" + y.Format("2006") + ")"}
	}
	return nil
}

// relativeSpan is "the last n units": relative in the query language for
// minutes, hours, days and weeks; months count back calendar months.
func relativeSpan(n int, unit string, now time.Time, loc *time.Location) *Span {
	if n <= 0 || n > 999999 {
		return nil
	}
	var suffix string
	switch {
	case strings.HasPrefix(unit, "min"):
		suffix = "m"
	case strings.HasPrefix(unit, "h"):
		suffix = "h"
	case strings.HasPrefix(unit, "d"):
		suffix = "d"
	case strings.HasPrefix(unit, "w"):
		suffix, n = "d", n*7
	case strings.HasPrefix(unit, "month"):
		return &Span{Since: now.In(loc).AddDate(0, -n, 0).UTC(), Label: "in the last " + plural(n, "month")}
	default:
		return nil
	}
	words := map[string]string{"m": "minute", "h": "hour", "d": "day"}[suffix]
	return &Span{Relative: "-" + strconv.Itoa(n) + suffix, Label: "in the last " + plural(n, words)}
}

// clockHour reads an hour of the clock: 9, 9am, 9 pm; afternoon moves
// 1–11 without am/pm past noon; a bare start hour takes the end's pm when
// that keeps it before the end ("between 9 and 5pm" is 9 am).
func clockHour(hs, ampm string, afternoon bool, endAmpm string) (int, bool) {
	h, err := strconv.Atoi(hs)
	if err != nil || h > 24 {
		return 0, false
	}
	switch {
	case strings.HasPrefix(ampm, "p") && h < 12:
		h += 12
	case strings.HasPrefix(ampm, "a") && h == 12:
		h = 0
	case ampm == "" && afternoon && h < 12:
		h += 12
	case ampm == "" && strings.HasPrefix(endAmpm, "p") && h < 7:
		h += 12 // "between 1 and 3pm"; "between 9 and 5pm" stays 9 am
	}
	return h, true
}

// parseDate reads a date (see dateRE) in today's location; a date without
// a year is the latest such date not after today, and a weekday the latest
// such day not after today ("last monday": before today).
func parseDate(s string, today time.Time) (time.Time, bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	loc := today.Location()
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, true
	}
	last := strings.HasPrefix(s, "last ")
	if wd, ok := weekdays[strings.TrimPrefix(s, "last ")]; ok {
		back := (int(today.Weekday()) - int(wd) + 7) % 7
		if back == 0 && last {
			back = 7
		}
		return today.AddDate(0, 0, -back), true
	}
	f := strings.Fields(strings.ReplaceAll(s, ".", ""))
	var mon time.Month
	day, year := 0, 0
	for _, w := range f {
		if m, ok := monthNames[w]; ok {
			mon = m
			continue
		}
		if w == "of" {
			continue
		}
		w = strings.TrimRight(w, "stndrh")
		n, err := strconv.Atoi(w)
		switch {
		case err != nil:
			return time.Time{}, false
		case n > 31:
			year = n
		default:
			day = n
		}
	}
	if mon == 0 || day == 0 {
		return time.Time{}, false
	}
	explicit := year != 0
	if !explicit {
		year = today.Year()
	}
	t := time.Date(year, mon, day, 0, 0, 0, 0, loc)
	if t.Day() != day {
		return time.Time{}, false
	}
	if !explicit && t.After(today) {
		t = t.AddDate(-1, 0, 0)
	}
	return t, true
}

// weekStart returns the Monday of d's week.
func weekStart(d time.Time) time.Time {
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

func countOf(s string) int {
	if n, ok := numberWords[s]; ok {
		return n
	}
	n, _ := strconv.Atoi(s)
	return n
}

func plural(n int, unit string) string {
	if n == 1 {
		return unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
