package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/auditlog/auditlog/internal/audit"
)

// Analytics reads pre-aggregated counts (migrations 0006 and 0017,
// docs/analytics.md) instead of the events: event_counts holds the events
// per hour, day and month and per (action, resource_type, outcome);
// event_party_counts the events per day and per actor or client address;
// event_actor_counts the events per week and per month and per actor. The
// write path adds to all three in the same transaction as the events
// (Tx.AppendEvents), so every count matches the log.

// Grain is the width of one bucket of the pre-aggregated counts.
type Grain int

// The grains of event_counts, finest first, and GrainWeek.
const (
	GrainHour Grain = iota
	GrainDay
	GrainMonth
	// GrainWeek, weeks that start on Monday at 00:00 UTC, is a grain of
	// the actor counts only (event_actor_counts): event_counts has none,
	// and cover never yields it.
	GrainWeek
)

// String returns the grain's name as event_counts stores it.
func (g Grain) String() string {
	switch g {
	case GrainHour:
		return "hour"
	case GrainDay:
		return "day"
	case GrainMonth:
		return "month"
	case GrainWeek:
		return "week"
	}
	return fmt.Sprintf("Grain(%d)", int(g))
}

// Floor returns the start of t's bucket of grain g, in UTC.
func (g Grain) Floor(t time.Time) time.Time {
	t = t.UTC()
	switch g {
	case GrainHour:
		return t.Truncate(time.Hour)
	case GrainDay:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case GrainWeek:
		return time.Date(t.Year(), t.Month(), t.Day()-(int(t.Weekday())+6)%7, 0, 0, 0, 0, time.UTC)
	default:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
}

// Ceil returns the start of the first bucket of grain g that starts at or
// after t.
func (g Grain) Ceil(t time.Time) time.Time {
	f := g.Floor(t)
	if f.Equal(t) {
		return f
	}
	return g.Next(f)
}

// Next returns the start of the bucket after the one starting at t.
func (g Grain) Next(t time.Time) time.Time {
	switch g {
	case GrainHour:
		return t.Add(time.Hour)
	case GrainDay:
		return t.AddDate(0, 0, 1)
	case GrainWeek:
		return t.AddDate(0, 0, 7)
	default:
		return t.AddDate(0, 1, 0)
	}
}

var grains = []Grain{GrainHour, GrainDay, GrainMonth}

// Dimensions that CountTop groups by. The first three are columns of
// event_counts; DimActor and DimIP are counted per day in
// event_party_counts.
const (
	DimAction       = "action"
	DimResourceType = "resource_type"
	DimOutcome      = "outcome"
	DimActor        = "actor"
	DimIP           = "ip_address"
)

// partyDims maps a dimension of event_party_counts to its stored name.
var partyDims = map[string]string{DimActor: "actor", DimIP: "ip"}

// IsPartyDimension reports whether dim is counted per day only (actor,
// client address), without the other dimensions.
func IsPartyDimension(dim string) bool { _, ok := partyDims[dim]; return ok }

// ActorKey is how analytics names an event's actor: its email when it has
// one, else its ID; "" when it has neither (such events count in no
// actor's total).
func ActorKey(e *audit.Event) string {
	if e.ActorEmail != "" {
		return e.ActorEmail
	}
	return e.ActorID
}

// countKey is one row of event_counts.
type countKey struct {
	account                       int64
	grain                         Grain
	bucket                        int64
	action, resourceType, outcome string
}

// partyKey is one row of event_party_counts.
type partyKey struct {
	account   int64
	dimension string
	bucket    int64
	value     string
}

// actorKey is one row of event_actor_counts: grain is GrainWeek or
// GrainMonth.
type actorKey struct {
	account int64
	grain   Grain
	bucket  int64
	value   string
}

// actorGrains are the grains of event_actor_counts.
var actorGrains = []Grain{GrainWeek, GrainMonth}

// actorRollups adds to rollups, for each actor row of event_party_counts
// in parties, its n times sign in the row of its week and of its month.
func actorRollups(rollups map[actorKey]int64, parties map[partyKey]int64, sign int64) {
	for k, n := range parties {
		if k.dimension != "actor" {
			continue
		}
		day := time.Unix(k.bucket, 0).UTC()
		for _, g := range actorGrains {
			rollups[actorKey{k.account, g, g.Floor(day).Unix(), k.value}] += sign * n
		}
	}
}

// countEvents adds events to their accounts' counts: each distinct row is
// summed in memory (tally), then written by one multi-row upsert per table
// (per insertChunk rows). An ingested batch shares one created_at, so it
// touches a few rows per grain.
func (tx *Tx) countEvents(ctx context.Context, events []*audit.Event) error {
	if len(events) == 0 || tx.db.skipCounts {
		return nil
	}
	t := newTally()
	t.noRollups = !tx.db.actorRollups()
	t.add(events)
	return tx.writeTally(ctx, t)
}

// tally is the counts of some events, summed in memory: the rows that
// writing them adds to event_counts, event_party_counts and
// event_actor_counts.
type tally struct {
	counts  map[countKey]int64
	parties map[partyKey]int64
	// noRollups, set only by benchmarks (ActorRollupsForBenchmark), writes
	// no event_actor_counts rows, as before migration 0017.
	noRollups bool
}

func newTally() *tally {
	return &tally{counts: make(map[countKey]int64, 3*4), parties: make(map[partyKey]int64, 8)}
}

// add counts events: once at each grain in event_counts, and once per day
// for their actor and client address in event_party_counts.
func (t *tally) add(events []*audit.Event) {
	for _, e := range events {
		for _, g := range grains {
			t.counts[countKey{e.AccountID, g, g.Floor(e.CreatedAt).Unix(), e.Action, e.ResourceType, e.Outcome}]++
		}
		day := GrainDay.Floor(e.CreatedAt).Unix()
		if v := ActorKey(e); v != "" {
			t.parties[partyKey{e.AccountID, "actor", day, v}]++
		}
		if e.IPAddress != "" {
			t.parties[partyKey{e.AccountID, "ip", day, e.IPAddress}]++
		}
	}
}

// writeTally adds t's rows to the stored counts.
func (tx *Tx) writeTally(ctx context.Context, t *tally) error {
	counts, parties := t.counts, t.parties
	// Rows in key order, so that concurrent transactions lock them in the
	// same order.
	ck := make([]countKey, 0, len(counts))
	for k := range counts {
		ck = append(ck, k)
	}
	slices.SortFunc(ck, func(a, b countKey) int {
		return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.grain, b.grain), cmp.Compare(a.bucket, b.bucket),
			strings.Compare(a.action, b.action), strings.Compare(a.resourceType, b.resourceType), strings.Compare(a.outcome, b.outcome))
	})
	d := tx.db.dialect
	for start := 0; start < len(ck); start += insertChunk {
		chunk := ck[start:min(start+insertChunk, len(ck))]
		args := make([]any, 0, 7*len(chunk))
		for _, k := range chunk {
			args = append(args, k.account, k.grain.String(), k.bucket, k.action, k.resourceType, k.outcome, counts[k])
		}
		if _, err := tx.run.execBuilt(ctx, `INSERT INTO event_counts (account_id, grain, bucket, action, resource_type, outcome, n) VALUES (?, ?, ?, ?, ?, ?, ?)`+
			strings.Repeat(", (?, ?, ?, ?, ?, ?, ?)", len(chunk)-1)+
			d.addCount("event_counts", "account_id, grain, bucket, action, resource_type, outcome"), args...); err != nil {
			return tx.db.wrap(err, "count events")
		}
	}
	pk := make([]partyKey, 0, len(parties))
	for k := range parties {
		pk = append(pk, k)
	}
	slices.SortFunc(pk, func(a, b partyKey) int {
		return cmp.Or(cmp.Compare(a.account, b.account), strings.Compare(a.dimension, b.dimension), cmp.Compare(a.bucket, b.bucket), strings.Compare(a.value, b.value))
	})
	for start := 0; start < len(pk); start += insertChunk {
		chunk := pk[start:min(start+insertChunk, len(pk))]
		args := make([]any, 0, 5*len(chunk))
		for _, k := range chunk {
			args = append(args, k.account, k.dimension, k.bucket, k.value, parties[k])
		}
		if _, err := tx.run.execBuilt(ctx, `INSERT INTO event_party_counts (account_id, dimension, bucket, value, n) VALUES (?, ?, ?, ?, ?)`+
			strings.Repeat(", (?, ?, ?, ?, ?)", len(chunk)-1)+
			d.addCount("event_party_counts", "account_id, dimension, bucket, value"), args...); err != nil {
			return tx.db.wrap(err, "count events by party")
		}
	}
	if t.noRollups {
		return nil
	}
	rollups := make(map[actorKey]int64, 2)
	actorRollups(rollups, parties, 1)
	return tx.addActorCounts(ctx, rollups)
}

// addActorCounts adds each row's n (negative: takes it away) to
// event_actor_counts, one multi-row upsert per insertChunk rows, in key
// order, so that concurrent transactions lock rows in the same order.
// Rows that a negative n leaves at zero stay: the caller deletes them
// (deleteEmptyActorCounts).
func (tx *Tx) addActorCounts(ctx context.Context, rollups map[actorKey]int64) error {
	keys := make([]actorKey, 0, len(rollups))
	for k, n := range rollups {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b actorKey) int {
		return cmp.Or(cmp.Compare(a.account, b.account), strings.Compare(a.grain.String(), b.grain.String()), cmp.Compare(a.bucket, b.bucket), strings.Compare(a.value, b.value))
	})
	for start := 0; start < len(keys); start += insertChunk {
		chunk := keys[start:min(start+insertChunk, len(keys))]
		args := make([]any, 0, 5*len(chunk))
		for _, k := range chunk {
			args = append(args, k.account, k.grain.String(), k.bucket, k.value, rollups[k])
		}
		if _, err := tx.run.execBuilt(ctx, `INSERT INTO event_actor_counts (account_id, grain, bucket, value, n) VALUES (?, ?, ?, ?, ?)`+
			strings.Repeat(", (?, ?, ?, ?, ?)", len(chunk)-1)+
			tx.db.dialect.addCount("event_actor_counts", "account_id, grain, bucket, value"), args...); err != nil {
			return tx.db.wrap(err, "count events by actor per week and month")
		}
	}
	return nil
}

// deleteEmptyActorCounts deletes the account's event_actor_counts rows of
// the week or month starting at bucket that hold no event any more.
func (tx *Tx) deleteEmptyActorCounts(ctx context.Context, accountID int64, g Grain, bucket int64) error {
	_, err := tx.run.exec(ctx, `DELETE FROM event_actor_counts WHERE account_id = ? AND grain = ? AND bucket = ? AND n <= 0`, accountID, g.String(), bucket)
	return tx.db.wrap(err, "delete emptied actor counts")
}

// addCount is the upsert clause that adds a new row's n to the stored one:
// ON CONFLICT on SQLite and PostgreSQL, ON DUPLICATE KEY on MySQL.
func (d *dialect) addCount(table, key string) string {
	if d.engine == MySQL {
		return ` ON DUPLICATE KEY UPDATE n = n + VALUES(n)`
	}
	return ` ON CONFLICT (` + key + `) DO UPDATE SET n = ` + table + `.n + excluded.n`
}

// CountFilter selects the counted events of one account.
type CountFilter struct {
	// Start and End bound the range, half-open: whole hours, UTC, Start
	// before End. The party dimensions (actor, client address) count
	// whole days: their range is widened to the days around it.
	Start, End time.Time
	// MaxGrain is the widest bucket a count may read: a series whose
	// points are days reads no months.
	MaxGrain Grain
	// Action, ResourceType and Outcome, when not "", select events with
	// exactly that value. The party dimensions take none of them.
	Action, ResourceType, Outcome string
}

// span is a range of buckets of one grain, half-open.
type span struct {
	grain    Grain
	from, to time.Time
}

// cover returns the fewest spans of buckets, no wider than max, that
// together cover [start, end) exactly: hours at the ragged ends, then
// days, then months in the middle. start and end are whole hours.
func cover(start, end time.Time, max Grain) []span {
	var out []span
	add := func(g Grain, from, to time.Time) {
		if from.Before(to) {
			out = append(out, span{g, from, to})
		}
	}
	var split func(g Grain, from, to time.Time)
	split = func(g Grain, from, to time.Time) {
		if g == GrainHour {
			add(g, from, to)
			return
		}
		finer := g - 1
		a, b := g.Ceil(from), g.Floor(to)
		if !a.Before(b) {
			split(finer, from, to)
			return
		}
		split(finer, from, a)
		add(g, a, b)
		split(finer, b, to)
	}
	split(max, start, end)
	return out
}

// from returns a derived table, named c, of the columns cols of the
// account's event_counts rows that f selects, and its arguments (see
// countsFrom).
func (f CountFilter) from(accountID int64, cols string) (string, []any) {
	var filter string
	var fargs []any
	for _, c := range []struct{ col, v string }{{"action", f.Action}, {"resource_type", f.ResourceType}, {"outcome", f.Outcome}} {
		if c.v != "" {
			filter += " AND e." + c.col + " = ?"
			fargs = append(fargs, c.v)
		}
	}
	return countsFrom(accountID, cols, cover(f.Start, f.End, f.MaxGrain), filter, fargs)
}

// countsFrom returns a derived table, named c, of the columns cols of the
// account's event_counts rows (named e) in spans that filter (" AND …",
// with its arguments fargs) selects, and its arguments: one SELECT per
// span, joined by UNION ALL, so that each is a range scan of the primary
// key (an OR of the spans made SQLite scan the whole account).
func countsFrom(accountID int64, cols string, spans []span, filter string, fargs []any) (string, []any) {
	if len(spans) == 0 {
		return `(SELECT ` + cols + ` FROM event_counts e WHERE 1 = 0) c`, nil
	}
	parts := make([]string, len(spans))
	var args []any
	for i, s := range spans {
		parts[i] = `SELECT ` + cols + ` FROM event_counts e WHERE e.account_id = ? AND e.grain = ? AND e.bucket >= ? AND e.bucket < ?` + filter
		args = append(append(args, accountID, s.grain.String(), s.from.Unix(), s.to.Unix()), fargs...)
	}
	return `(` + strings.Join(parts, ` UNION ALL `) + `) c`, args
}

// actorCover returns the fewest spans of days, weeks and months that
// together cover [from, to) exactly (from and to are whole days, UTC):
// whole months in the middle, whole weeks inside what is left on either
// side, and days at the ragged ends. A 30-day range is thus at most 12
// spans (9 days and 3 weeks), often fewer (4 weeks and 3 days), against 30
// days; 90 days about 15 against 90.
func actorCover(from, to time.Time) []span {
	var out []span
	add := func(g Grain, a, b time.Time) {
		if a.Before(b) {
			out = append(out, span{g, a, b})
		}
	}
	weeks := func(a, b time.Time) {
		wa, wb := GrainWeek.Ceil(a), GrainWeek.Floor(b)
		if !wa.Before(wb) {
			add(GrainDay, a, b)
			return
		}
		add(GrainDay, a, wa)
		add(GrainWeek, wa, wb)
		add(GrainDay, wb, b)
	}
	ma, mb := GrainMonth.Ceil(from), GrainMonth.Floor(to)
	if !ma.Before(mb) {
		weeks(from, to)
		return out
	}
	weeks(from, ma)
	add(GrainMonth, ma, mb)
	weeks(mb, to)
	return out
}

// actorSpan is a span of actor counts (actorCover) whose counts are added
// to the range's, or, when less is set, taken from them.
type actorSpan struct {
	span
	less bool
}

// actorSpans returns the spans whose actor counts add up to those of the
// whole days [from, to): actorCover's, or, when the range ends after now
// (the dashboard's "last N days"), the cover of a range that ends with
// the week or the month holding to, when that takes fewer spans, less the
// days from to to its end. Those days are after now, so they hold no
// counts and their span reads nothing (a clock ahead of this process's or
// an import dated in the future may put some there: they are taken away,
// so the counts stay exact whatever the days hold).
func actorSpans(from, to, now time.Time) []actorSpan {
	spans, less := actorCover(from, to), span{}
	if to.After(now) {
		for _, g := range actorGrains {
			if hi := g.Ceil(to); hi.After(to) {
				if c := actorCover(from, hi); len(c)+1 < len(spans)+boolInt(less.grain == GrainDay) {
					spans, less = c, span{GrainDay, to, hi}
				}
			}
		}
	}
	out := make([]actorSpan, 0, len(spans)+1)
	for _, s := range spans {
		out = append(out, actorSpan{span: s})
	}
	if less.from.Before(less.to) {
		out = append(out, actorSpan{span: less, less: true})
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// actorsFrom returns a derived table, named c, of the value and n of the
// account's actor counts in spans (actorSpans), and its arguments: days
// from event_party_counts, weeks and months from event_actor_counts, one
// SELECT per span, joined by UNION ALL, each a range scan of its table's
// primary key; the n of a span to take away is negated.
func actorsFrom(accountID int64, spans []actorSpan) (string, []any) {
	if len(spans) == 0 {
		return `(SELECT value, n FROM event_actor_counts WHERE 1 = 0) c`, nil
	}
	parts := make([]string, len(spans))
	var args []any
	for i, s := range spans {
		if s.less {
			parts[i] = `SELECT value, -n AS n FROM event_party_counts WHERE account_id = ? AND dimension = 'actor' AND bucket >= ? AND bucket < ?`
			args = append(args, accountID, s.from.Unix(), s.to.Unix())
			continue
		}
		if s.grain == GrainDay {
			parts[i] = `SELECT value, n FROM event_party_counts WHERE account_id = ? AND dimension = 'actor' AND bucket >= ? AND bucket < ?`
			args = append(args, accountID, s.from.Unix(), s.to.Unix())
			continue
		}
		parts[i] = `SELECT value, n FROM event_actor_counts WHERE account_id = ? AND grain = ? AND bucket >= ? AND bucket < ?`
		args = append(args, accountID, s.grain.String(), s.from.Unix(), s.to.Unix())
	}
	return `(` + strings.Join(parts, ` UNION ALL `) + `) c`, args
}

// BucketCount is the count of one bucket of a series.
type BucketCount struct {
	Grain Grain
	Start time.Time
	// Count is the number of events; Failures those with outcome failure.
	Count, Failures int64
}

// CountSeries returns the account's counts of events that match f, per
// bucket, in time order: only buckets that hold events, each of the grain
// that covered it (hours at the ragged ends of the range, then days, then
// months up to f.MaxGrain). The caller sums them into its own intervals.
func (db *DB) CountSeries(ctx context.Context, accountID int64, f CountFilter) ([]BucketCount, error) {
	from, args := f.from(accountID, "grain, bucket, outcome, n")
	var out []BucketCount
	err := db.view(ctx, func(r runner) error {
		rows, err := db.countQuery(ctx, r, `SELECT grain, bucket, SUM(n), SUM(CASE WHEN outcome = 'failure' THEN n ELSE 0 END)
			FROM `+from+` GROUP BY grain, bucket`, args...)
		if err != nil {
			return db.wrap(err, "count series")
		}
		defer rows.Close()
		for rows.Next() {
			var g string
			var b BucketCount
			var start int64
			if err := rows.Scan(&g, &start, &b.Count, &b.Failures); err != nil {
				return db.wrap(err, "scan series")
			}
			b.Start = time.Unix(start, 0).UTC()
			for _, gr := range grains {
				if gr.String() == g {
					b.Grain = gr
				}
			}
			out = append(out, b)
		}
		return db.wrap(rows.Err(), "count series")
	})
	slices.SortFunc(out, func(a, b BucketCount) int { return a.Start.Compare(b.Start) })
	return out, err
}

// KeyCount is the count of events with one value of a dimension.
type KeyCount struct {
	Key   string
	Count int64
}

// CountTop returns the limit values of dimension dim (DimAction…DimIP)
// with the most events that match f, most first (ties by value), and the
// number of matching events in all. For the party dimensions the filter's
// Action, ResourceType and Outcome must be "", and the range counts whole
// days (see CountFilter); actors read whole weeks and months where the
// range holds them (actorCover).
func (db *DB) CountTop(ctx context.Context, accountID int64, f CountFilter, dim string, limit int) (top []KeyCount, total int64, err error) {
	// One statement: the window sum over the groups is the total of every
	// value, computed before LIMIT keeps the first ones.
	var query string
	var args []any
	if party, ok := partyDims[dim]; ok {
		if f.Action != "" || f.ResourceType != "" || f.Outcome != "" {
			return nil, 0, fmt.Errorf("sqlstore: %s is counted without other filters", dim)
		}
		from, to := GrainDay.Floor(f.Start), GrainDay.Ceil(f.End)
		if dim == DimActor && db.actorRollups() {
			var in string
			in, args = actorsFrom(accountID, actorSpans(from, to, db.Now()))
			query = `SELECT value, SUM(n) AS total, SUM(SUM(n)) OVER () FROM ` + in + ` GROUP BY value HAVING SUM(n) > 0 ORDER BY total DESC, value LIMIT ?`
		} else {
			query = `SELECT value, SUM(n) AS total, SUM(SUM(n)) OVER () FROM event_party_counts
			WHERE account_id = ? AND dimension = ? AND bucket >= ? AND bucket < ? GROUP BY value ORDER BY total DESC, value LIMIT ?`
			args = []any{accountID, party, from.Unix(), to.Unix()}
		}
	} else {
		switch dim {
		case DimAction, DimResourceType, DimOutcome:
		default:
			return nil, 0, fmt.Errorf("sqlstore: no counts by %q", dim)
		}
		var from string
		from, args = f.from(accountID, dim+", n")
		query = `SELECT ` + dim + `, SUM(n) AS total, SUM(SUM(n)) OVER () FROM ` + from + ` GROUP BY ` + dim + ` ORDER BY total DESC, ` + dim + ` LIMIT ?`
	}
	top = []KeyCount{}
	err = db.view(ctx, func(r runner) error {
		rows, err := db.countQuery(ctx, r, query, append(args, limit)...)
		if err != nil {
			return db.wrap(err, "count top")
		}
		defer rows.Close()
		for rows.Next() {
			var k KeyCount
			if err := rows.Scan(&k.Key, &k.Count, &total); err != nil {
				return db.wrap(err, "scan top")
			}
			top = append(top, k)
		}
		return db.wrap(rows.Err(), "count top")
	})
	return top, total, err
}

// countQuery runs a count's query. On PostgreSQL it first turns off
// parallel workers for the transaction (dialect.smallRead): a count reads a
// few thousand rows, and starting workers was most of its time. It also
// plans each count for its values (planFresh), as the search does.
func (db *DB) countQuery(ctx context.Context, r runner, query string, args ...any) (*sql.Rows, error) {
	if err := db.smallRead(ctx, r); err != nil {
		return nil, err
	}
	if len(db.dialect.planFresh) > 0 {
		return r.queryBuilt(ctx, query, append(slices.Clip(db.dialect.planFresh), args...)...)
	}
	return r.query(ctx, query, args...)
}

// smallRead tells the engine that r's transaction reads few rows
// (dialect.smallRead): on PostgreSQL, no parallel workers for it, whose
// start can take longer than such a query. Elsewhere it does nothing.
func (db *DB) smallRead(ctx context.Context, r runner) error {
	if s := db.dialect.smallRead; s != "" {
		_, err := r.q.ExecContext(ctx, s)
		return err
	}
	return nil
}

// actorBucketSQL returns, for the engine, the SQL expressions of the start
// of the week (Monday, UTC) and of the month that hold the day starting at
// the Unix second `bucket`: the same as migration 0017's.
func actorBucketSQL(e Engine) (week, month string) {
	switch e {
	case MySQL:
		return `bucket - MOD(MOD(bucket DIV 86400 + 3, 7) + 7, 7) * 86400`,
			`TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', DATE_FORMAT(DATE_ADD('1970-01-01 00:00:00', INTERVAL bucket SECOND), '%Y-%m-01'))`
	case Postgres:
		return `bucket - ((((bucket / 86400 + 3) % 7) + 7) % 7) * 86400`,
			`CAST(EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(bucket) AT TIME ZONE 'UTC')) AS BIGINT)`
	default:
		return `bucket - ((((bucket / 86400 + 3) % 7) + 7) % 7) * 86400`,
			`CAST(strftime('%s', date(bucket, 'unixepoch', 'start of month')) AS INTEGER)`
	}
}

// RecountActorCounts rebuilds the account's week and month actor counts
// (event_actor_counts) from its per-day actor counts, as migration 0017
// filled them, and returns how many rows it wrote. It locks the account's
// log first (LockLog), as an append does, so no append of the account
// runs meanwhile. It repairs what processes of the release before 0017
// appended during a rolling upgrade: they add to the per-day rows only.
func (tx *Tx) RecountActorCounts(ctx context.Context, accountID int64) (int64, error) {
	if err := tx.LockLog(ctx, accountID); err != nil {
		return 0, err
	}
	if _, err := tx.exec(ctx, `DELETE FROM event_actor_counts WHERE account_id = ?`, accountID); err != nil {
		return 0, tx.db.wrap(err, "delete actor counts")
	}
	week, month := actorBucketSQL(tx.db.source.Engine)
	var rows int64
	for _, g := range []struct{ grain, expr string }{{"week", week}, {"month", month}} {
		res, err := tx.exec(ctx, `INSERT INTO event_actor_counts (account_id, grain, bucket, value, n)
			SELECT account_id, '`+g.grain+`', `+g.expr+` AS b, value, SUM(n) FROM event_party_counts
			WHERE account_id = ? AND dimension = 'actor' GROUP BY account_id, b, value`, accountID)
		if err != nil {
			return 0, tx.db.wrap(err, "recount actor counts")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, tx.db.wrap(err, "recount actor counts")
		}
		rows += n
	}
	return rows, nil
}
