package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/auditlog/auditlog/internal/config"
	"github.com/auditlog/auditlog/internal/ratelimit"
	"github.com/redis/go-redis/v9"
)

// redisKeyPrefix starts the key of every rate-limit bucket kept in Redis.
const redisKeyPrefix = "auditlog:rl:"

// openLimiter returns the rate limiter that REDIS_URL asks for: nil (the
// server then keeps buckets in process) when it is not set, or a Redis
// limiter once Redis answers. close releases the Redis client.
func openLimiter(ctx context.Context, cfg config.Config, log *slog.Logger) (l ratelimit.Limiter, close func(), err error) {
	if cfg.RedisURL == "" {
		return nil, func() {}, nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	client := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("REDIS_URL: cannot reach Redis at %s: %w", opts.Addr, err)
	}
	log.Info("rate limits are kept in Redis", "addr", opts.Addr, "db", opts.DB)
	return ratelimit.NewRedis(client, redisKeyPrefix), func() { client.Close() }, nil
}

// tlsConfig is the TLS configuration of the built-in HTTPS server: TLS 1.2
// or later, with Go's default (modern, forward-secret) cipher suites.
func tlsConfig() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }
