// Package ratelimit limits how often a key (a client IP, an account, a
// session, an API key) may do something, with token buckets.
//
// A Rule "N per D" is a bucket of N tokens that refills at N tokens per D,
// continuously: a client may spend N at once and then one every D/N. Each
// request takes one token; with none left it is refused, and the Decision
// says how long until a token is back (Retry-After).
//
// Two implementations share these semantics and one test suite: Memory keeps
// the buckets in this process (the default), Redis keeps them in Redis, so
// that every process of a deployment draws from the same buckets. Both take
// the time from an injectable clock, so tests never sleep.
//
// How a caller plugs in (the ingest endpoint does so for API keys):
//
//	d, err := limiter.Allow(ctx, "ingest:key:"+strconv.FormatInt(keyID, 10), rule)
//	if err != nil { … fall back or fail … }
//	if !d.Allowed { … 429 with Retry-After: d.RetryAfter … }
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rule is a token bucket: Limit tokens, refilled at Limit per Period. The
// zero Rule (or a Limit of 0) means no limit.
type Rule struct {
	Limit  int
	Period time.Duration
}

// Off reports whether the rule limits nothing.
func (r Rule) Off() bool { return r.Limit <= 0 || r.Period <= 0 }

// String renders the rule as ParseRule reads it, such as "10/1m0s", or "off".
func (r Rule) String() string {
	if r.Off() {
		return "off"
	}
	return strconv.Itoa(r.Limit) + "/" + r.Period.String()
}

// perMicro returns the refill rate in tokens per microsecond.
func (r Rule) perMicro() float64 {
	return float64(r.Limit) / float64(r.Period.Microseconds())
}

// ParseRule reads a rule written "N/DURATION", such as "10/1m" (ten per
// minute, in a burst of up to ten) or "300/1m"; "off" or "0" turns the limit
// off.
func ParseRule(s string) (Rule, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Rule{}, nil
	}
	n, d, ok := strings.Cut(s, "/")
	limit, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || limit < 1 {
		return Rule{}, fmt.Errorf("%q: want N/DURATION such as 10/1m, or off", s)
	}
	d = strings.TrimSpace(d)
	if d != "" && (d[0] < '0' || d[0] > '9') {
		d = "1" + d // "10/m" reads as "10/1m"
	}
	period, err := time.ParseDuration(d)
	if err != nil || period < time.Millisecond {
		return Rule{}, fmt.Errorf("%q: want N/DURATION such as 10/1m, with a duration of at least 1ms", s)
	}
	return Rule{Limit: limit, Period: period}, nil
}

// Decision is the outcome of one Allow.
type Decision struct {
	Allowed   bool
	Limit     int // the rule's bucket size
	Remaining int // whole tokens left after this request
	// RetryAfter is how long until the next token, when the request was
	// refused; 0 when it was allowed.
	RetryAfter time.Duration
	// Reset is how long until the bucket is full again.
	Reset time.Duration
}

// Limiter takes one token from key's bucket under rule. Buckets are per key
// and rule; a key should name what it limits, such as "login:ip:192.0.2.1".
// An off rule always allows. Implementations are safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string, rule Rule) (Decision, error)
}

// ErrKey is returned for an empty key.
var ErrKey = errors.New("ratelimit: empty key")

// decide computes the decision from the tokens left after the take; the same
// arithmetic serves both implementations.
func decide(rule Rule, allowed bool, tokens float64) Decision {
	rate := rule.perMicro()
	d := Decision{Allowed: allowed, Limit: rule.Limit, Remaining: int(math.Floor(tokens + epsilon))}
	if !allowed {
		d.RetryAfter = micros((1 - tokens - epsilon) / rate)
	}
	d.Reset = micros((float64(rule.Limit) - tokens) / rate)
	return d
}

// micros converts a number of microseconds to a Duration, rounding up.
func micros(us float64) time.Duration {
	if us <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(us)) * time.Microsecond
}

// epsilon absorbs floating-point error in refills, so that a bucket refilled
// for exactly one token's time holds one token.
const epsilon = 1e-9

// refill returns the tokens a bucket that held tokens at last (in
// microseconds since the epoch) holds at now.
func refill(rule Rule, tokens float64, last, now int64) (float64, int64) {
	if now > last {
		tokens = math.Min(float64(rule.Limit), tokens+float64(now-last)*rule.perMicro())
		last = now
	}
	return tokens, last
}

// take refills the bucket to now and takes one token if there is one. It
// returns the new state and whether a token was taken.
func take(rule Rule, tokens float64, last, now int64) (float64, int64, bool) {
	tokens, last = refill(rule, tokens, last, now)
	if tokens >= 1-epsilon {
		return max(tokens-1, 0), last, true
	}
	return tokens, last, false
}
