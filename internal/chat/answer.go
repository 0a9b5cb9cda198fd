package chat

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/app"
	"github.com/auditlog/auditlog/internal/audit"
)

// Reader is what the engine needs of the application layer: the same
// read operations the JSON API calls, run as the asking principal, so
// every answer is scoped to the asker's account and role.
type Reader interface {
	ListEvents(ctx context.Context, p *app.Principal, q app.EventQuery) (*app.EventList, error)
	AnalyticsTop(ctx context.Context, p *app.Principal, q app.AnalyticsQuery) (*app.Top, error)
	AnalyticsSeries(ctx context.Context, p *app.Principal, q app.AnalyticsQuery) (*app.Series, error)
}

// Bounds of the engine's reads.
const (
	// MaxCited is the most events an answer cites.
	MaxCited = 10
	// MaxScan is the most events a top list or a series that the
	// analytics counts cannot answer (counted.go), or a list of who did
	// something, reads (newest first); past it the answer says the
	// figures cover only the newest MaxScan matches.
	MaxScan = 1000
	// usualDays is how far back the account's usual rate is measured.
	usualDays = 28
)

// Answer is the engine's reply to one question.
type Answer struct {
	// Text is the answer in words.
	Text string
	// Plan is what the question was taken to mean; Plan.Search() is the
	// search that was run.
	Plan *Plan
	// Events are the events the answer relies on, newest first, at most
	// MaxCited.
	Events []*audit.Event

	conversationID int64
}

// Suggestions are questions the built-in engine answers, offered when it
// does not understand one.
var Suggestions = []string{
	"Who refunded order 1042 last week?",
	"How many failed logins yesterday?",
	"What did jane@example.com change on product 77?",
	"When was the payout destination last changed?",
	"Top 5 actors this month",
	"Failed logins per day this week",
	"Activity from 203.0.113.7",
	"Anything unusual today?",
}

// Run runs plan through r as p and words the answer. now and loc are the
// time the question was asked and the asker's zone, for the answer's
// wording and the unusual-activity check.
func Run(ctx context.Context, r Reader, p *app.Principal, plan *Plan, now time.Time, loc *time.Location) (*Answer, error) {
	if loc == nil {
		loc = time.UTC
	}
	a := &Answer{Plan: plan}
	var err error
	switch plan.Kind {
	case KindUnknown:
		a.Text = "I did not understand the question, so I searched nothing. I can answer questions such as: " +
			strings.Join(Suggestions, " · ")
	case KindCount:
		err = runCount(ctx, r, p, plan, a, loc)
	case KindLast:
		err = runList(ctx, r, p, plan, a, loc, 1)
	case KindWho:
		err = runWho(ctx, r, p, plan, a, loc)
	case KindTop:
		err = runTop(ctx, r, p, plan, a, now)
	case KindTimeseries:
		err = runSeries(ctx, r, p, plan, a, now, loc)
	case KindUnusual:
		err = runUnusual(ctx, r, p, plan, a, now, loc)
	default:
		err = runList(ctx, r, p, plan, a, loc, MaxCited)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func list(ctx context.Context, r Reader, p *app.Principal, search string, perPage int, cursor string) (*app.EventList, error) {
	l, err := r.ListEvents(ctx, p, app.EventQuery{Search: search, Page: audit.PageRequest{Page: 1, PerPage: perPage}, Cursor: cursor})
	if err != nil {
		return nil, fmt.Errorf("chat: search %q: %w", search, err)
	}
	return l, nil
}

// scope says in words what the search covers.
func scope(plan *Plan) string {
	if plan.Time != nil {
		return " " + plan.Time.Label
	}
	return ""
}

func total(l *app.EventList) string {
	n := strconv.FormatInt(l.Pagination.Total, 10)
	if l.Pagination.TotalInexact {
		n = "at least " + n
	}
	return n
}

func runCount(ctx context.Context, r Reader, p *app.Principal, plan *Plan, a *Answer, loc *time.Location) error {
	l, err := list(ctx, r, p, plan.Search(), 5, "")
	if err != nil {
		return err
	}
	a.Events = l.Events
	a.Text = fmt.Sprintf("%s matching %s%s.", total(l), eventsWord(l.Pagination.Total), scope(plan))
	if len(l.Events) > 0 {
		a.Text += " The latest: " + describe(l.Events[0], loc) + "."
	}
	return nil
}

func runList(ctx context.Context, r Reader, p *app.Principal, plan *Plan, a *Answer, loc *time.Location, n int) error {
	l, err := list(ctx, r, p, plan.Search(), n, "")
	if err != nil {
		return err
	}
	a.Events = l.Events
	switch {
	case len(l.Events) == 0:
		a.Text = "No matching events" + scope(plan) + "."
	case n == 1:
		a.Text = "The last time: " + describe(l.Events[0], loc) + "."
	default:
		lines := make([]string, len(l.Events))
		for i, e := range l.Events {
			lines[i] = "- " + describe(e, loc)
		}
		a.Text = fmt.Sprintf("%s matching %s%s", total(l), eventsWord(l.Pagination.Total), scope(plan))
		if len(l.Events) < int(l.Pagination.Total) || l.Pagination.TotalInexact {
			a.Text += fmt.Sprintf("; the latest %d", len(l.Events))
		}
		a.Text += ":\n" + strings.Join(lines, "\n")
	}
	return nil
}

// tally counts the matching events (newest MaxScan) by key and keeps the
// newest event of each key.
type tally struct {
	keys    []string
	counts  map[string]int
	latest  map[string]*audit.Event
	scanned int
	more    bool
}

func scan(ctx context.Context, r Reader, p *app.Principal, search string, key func(*audit.Event) string) (*tally, error) {
	t := &tally{counts: map[string]int{}, latest: map[string]*audit.Event{}}
	cursor := ""
	for t.scanned < MaxScan {
		l, err := list(ctx, r, p, search, app.MaxPerPage, cursor)
		if err != nil {
			return nil, err
		}
		for _, e := range l.Events {
			k := key(e)
			if _, ok := t.counts[k]; !ok {
				t.keys = append(t.keys, k)
				t.latest[k] = e
			}
			t.counts[k]++
		}
		t.scanned += len(l.Events)
		if l.NextCursor == "" {
			return t, nil
		}
		cursor = l.NextCursor
	}
	t.more = true
	return t, nil
}

func (t *tally) ranked() []string {
	k := slices.Clone(t.keys)
	slices.SortStableFunc(k, func(a, b string) int { return cmp.Compare(t.counts[b], t.counts[a]) })
	return k
}

func (t *tally) note() string {
	if t.more {
		return fmt.Sprintf(" (counted over the newest %d matching events only)", MaxScan)
	}
	return ""
}

func runWho(ctx context.Context, r Reader, p *app.Principal, plan *Plan, a *Answer, loc *time.Location) error {
	t, err := scan(ctx, r, p, plan.Search(), actorOf)
	if err != nil {
		return err
	}
	if t.scanned == 0 {
		a.Text = "No matching events" + scope(plan) + ", so nobody."
		return nil
	}
	var parts []string
	for i, k := range t.keys { // newest first
		if i == MaxCited {
			parts = append(parts, fmt.Sprintf("and %d more", len(t.keys)-MaxCited))
			break
		}
		e := t.latest[k]
		parts = append(parts, fmt.Sprintf("%s (%s, the latest %s)", k, nOf(t.counts[k], "event"), when(e.CreatedAt, loc)))
		a.Events = append(a.Events, e)
	}
	a.Text = fmt.Sprintf("%s%s: %s%s.", capitalise(nOf(len(t.keys), "actor")), scope(plan), strings.Join(parts, "; "), t.note())
	return nil
}

func runTop(ctx context.Context, r Reader, p *app.Principal, plan *Plan, a *Answer, now time.Time) error {
	if ok, err := countedTop(ctx, r, p, plan, a, now); ok || err != nil {
		return err
	}
	key := actorOf
	if plan.Dimension == "action" {
		key = func(e *audit.Event) string { return e.Action }
	}
	t, err := scan(ctx, r, p, plan.Search(), key)
	if err != nil {
		return err
	}
	if t.scanned == 0 {
		a.Text = "No matching events" + scope(plan) + "."
		return nil
	}
	var parts []string
	for i, k := range t.ranked() {
		if i == plan.Limit {
			break
		}
		parts = append(parts, fmt.Sprintf("%d. %s: %s", i+1, k, nOf(t.counts[k], "event")))
		a.Events = append(a.Events, t.latest[k])
	}
	a.Text = topText(plan, t.scanned, t.note(), parts)
	return nil
}

// topText words a top list of plan over total matching events (note: how
// they were counted, when not all), its parts ranked.
func topText(plan *Plan, total int, note string, parts []string) string {
	return fmt.Sprintf("Top %s by events%s, of %s%s:\n%s", plan.Dimension+"s", scope(plan), nOf(total, "matching event"), note, strings.Join(parts, "\n"))
}

// seriesText words a series of plan over n events, its lines by interval
// of loc (note as for topText).
func seriesText(plan *Plan, n int, loc *time.Location, note string, lines []string) string {
	return fmt.Sprintf("Matching events per %s%s (%s), %s time; intervals with none are left out%s:\n%s",
		plan.Interval, scope(plan), nOf(n, "event"), loc, note, strings.Join(lines, "\n"))
}

func runSeries(ctx context.Context, r Reader, p *app.Principal, plan *Plan, a *Answer, now time.Time, loc *time.Location) error {
	layout := seriesLayout[plan.Interval]
	start := func(t time.Time) time.Time {
		t = t.In(loc)
		switch plan.Interval {
		case "hour":
			return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc)
		case "week":
			return weekStart(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc))
		case "month":
			return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
		}
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	}
	if ok, err := countedSeries(ctx, r, p, plan, a, now, loc, start); ok || err != nil {
		return err
	}
	bucket := func(e *audit.Event) string { return start(e.CreatedAt).Format(time.RFC3339) }
	t, err := scan(ctx, r, p, plan.Search(), bucket)
	if err != nil {
		return err
	}
	if t.scanned == 0 {
		a.Text = "No matching events" + scope(plan) + "."
		return nil
	}
	keys := slices.Clone(t.keys)
	slices.Sort(keys)
	var lines []string
	for _, k := range keys {
		at, _ := time.Parse(time.RFC3339, k)
		lines = append(lines, fmt.Sprintf("- %s: %d", at.In(loc).Format(layout), t.counts[k]))
	}
	for _, k := range t.keys { // the newest interval first
		if len(a.Events) == MaxCited {
			break
		}
		a.Events = append(a.Events, t.latest[k])
	}
	a.Text = seriesText(plan, t.scanned, loc, t.note(), lines)
	return nil
}

// runUnusual compares each action's and each actor's events in the
// span with the account's usual rate over the usualDays before it, from
// the analytics counts, and reports those far above it: at least 5
// events and more than 3 times the usual number for a span that long.
func runUnusual(ctx context.Context, r Reader, p *app.Principal, plan *Plan, a *Answer, now time.Time, loc *time.Location) error {
	since, until := plan.Time.bounds(now)
	if until.IsZero() || until.After(now) {
		until = now
	}
	if !since.Before(until) {
		a.Text = "The period has not started yet."
		return nil
	}
	base := app.AnalyticsQuery{Start: since.Add(-usualDays * 24 * time.Hour), End: since.Add(-time.Microsecond), Limit: app.MaxTopLimit}
	cur := app.AnalyticsQuery{Start: since, End: until, Limit: app.MaxTopLimit}
	type finding struct {
		dim, value      string
		count, expected float64
	}
	var found []finding
	for _, dim := range []string{"action", "actor"} {
		base.Dimension, cur.Dimension = dim, dim
		in, err := r.AnalyticsTop(ctx, p, cur)
		if err != nil {
			return fmt.Errorf("chat: unusual %s: %w", dim, err)
		}
		before, err := r.AnalyticsTop(ctx, p, base)
		if err != nil {
			return fmt.Errorf("chat: usual %s: %w", dim, err)
		}
		// The counts widen ranges to whole hours (days for actors): compare
		// the ranges actually counted.
		ratio := in.End.Sub(in.Start).Hours() / before.End.Sub(before.Start).Hours()
		usual := map[string]int64{}
		for _, v := range before.Values {
			usual[v.Value] = v.Count
		}
		for _, v := range in.Values {
			if dim == "action" && strings.HasPrefix(v.Value, "chat.") {
				continue // the questions asked of the assistant itself
			}
			exp := float64(usual[v.Value]) * ratio
			if v.Count >= 5 && float64(v.Count) > 3*exp {
				found = append(found, finding{dim, v.Value, float64(v.Count), exp})
			}
		}
	}
	if len(found) == 0 {
		a.Text = fmt.Sprintf("Nothing unusual%s: no action or actor had at least 5 events and more than 3 times its usual number (measured over the %d days before).", scope(plan), usualDays)
		return nil
	}
	slices.SortStableFunc(found, func(x, y finding) int {
		return cmp.Compare(y.count/math.Max(y.expected, 0.5), x.count/math.Max(x.expected, 0.5))
	})
	var lines []string
	for _, f := range found {
		usual := fmt.Sprintf("usually about %.1f in a period this long", f.expected)
		if f.expected < 0.05 {
			usual = fmt.Sprintf("none in the %d days before", usualDays)
		}
		lines = append(lines, fmt.Sprintf("- %s %s: %.0f events; %s", f.dim, f.value, f.count, usual))
		if len(a.Events) < MaxCited {
			q := (&Plan{Time: plan.Time}).Search()
			if f.dim == "action" {
				q = "action:" + quoteValue(f.value) + " " + q
			} else {
				q = "actor:" + quoteValue(f.value) + " " + q
			}
			l, err := list(ctx, r, p, q, 2, "")
			if err != nil {
				return err
			}
			a.Events = append(a.Events, l.Events...)
		}
	}
	a.Text = fmt.Sprintf("Unusual activity%s, compared with the %d days before (counts per hour, UTC):\n%s", scope(plan), usualDays, strings.Join(lines, "\n"))
	return nil
}

// actorOf names an event's actor: email, else name, else ID, else type.
func actorOf(e *audit.Event) string {
	for _, s := range []string{e.ActorEmail, e.ActorName, e.ActorID, e.ActorType} {
		if s != "" {
			return s
		}
	}
	return "unknown actor"
}

// describe says what an event records, in one line, with its seq so it
// can be checked.
func describe(e *audit.Event, loc *time.Location) string {
	s := e.Action
	if e.ResourceType != "" {
		s += " on " + e.ResourceType
		if e.ResourceID != "" {
			s += " " + e.ResourceID
		}
	}
	s += " by " + actorOf(e) + " " + when(e.CreatedAt, loc)
	if e.Outcome != "" {
		s += " (" + e.Outcome + ")"
	}
	return s + fmt.Sprintf(" [event %d, seq %d]", e.ID, e.Seq)
}

func when(t time.Time, loc *time.Location) string {
	return "at " + t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

// nOf says n of a unit: "1 event", "3 events".
func nOf(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

func eventsWord(n int64) string {
	if n == 1 {
		return "event"
	}
	return "events"
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
