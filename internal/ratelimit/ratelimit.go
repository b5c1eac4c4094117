// Package ratelimit owns Vigil's abuse limits: per-key token buckets (GCRA)
// kept in process memory or in Redis, the HTTP middleware and IETF RateLimit
// headers that expose them, and login throttling by account and by client
// address.
//
// It does not decide who a caller is or which limit a route gets: callers
// pass a key and a Limit. It does not log or export metrics either; errors
// are returned (or, in Middleware, deliberately swallowed: see there).
//
// Both backends run the same algorithm (the generic cell rate algorithm that
// github.com/go-redis/redis_rate runs in a Lua script), so a deployment
// behaves the same with one replica and memory as with many and Redis.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limit is a token bucket: up to Burst requests at once, refilled at Rate
// requests per Period. Limit{Rate: 600, Period: time.Minute, Burst: 100}
// allows 100 requests back to back, then one every 100 ms.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// ErrInvalidLimit is returned for a Limit that cannot describe a bucket.
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

func (l Limit) validate() error {
	switch {
	case l.Rate <= 0 || l.Period <= 0 || l.Burst <= 0:
		return fmt.Errorf("%w: rate, period and burst must be positive, got %d per %s, burst %d", ErrInvalidLimit, l.Rate, l.Period, l.Burst)
	case l.Period < time.Duration(l.Rate):
		// The memory backend counts in whole nanoseconds per request.
		return fmt.Errorf("%w: more than one request per nanosecond", ErrInvalidLimit)
	case l.emission() > math.MaxInt64/time.Duration(l.Burst):
		return fmt.Errorf("%w: burst %d of %s each overflows", ErrInvalidLimit, l.Burst, l.emission())
	}
	return nil
}

// emission is the time one request's token takes to come back.
func (l Limit) emission() time.Duration { return l.Period / time.Duration(l.Rate) }

// Result is the state of a key's bucket after a call.
type Result struct {
	// Allowed reports whether the request may go ahead (for Peek: whether
	// one more would).
	Allowed bool
	// Limit is the bucket's size, the Limit's Burst: Remaining counts down
	// from it, so clients can compare the two.
	Limit int
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is how long until one more request is allowed; zero when
	// Allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket is full again.
	ResetAfter time.Duration
}

// Limiter keeps one bucket per key. Keys are the caller's: give each use its
// own namespace ("api:user:…", "login:…") so they cannot share a bucket.
//
// Peek and Reset are part of the interface, not only Allow, because login
// throttling must look before a password check and forget after a success,
// and it must work with whichever backend New returns.
type Limiter interface {
	// Allow takes one token from key's bucket if it has one.
	Allow(ctx context.Context, key string, l Limit) (Result, error)
	// Peek reports key's bucket without taking a token.
	Peek(ctx context.Context, key string, l Limit) (Result, error)
	// Reset refills key's bucket.
	Reset(ctx context.Context, key string) error
}

// pingTimeout bounds New's reachability check so that a black-holed Redis
// address fails start-up promptly instead of hanging it.
const pingTimeout = 3 * time.Second

// New returns the limiter the configuration asks for and a function that
// releases it. An empty redisURL (VIGIL_REDIS_URL unset) gives an in-memory
// limiter, which is exact but per process; a redis:// or rediss:// URL gives
// limits shared by all replicas, under prefix. Redis must answer a PING now:
// a typo should stop start-up, not silently turn limits off later.
func New(ctx context.Context, redisURL, prefix string) (Limiter, func() error, error) {
	if redisURL == "" {
		return NewMemory(DefaultMaxKeys), func() error { return nil }, nil
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("ratelimit: VIGIL_REDIS_URL is not a Redis URL: %w; use redis://[user:password@]host:6379/0 or rediss://… for TLS", withoutURL(err))
	}
	client := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("ratelimit: Redis at %s (from VIGIL_REDIS_URL) is unreachable: %w; start Redis there or correct VIGIL_REDIS_URL, or unset it to keep rate limits in this process's memory (not shared between replicas)", opts.Addr, err)
	}
	return NewRedis(client, prefix), client.Close, nil
}

// withoutURL drops the URL from url.Parse's errors: it may hold a password,
// and this error is meant to be printed.
func withoutURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
