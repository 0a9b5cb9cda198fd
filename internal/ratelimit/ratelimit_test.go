package ratelimit_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/auditlog/auditlog/internal/ratelimit/redistest"
)

// clock is a test clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newLimiter returns a fresh limiter on the clock; second, when not nil,
// returns another limiter that shares the first one's buckets (another
// process on the same Redis), or nil when buckets are per process.
type newLimiter func(t *testing.T, c *clock) (l ratelimit.Limiter, second func() ratelimit.Limiter)

func TestMemory(t *testing.T) {
	run(t, func(t *testing.T, c *clock) (ratelimit.Limiter, func() ratelimit.Limiter) {
		m := ratelimit.NewMemory()
		m.Now = c.Now
		return m, nil
	})
}

func TestRedis(t *testing.T) {
	run(t, func(t *testing.T, c *clock) (ratelimit.Limiter, func() ratelimit.Limiter) {
		client, prefix := redistest.Client(t)
		mk := func() ratelimit.Limiter {
			l := ratelimit.NewRedis(client, prefix)
			l.Now = c.Now
			return l
		}
		return mk(), mk
	})
}

// run is the suite both implementations pass.
func run(t *testing.T, newL newLimiter) {
	ctx := t.Context()
	rule := ratelimit.Rule{Limit: 3, Period: time.Minute} // one token every 20 s

	t.Run("Burst then refuse", func(t *testing.T) {
		c := newClock()
		l, _ := newL(t, c)
		for i := range 3 {
			d := mustAllow(t, l, "k", rule)
			if !d.Allowed || d.Remaining != 2-i || d.Limit != 3 || d.RetryAfter != 0 {
				t.Fatalf("request %d: %+v; want allowed with %d left", i+1, d, 2-i)
			}
		}
		d := mustAllow(t, l, "k", rule)
		if d.Allowed || d.Remaining != 0 || d.RetryAfter != 20*time.Second || d.Reset != time.Minute {
			t.Fatalf("4th request: %+v; want refused, retry after 20s, full after 1m", d)
		}
	})

	t.Run("Refill", func(t *testing.T) {
		c := newClock()
		l, _ := newL(t, c)
		for range 3 {
			mustAllow(t, l, "k", rule)
		}
		c.Add(19 * time.Second)
		if d := mustAllow(t, l, "k", rule); d.Allowed || d.RetryAfter != time.Second {
			t.Fatalf("after 19s: %+v; want refused, retry after 1s", d)
		}
		c.Add(time.Second)
		if d := mustAllow(t, l, "k", rule); !d.Allowed || d.Remaining != 0 {
			t.Fatalf("after 20s: %+v; want one token", d)
		}
		if d := mustAllow(t, l, "k", rule); d.Allowed {
			t.Fatalf("second request after 20s: %+v; want refused", d)
		}
		c.Add(time.Hour) // refills to the limit, never beyond
		for i := range 4 {
			if d := mustAllow(t, l, "k", rule); d.Allowed != (i < 3) {
				t.Fatalf("request %d after an hour: %+v", i+1, d)
			}
		}
	})

	t.Run("Keys and rules are separate buckets", func(t *testing.T) {
		c := newClock()
		l, _ := newL(t, c)
		one := ratelimit.Rule{Limit: 1, Period: time.Minute}
		mustAllow(t, l, "a", one)
		if d := mustAllow(t, l, "a", one); d.Allowed {
			t.Fatal("a: second request allowed")
		}
		if d := mustAllow(t, l, "b", one); !d.Allowed {
			t.Fatal("b: refused because of a")
		}
		if d := mustAllow(t, l, "a", ratelimit.Rule{Limit: 2, Period: time.Minute}); !d.Allowed {
			t.Fatal("a under another rule: refused")
		}
	})

	t.Run("Off rule and empty key", func(t *testing.T) {
		l, _ := newL(t, newClock())
		for range 100 {
			if d := mustAllow(t, l, "k", ratelimit.Rule{}); !d.Allowed {
				t.Fatal("off rule refused a request")
			}
		}
		if _, err := l.Allow(ctx, "", rule); err == nil {
			t.Error("empty key: no error")
		}
	})

	t.Run("Clock going backwards adds nothing", func(t *testing.T) {
		c := newClock()
		l, _ := newL(t, c)
		for range 3 {
			mustAllow(t, l, "k", rule)
		}
		c.Add(-time.Hour)
		if d := mustAllow(t, l, "k", rule); d.Allowed {
			t.Fatalf("after the clock went back: %+v; want refused", d)
		}
	})

	t.Run("Concurrent takes are atomic", func(t *testing.T) {
		c := newClock()
		l, second := newL(t, c)
		limiters := []ratelimit.Limiter{l}
		if second != nil {
			limiters = append(limiters, second(), second())
		}
		big := ratelimit.Rule{Limit: 25, Period: time.Hour}
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				d, err := limiters[i%len(limiters)].Allow(ctx, "k", big)
				if err != nil {
					t.Error(err)
				}
				if d.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if allowed.Load() != 25 {
			t.Fatalf("%d of 100 concurrent requests allowed; want exactly 25", allowed.Load())
		}
	})

	t.Run("Processes share buckets", func(t *testing.T) {
		c := newClock()
		l, second := newL(t, c)
		if second == nil {
			t.Skip("buckets are per process")
		}
		other := second()
		mustAllow(t, l, "k", rule)
		mustAllow(t, other, "k", rule)
		mustAllow(t, l, "k", rule)
		if d := mustAllow(t, other, "k", rule); d.Allowed {
			t.Fatalf("4th request through another limiter: %+v; want refused", d)
		}
	})
}

func mustAllow(t *testing.T, l ratelimit.Limiter, key string, rule ratelimit.Rule) ratelimit.Decision {
	t.Helper()
	d, err := l.Allow(t.Context(), key, rule)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParseRule(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ratelimit.Rule
		ok   bool
	}{
		{"10/1m", ratelimit.Rule{Limit: 10, Period: time.Minute}, true},
		{" 300 / 1m ", ratelimit.Rule{Limit: 300, Period: time.Minute}, true},
		{"5/s", ratelimit.Rule{Limit: 5, Period: time.Second}, true},
		{"10/10m", ratelimit.Rule{Limit: 10, Period: 10 * time.Minute}, true},
		{"off", ratelimit.Rule{}, true},
		{"0", ratelimit.Rule{}, true},
		{"10", ratelimit.Rule{}, false},
		{"-1/1m", ratelimit.Rule{}, false},
		{"10/0s", ratelimit.Rule{}, false},
		{"x/1m", ratelimit.Rule{}, false},
		{"10/fortnight", ratelimit.Rule{}, false},
	} {
		got, err := ratelimit.ParseRule(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRule(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if r := (ratelimit.Rule{Limit: 10, Period: time.Minute}); r.String() != "10/1m0s" {
		t.Errorf("String() = %q", r.String())
	}
}

func TestMemorySweepsFullBuckets(t *testing.T) {
	c := newClock()
	m := ratelimit.NewMemory()
	m.Now = c.Now
	rule := ratelimit.Rule{Limit: 2, Period: time.Second}
	for i := range 5000 {
		mustAllow(t, m, string(rune('a'+i%26))+time.Duration(i).String(), rule)
	}
	c.Add(time.Minute)
	for range 4096 {
		mustAllow(t, m, "live", rule)
	}
	if n := m.Len(); n > 100 {
		t.Fatalf("%d buckets held after every idle one refilled; want the idle ones dropped", n)
	}
}
