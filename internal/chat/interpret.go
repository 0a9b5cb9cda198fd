package chat

import (
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Person is a user of the account, by whom a question may name an actor
// ("what did Jane do?").
type Person struct {
	Email, FirstName, LastName string
}

// Context is what a question is interpreted against.
type Context struct {
	// Now is when the question is asked; relative times count from it.
	Now time.Time
	// Location is the asker's time zone; nil is UTC.
	Location *time.Location
	// Actions are the actions the account's log holds (its vocabulary);
	// the service's own actions are always added.
	Actions []string
	// People are the account's users; Asker is the asking user's email
	// ("what did I do?").
	People []Person
	Asker  string
	// Previous is the conversation's last plan, for follow-ups ("and
	// last week?", "only failures").
	Previous *Plan
}

var (
	reEmail      = lazyRE(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)
	reIPv4       = lazyRE(`\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?\b`)
	reIPv6       = lazyRE(`(?i)(?:^|[\s(])((?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:/\d{1,3})?)`)
	reQuoted     = lazyRE(`["“”']([^"“”']{1,100})["“”']`)
	reUserID     = lazyRE(`(?i)\b(to |on |of )?user(?: id)? #?(\d{1,18})\b`)
	reResourceID = lazyRE(`(?i)\b(orders?|products?|customers?|payouts?|discounts?|collections?|blog posts?|api keys?|themes?|apps?|pages?|invoices?|subscriptions?|gift cards?|variants?)\s+(?:#|no\.?\s*|number\s+|id\s+)?#?([A-Za-z0-9_\-]*\d[A-Za-z0-9_\-]*)\b`)
	reName       = lazyRE(`\b(?:did|by|from|for|user)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)`)

	reUnusual   = lazyRE(`unusual|anomal|spikes?\b|suspicious|abnormal|out of the ordinary|strange|odd activity|weird|irregular`)
	reSeries    = lazyRE(`\b(?:per|by|each|every) (hour|day|week|month)\b|\b(hourly|daily|weekly|monthly)\b|over time|trend|timeline|time series|histogram|chart`)
	reTop       = lazyRE(`\btop\b|\bmost\b|\bbusiest\b|\bleading\b`)
	reTopN      = lazyRE(`\btop (\d{1,3}|three|five|ten|two|four)\b|\b(\d{1,3}|three|five|ten|two|four) (?:most|busiest)\b`)
	reTopAction = lazyRE(`\bactions?\b|event types?|kinds? of (?:events?|activity)|\btypes? of (?:events?|activity)|\bwhat (?:happen|was done|gets done|is done)|\bwhat\b.*\bmost\b`)
	reCount     = lazyRE(`\bhow many\b|\bhow often\b|\bnumber of\b|\bcount\b|\btotal\b|\bhow much\b`)
	reLast      = lazyRE(`\bwhen\b|\blast\b|\bmost recent(?:ly)?\b|\blatest\b`)
	reWho       = lazyRE(`\bwho\b|\bwhich (?:users?|people|person|staff|admins?)\b`)
	reFail      = lazyRE(`\bfail\w*|\bunsuccessful\b|\bdenied\b|\brejected\b|\berrors?\b`)
	reSuccess   = lazyRE(`\bsuccess\w*|\bsucceeded\b|\bworked\b`)
	reGeneral   = lazyRE(`\bevents?\b|\bactivit(?:y|ies)\b|\bhappen\w*|\banything\b|\beverything\b|\bentries\b|\blogs?\b|\bactions?\b|\bgoing on\b|\bchanges?\b|\bactive\b`)
	reFollowUp  = lazyRE(`^(?:and|what about|how about|only|just|same|now|also|but|then|ok(?:ay)?,?|what if|excluding|except)\b`)
	reMe        = lazyRE(`\b(?:i|me|my)\b`)
	reSpaces    = lazyRE(`\s+`)
	// reDetailWord matches each of details, alone or plural.
	reDetailWord = sync.OnceValue(func() map[string]*regexp.Regexp {
		m := make(map[string]*regexp.Regexp, len(details))
		for _, d := range details {
			m[d] = regexp.MustCompile(`\b` + d + `s?\b`)
		}
		return m
	})
)

// lazyRE returns a function that compiles pattern on its first call and
// returns the same expression after. The package has some eighty
// expressions; compiled at start they cost every process a megabyte of
// heap (and a few milliseconds) whether it ever answers a question.
func lazyRE(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}

// Interpret turns a question into a plan, without a model or the
// network: the question's time phrase resolved in c's time zone, the
// actor, resource, address and actions it names (actions from the
// account's vocabulary), and what to do with the matches. A question it
// does not understand is a plan of KindUnknown; it never guesses past
// what the question says. A follow-up ("and last week?") changes c's
// previous plan.
func Interpret(question string, c Context) *Plan {
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	p := &Plan{Timezone: loc.String()}
	text := reSpaces().ReplaceAllString(strings.TrimSpace(question), " ")
	text = strings.TrimRight(text, "?!. ")
	blank := func(s string, m []int) string { return s[:m[0]] + " " + s[m[1]:] }

	// Entities, on the text as typed (emails and IDs keep their case).
	hasEntity := false
	var words []string
	for _, m := range reQuoted().FindAllStringSubmatch(text, 2) {
		words = append(words, strings.TrimSpace(m[1]))
	}
	text = reQuoted().ReplaceAllString(text, " ")
	if m := reEmail().FindStringIndex(text); m != nil {
		p.Actor, hasEntity = text[m[0]:m[1]], true
		text = blank(text, m)
	}
	if m := reIPv4().FindStringIndex(text); m != nil {
		if ip, ok := cleanIP(text[m[0]:m[1]]); ok {
			p.IP, hasEntity = ip, true
			text = blank(text, m)
		}
	}
	if m := reIPv6().FindStringSubmatchIndex(text); m != nil && p.IP == "" {
		if ip, ok := cleanIP(text[m[2]:m[3]]); ok {
			p.IP, hasEntity = ip, true
			text = blank(text, m[2:4])
		}
	}
	if m := reResourceID().FindStringSubmatchIndex(text); m != nil {
		typ := strings.ToLower(text[m[2]:m[3]])
		p.ResourceType, p.ResourceID, hasEntity = resourceType(typ), text[m[4]:m[5]], true
		text = text[:m[0]] + " " + typ + " " + text[m[1]:] // the noun still names actions
	}
	if m := reUserID().FindStringSubmatchIndex(text); m != nil {
		id, _ := strconv.ParseInt(text[m[4]:m[5]], 10, 64)
		if m[2] >= 0 && p.ResourceID == "" {
			p.ResourceType, p.ResourceID = "user", text[m[4]:m[5]]
		} else if id > 0 {
			p.UserID = id
		}
		hasEntity = true
		text = blank(text, m)
	}
	if p.Actor == "" {
		if m := reName().FindStringSubmatchIndex(text); m != nil {
			name := text[m[2]:m[3]]
			p.Actor, hasEntity = name, true
			if e := personByName(c.People, strings.ToLower(name)); e != "" {
				p.Actor = e
			}
			text = blank(text, m[2:4])
		}
	}

	s := strings.ToLower(text)
	span, s := findTime(s, c.Now, loc)
	p.Time = span
	if p.Actor == "" && p.UserID == 0 {
		if e, rest := findPerson(c.People, s); e != "" {
			p.Actor, s, hasEntity = e, rest, true
		} else if c.Asker != "" && reMe().MatchString(s) && !strings.Contains(s, "show me") && !strings.Contains(s, "tell me") && !strings.Contains(s, "give me") {
			p.Actor, hasEntity = c.Asker, true
		}
	}

	// What to do with the matches.
	explicit := true
	switch {
	case reUnusual().MatchString(s):
		p.Kind = KindUnusual
	case reSeries().MatchString(s):
		p.Kind, p.Interval = KindTimeseries, "day"
		if m := reSeries().FindStringSubmatch(s); m != nil {
			switch iv := m[1] + m[2]; iv {
			case "hour", "hourly":
				p.Interval = "hour"
			case "week", "weekly":
				p.Interval = "week"
			case "month", "monthly":
				p.Interval = "month"
			}
		}
	case reTop().MatchString(s) && !strings.Contains(s, "most recent"):
		p.Kind, p.Dimension, p.Limit = KindTop, "actor", 5
		if m := reTopN().FindStringSubmatch(s); m != nil {
			p.Limit = countOf(m[1] + m[2])
			if n, ok := numberWords[m[1]+m[2]]; ok {
				p.Limit = n
			}
		}
		if reTopAction().MatchString(s) && !reWho().MatchString(s) && !strings.Contains(s, "users") && !strings.Contains(s, "actors") {
			p.Dimension = "action"
		}
	case reCount().MatchString(s):
		p.Kind = KindCount
	case reLast().MatchString(s):
		p.Kind = KindLast
	case reWho().MatchString(s):
		p.Kind = KindWho
	default:
		p.Kind, explicit = KindList, false
	}
	p.Limit = min(max(p.Limit, 0), 100)

	// What happened: actions from the verb and the nouns.
	var v *verb
	for i := range verbs {
		if verbs[i].re().MatchString(s) {
			v = &verbs[i]
			break
		}
	}
	var ns []noun
	for _, n := range nouns {
		if n.re().MatchString(s) {
			ns = append(ns, n)
		}
	}
	fail := reFail().MatchString(s)
	vocab := append(slices.Clone(c.Actions), builtinActions...)
	actions, failHandled := matchActions(vocab, v, ns, s, fail)
	p.Actions = actions
	switch {
	case fail && !failHandled:
		p.Outcome = "failure"
	case !fail && reSuccess().MatchString(s) && len(actions) == 0:
		p.Outcome = "success"
	}
	if len(actions) == 0 && p.ResourceType == "" {
		for _, n := range ns {
			if n.typ != "" {
				p.ResourceType = n.typ
				break
			}
		}
	}
	if len(actions) == 0 && v != nil && !v.generic && p.ResourceType == "" && len(ns) == 0 {
		p.Words = append(p.Words, v.tokens[0][:len(v.tokens[0])-2]+"*")
	}
	p.Words = append(p.Words, words...)

	filters := hasEntity || len(p.Actions) > 0 || p.ResourceType != "" || p.Outcome != "" || len(p.Words) > 0
	general := reGeneral().MatchString(s)
	understood := filters || general || p.Kind == KindTop || p.Kind == KindTimeseries || p.Kind == KindUnusual || p.Kind == KindCount

	// A follow-up changes the previous plan: it says so ("and…", "only…"),
	// or it names nothing of its own to search for.
	if prev := c.Previous; prev != nil && prev.Kind != KindUnknown && (reFollowUp().MatchString(s) || !filters && !general && (understood || p.Time != nil)) {
		return followUp(prev, p, explicit, loc)
	}
	if !understood {
		return &Plan{Kind: KindUnknown, Timezone: p.Timezone}
	}
	if p.Kind == KindUnusual {
		p.Actions, p.Outcome, p.Words = nil, "", nil
		if p.Time == nil {
			p.Time = &Span{Relative: "-24h", Label: "in the last 24 hours"}
		}
	}
	return p
}

// followUp applies what a follow-up question says to the previous plan:
// a new time, outcome, actor, resource, address, actions or kind replaces
// the old one; the rest stays.
func followUp(prev, p *Plan, explicit bool, loc *time.Location) *Plan {
	out := *prev
	out.Timezone = loc.String()
	if p.Time != nil {
		out.Time = p.Time
	}
	if p.Outcome != "" {
		out.Outcome = p.Outcome
	}
	if p.Actor != "" || p.UserID != 0 {
		out.Actor, out.UserID = p.Actor, p.UserID
	}
	if p.ResourceType != "" {
		out.ResourceType, out.ResourceID = p.ResourceType, p.ResourceID
	}
	if p.IP != "" {
		out.IP = p.IP
	}
	if len(p.Actions) > 0 {
		out.Actions = p.Actions
	}
	if len(p.Words) > 0 {
		out.Words = p.Words
	}
	if explicit {
		out.Kind, out.Dimension, out.Limit, out.Interval = p.Kind, p.Dimension, p.Limit, p.Interval
	}
	return &out
}

// resourceType returns the resource type a noun names.
func resourceType(n string) string {
	n = strings.TrimSuffix(n, "s")
	return strings.ReplaceAll(n, " ", "_")
}

// cleanIP returns an address or range in the query language's form.
func cleanIP(s string) (string, bool) {
	if strings.Contains(s, "/") {
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			return "", false
		}
		return pf.Masked().String(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", false
	}
	return a.Unmap().String(), true
}

// personByName returns the email of the one user with that full or first
// name (lower case), or "".
func personByName(people []Person, name string) string {
	found := ""
	for _, pe := range people {
		full := strings.ToLower(pe.FirstName + " " + pe.LastName)
		if full == name || strings.ToLower(pe.FirstName) == name {
			if found != "" && found != pe.Email {
				return ""
			}
			found = pe.Email
		}
	}
	return found
}

// findPerson finds a user named in s (lower case) by full name, first
// name or the part of their email before the @, when exactly one user
// has it, and returns their email and s without the name.
func findPerson(people []Person, s string) (string, string) {
	type cand struct{ key, email string }
	var cands []cand
	for _, pe := range people {
		local, _, _ := strings.Cut(strings.ToLower(pe.Email), "@")
		for _, k := range []string{strings.ToLower(pe.FirstName + " " + pe.LastName), local, strings.ToLower(pe.FirstName)} {
			if len(k) >= 3 && strings.TrimSpace(k) != "" {
				cands = append(cands, cand{k, pe.Email})
			}
		}
	}
	// Longest keys first: full names before first names.
	slices.SortStableFunc(cands, func(a, b cand) int { return len(b.key) - len(a.key) })
	for _, c := range cands {
		i := wordIndex(s, c.key)
		if i < 0 || commonWord[c.key] {
			continue
		}
		owners := 0
		for _, o := range cands {
			if o.key == c.key && o.email != c.email {
				owners++
			}
		}
		if owners > 0 {
			continue
		}
		return c.email, s[:i] + " " + s[i+len(c.key):]
	}
	return "", s
}

// commonWord lists words that are never read as a person's name.
var commonWord = map[string]bool{"owner": true, "admin": true, "analyst": true, "creator": true, "user": true, "staff": true, "support": true, "info": true, "sales": true}

// wordIndex returns where key appears in s as whole words, or -1.
func wordIndex(s, key string) int {
	for off := 0; ; {
		i := strings.Index(s[off:], key)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(key)
		before := i == 0 || !isWordRune(rune(s[i-1]))
		after := end == len(s) || !isWordRune(rune(s[end]))
		if before && after {
			return i
		}
		off = i + 1
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
