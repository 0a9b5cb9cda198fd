package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is a Limiter that keeps its buckets in this process. Buckets that
// have refilled completely are dropped now and then, since a missing bucket
// is a full one, so memory stays proportional to the keys active within
// their rule's period.
type Memory struct {
	// Now returns the current time; tests may replace it before first use.
	Now func() time.Time

	mu      sync.Mutex
	buckets map[bucketKey]*bucket
	calls   int
}

type bucketKey struct {
	key  string
	rule Rule
}

type bucket struct {
	tokens float64
	last   int64 // µs since the epoch
}

// sweepEvery is how many calls pass between sweeps of full buckets.
const sweepEvery = 4096

// NewMemory returns an in-process Limiter on the real clock.
func NewMemory() *Memory { return &Memory{Now: time.Now} }

// Allow implements Limiter.
func (m *Memory) Allow(ctx context.Context, key string, rule Rule) (Decision, error) {
	if key == "" {
		return Decision{}, ErrKey
	}
	if rule.Off() {
		return Decision{Allowed: true}, nil
	}
	now := m.Now().UnixMicro()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets == nil {
		m.buckets = map[bucketKey]*bucket{}
	}
	if m.calls++; m.calls%sweepEvery == 0 {
		m.sweep(now)
	}
	k := bucketKey{key, rule}
	b := m.buckets[k]
	if b == nil {
		b = &bucket{tokens: float64(rule.Limit), last: now}
		m.buckets[k] = b
	}
	var ok bool
	b.tokens, b.last, ok = take(rule, b.tokens, b.last, now)
	return decide(rule, ok, b.tokens), nil
}

// sweep drops the buckets that are full again by now.
func (m *Memory) sweep(now int64) {
	for k, b := range m.buckets {
		if tokens, _ := refill(k.rule, b.tokens, b.last, now); tokens >= float64(k.rule.Limit)-epsilon {
			delete(m.buckets, k)
		}
	}
}

// Len returns the number of buckets held, for tests.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}
