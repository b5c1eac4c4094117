package ratelimit_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vigilhq/vigil/internal/ratelimit"
)

// defaultRedisURL is used when VIGIL_TEST_REDIS_URL is empty.
const defaultRedisURL = "redis://127.0.0.1:6379/0"

type testBundle struct {
	ctx     context.Context
	limiter ratelimit.Limiter
	// clock moves the memory backend's time; nil for Redis, which keeps
	// time on the server.
	clock *fakeClock
}

// eachBackend runs fn as two parallel subtests, "memory" and "redis", each
// with a fresh limiter.
func eachBackend(t *testing.T, fn func(t *testing.T, b *testBundle)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		fn(t, setupMemory(t))
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		fn(t, setupRedis(t))
	})
}

func setupMemory(t *testing.T) *testBundle {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return &testBundle{
		ctx:     t.Context(),
		limiter: ratelimit.NewMemory(1000, ratelimit.WithClock(clock.Now)),
		clock:   clock,
	}
}

func setupRedis(t testing.TB) *testBundle {
	t.Helper()
	client := redisClient(t)
	// A random prefix per test: parallel tests and reruns never share keys.
	prefix := "vigil-test:" + rand.Text() + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		keys, _ := client.Keys(ctx, "rate:"+prefix+"*").Result()
		if len(keys) > 0 {
			client.Del(ctx, keys...)
		}
	})
	return &testBundle{ctx: t.Context(), limiter: ratelimit.NewRedis(client, prefix)}
}

// redisClient connects to the test Redis, failing under CI and skipping,
// loudly, elsewhere when there is none.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(testRedisURL(t))
	if err != nil {
		t.Fatalf("VIGIL_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// testRedisURL returns VIGIL_TEST_REDIS_URL (or the local default) once
// Redis answers there.
func testRedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("VIGIL_TEST_REDIS_URL")
	if u == "" {
		u = defaultRedisURL
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("VIGIL_TEST_REDIS_URL: %v", err)
	}
	// One quick try: an absent Redis should cost a test well under a second.
	opts.DialTimeout = 500 * time.Millisecond
	opts.MaxRetries = -1
	client := redis.NewClient(opts)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		msg := "no Redis at " + opts.Addr + " (" + err.Error() + "); start one or set VIGIL_TEST_REDIS_URL"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip("!!! SKIPPING the Redis half of this test: " + msg)
	}
	return u
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func mustAllow(t *testing.T, b *testBundle, key string, l ratelimit.Limit) ratelimit.Result {
	t.Helper()
	res, err := b.limiter.Allow(b.ctx, key, l)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return res
}

// Redis keeps time on its own clock and in float seconds: durations it
// reports are compared within this much.
const slack = 50 * time.Millisecond

func near(got, want time.Duration) bool { return got >= want-slack && got <= want+slack }

func TestAllowBurstThenRefuse(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		l := ratelimit.Limit{Rate: 6, Period: time.Minute, Burst: 3} // one per 10 s
		for i := range 3 {
			res := mustAllow(t, b, "k", l)
			if !res.Allowed || res.Remaining != 2-i || res.Limit != 3 || res.RetryAfter != 0 {
				t.Fatalf("request %d: %+v, want allowed with %d remaining", i+1, res, 2-i)
			}
		}
		res := mustAllow(t, b, "k", l)
		if res.Allowed || res.Remaining != 0 {
			t.Fatalf("request 4: %+v, want refused", res)
		}
		if !near(res.RetryAfter, 10*time.Second) {
			t.Errorf("RetryAfter = %s, want about 10s (one emission interval)", res.RetryAfter)
		}
		if !near(res.ResetAfter, 30*time.Second) {
			t.Errorf("ResetAfter = %s, want about 30s (three intervals)", res.ResetAfter)
		}
	})
}

func TestMemoryRefill(t *testing.T) {
	t.Parallel()
	b := setupMemory(t)
	l := ratelimit.Limit{Rate: 600, Period: time.Minute, Burst: 100} // one per 100 ms
	for range 100 {
		mustAllow(t, b, "k", l)
	}
	res := mustAllow(t, b, "k", l)
	if res.Allowed || res.RetryAfter != 100*time.Millisecond || res.ResetAfter != 10*time.Second {
		t.Fatalf("after burst: %+v, want refused, retry in 100ms, reset in 10s", res)
	}

	b.clock.Advance(99 * time.Millisecond)
	if res := mustAllow(t, b, "k", l); res.Allowed || res.RetryAfter != time.Millisecond {
		t.Fatalf("after 99ms: %+v, want refused for 1ms more", res)
	}
	b.clock.Advance(time.Millisecond)
	if res := mustAllow(t, b, "k", l); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("after 100ms: %+v, want exactly one allowed", res)
	}
	if res := mustAllow(t, b, "k", l); res.Allowed {
		t.Fatalf("second request after 100ms: %+v, want refused", res)
	}

	b.clock.Advance(time.Hour)
	if res := mustAllow(t, b, "k", l); !res.Allowed || res.Remaining != 99 {
		t.Fatalf("after an hour: %+v, want a full bucket (99 remaining after this one)", res)
	}
}

func TestRedisRefill(t *testing.T) {
	t.Parallel()
	b := setupRedis(t)
	l := ratelimit.Limit{Rate: 1, Period: 200 * time.Millisecond, Burst: 1}
	if res := mustAllow(t, b, "k", l); !res.Allowed {
		t.Fatalf("first request: %+v, want allowed", res)
	}
	res := mustAllow(t, b, "k", l)
	if res.Allowed || res.RetryAfter <= 0 || res.RetryAfter > 200*time.Millisecond {
		t.Fatalf("second request: %+v, want refused with RetryAfter in (0, 200ms]", res)
	}
	// Poll rather than sleep a fixed time: Redis's clock decides.
	start := time.Now()
	deadline := start.Add(5 * time.Second)
	for {
		if res := mustAllow(t, b, "k", l); res.Allowed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no token came back within 5s for a 200ms period")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("token came back after %s, before most of the 200ms period", waited)
	}
}

func TestKeysAreIndependent(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		l := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 2}
		mustAllow(t, b, "a", l)
		mustAllow(t, b, "a", l)
		if res := mustAllow(t, b, "a", l); res.Allowed {
			t.Fatalf("a's third request allowed: %+v", res)
		}
		if res := mustAllow(t, b, "b", l); !res.Allowed || res.Remaining != 1 {
			t.Fatalf("b after a's burst: %+v, want a full bucket", res)
		}
	})
}

func TestPeekDoesNotConsume(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		l := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 2}
		for range 5 {
			res, err := b.limiter.Peek(b.ctx, "k", l)
			if err != nil || !res.Allowed || res.Remaining != 2 {
				t.Fatalf("Peek on a fresh key: %+v, %v; want allowed with 2 remaining", res, err)
			}
		}
		mustAllow(t, b, "k", l)
		mustAllow(t, b, "k", l)
		res, err := b.limiter.Peek(b.ctx, "k", l)
		if err != nil || res.Allowed || res.Remaining != 0 || !near(res.RetryAfter, time.Hour) {
			t.Fatalf("Peek on a spent key: %+v, %v; want refused, retry in about 1h", res, err)
		}
	})
}

func TestReset(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		l := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1}
		mustAllow(t, b, "k", l)
		if err := b.limiter.Reset(b.ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if res := mustAllow(t, b, "k", l); !res.Allowed {
			t.Fatalf("after Reset: %+v, want allowed", res)
		}
	})
}

func TestConcurrentCallersShareOneBudget(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		l := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 10}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			allowed int
		)
		for range 50 {
			wg.Go(func() {
				res, err := b.limiter.Allow(b.ctx, "k", l)
				if err != nil {
					t.Error(err)
					return
				}
				if res.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if allowed != 10 {
			t.Fatalf("%d of 50 concurrent requests allowed, want exactly the burst of 10", allowed)
		}
	})
}

func TestInvalidLimit(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		for _, l := range []ratelimit.Limit{{}, {Rate: 1, Period: time.Second}, {Rate: -1, Period: time.Second, Burst: 1}} {
			if _, err := b.limiter.Allow(b.ctx, "k", l); err == nil {
				t.Errorf("Allow with %+v: no error", l)
			}
		}
	})
}

func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(0, 0)}
	m := ratelimit.NewMemory(2, ratelimit.WithClock(clock.Now))
	ctx := t.Context()
	l := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1}
	for _, k := range []string{"a", "b", "c"} {
		if res, _ := m.Allow(ctx, k, l); !res.Allowed {
			t.Fatalf("first request for %s refused", k)
		}
	}
	if res, _ := m.Allow(ctx, "c", l); res.Allowed {
		t.Fatal("c, still held, allowed twice")
	}
	if res, _ := m.Allow(ctx, "a", l); !res.Allowed {
		t.Fatal("a allowed no second request: with room for two keys it should have been evicted")
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	t.Run("empty URL gives memory", func(t *testing.T) {
		t.Parallel()
		l, closeFn, err := ratelimit.New(ctx, "", "vigil:")
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		if _, ok := l.(*ratelimit.Memory); !ok {
			t.Fatalf("got %T, want *ratelimit.Memory", l)
		}
	})

	t.Run("bad URL names the variable and hides the password", func(t *testing.T) {
		t.Parallel()
		for _, u := range []string{"http://x:6379", "redis://:s3cret@[::1/0"} {
			_, _, err := ratelimit.New(ctx, u, "vigil:")
			if err == nil || !strings.Contains(err.Error(), "VIGIL_REDIS_URL") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("New(%q) error = %v; want one naming VIGIL_REDIS_URL, without the password", u, err)
			}
		}
	})

	t.Run("unreachable Redis names the variable and the fix", func(t *testing.T) {
		t.Parallel()
		_, _, err := ratelimit.New(ctx, "redis://:s3cret@127.0.0.1:1/0", "vigil:")
		if err == nil {
			t.Fatal("New with nothing listening: no error")
		}
		msg := err.Error()
		for _, want := range []string{"VIGIL_REDIS_URL", "127.0.0.1:1", "unset it"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
		}
		if strings.Contains(msg, "s3cret") {
			t.Errorf("error %q shows the password", msg)
		}
	})

	t.Run("reachable Redis", func(t *testing.T) {
		t.Parallel()
		u := testRedisURL(t) // skips or fails like the other Redis tests
		l, closeFn, err := ratelimit.New(ctx, u, "vigil-test:"+rand.Text()+":")
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn()
		if _, ok := l.(*ratelimit.Redis); !ok {
			t.Fatalf("got %T, want *ratelimit.Redis", l)
		}
		if res, err := l.Allow(ctx, "k", ratelimit.Limit{Rate: 1, Period: time.Second, Burst: 1}); err != nil || !res.Allowed {
			t.Fatalf("Allow: %+v, %v", res, err)
		}
	})
}
