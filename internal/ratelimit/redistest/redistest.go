// Package redistest connects tests to a real Redis.
//
// Tests that need Redis run when AUDITLOG_TEST_REDIS_URL is set, such as
//
//	AUDITLOG_TEST_REDIS_URL=redis://127.0.0.1:6379/0
//
// and are skipped otherwise, with a message naming the variable (shown by
// go test -v), except under CI=true, where a missing or unreachable Redis
// fails the test. Each test gets its own key prefix, and its keys are deleted
// when it ends, so tests never see each other's buckets.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URLVar names the environment variable that holds the test Redis URL.
const URLVar = "AUDITLOG_TEST_REDIS_URL"

// Client returns a client of the test Redis and a fresh key prefix whose
// keys are deleted when the test ends. It skips the test when no Redis is
// configured, unless CI=true.
func Client(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	url := os.Getenv(URLVar)
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: the Redis tests must run in CI", URLVar)
		}
		t.Skipf("%s is not set: the Redis tests did not run", URLVar)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", URLVar, err)
	}
	c := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("%s: cannot reach Redis: %v", URLVar, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "auditlog-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		// The test's context has ended by now.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		c.Close()
	})
	return c, prefix
}
