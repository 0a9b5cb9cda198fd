package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter that keeps its buckets in Redis, so that every process
// pointed at the same Redis shares them. Each bucket is one hash (tokens and
// the time they were counted) updated by one Lua script, so concurrent
// requests from any number of processes take tokens atomically. A bucket
// expires once it would have refilled, since a missing bucket is a full one.
//
// The time comes from Now, not from the Redis server, so tests can drive
// it; processes sharing a Redis need clocks kept in step (NTP). A clock
// behind the others refills nothing until it catches up; it never adds
// tokens.
type Redis struct {
	client redis.UniversalClient
	prefix string
	// Now returns the current time; tests may replace it before first use.
	Now func() time.Time
}

// NewRedis returns a Limiter over client whose keys start with prefix, such
// as "auditlog:rl:".
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix, Now: time.Now}
}

// tokenBucket is take (ratelimit.go) in Lua. KEYS[1] is the bucket; ARGV is
// the limit, the refill rate in tokens per microsecond, now in microseconds
// since the epoch, and the key's time to live in milliseconds. It returns
// {1 if a token was taken else 0, tokens left as a string} (Redis would
// truncate a Lua number to an integer).
var tokenBucket = redis.NewScript(`
local limit = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil or last == nil then
	tokens = limit
	last = now
end
if now > last then
	tokens = math.min(limit, tokens + (now - last) * rate)
	last = now
end
local taken = 0
if tokens >= 1 - 1e-9 then
	tokens = math.max(tokens - 1, 0)
	taken = 1
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', string.format('%d', last))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {taken, string.format('%.17g', tokens)}
`)

// Allow implements Limiter.
func (l *Redis) Allow(ctx context.Context, key string, rule Rule) (Decision, error) {
	if key == "" {
		return Decision{}, ErrKey
	}
	if rule.Off() {
		return Decision{Allowed: true}, nil
	}
	ttl := rule.Period.Milliseconds() + 1000
	res, err := tokenBucket.Run(ctx, l.client, []string{l.prefix + key + ":" + rule.String()},
		rule.Limit, strconv.FormatFloat(rule.perMicro(), 'g', 17, 64), l.Now().UnixMicro(), ttl).Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("ratelimit: redis: unexpected reply %v", res)
	}
	taken, _ := res[0].(int64)
	s, _ := res[1].(string)
	tokens, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: unexpected reply %v", res)
	}
	return decide(rule, taken == 1, tokens), nil
}
