package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter whose buckets live in Redis, so that every replica
// draws on the same budget. Each call is one atomic Lua script (redis_rate's
// GCRA) timed by the Redis server's clock, so replicas' clocks do not matter.
// Buckets expire once full again, so Redis holds only active keys.
type Redis struct {
	limiter *redis_rate.Limiter
	prefix  string
}

// NewRedis returns a limiter on client. Keys are stored as
// "rate:"+prefix+key ("rate:" is redis_rate's own prefix).
func NewRedis(client *redis.Client, prefix string) *Redis {
	return &Redis{limiter: redis_rate.NewLimiter(client), prefix: prefix}
}

// Errors below never name the key: keys hold accounts and addresses, and
// errors end up in logs and Sentry.

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if err := l.validate(); err != nil {
		return Result{}, err
	}
	res, err := r.limiter.Allow(ctx, r.prefix+key, rateLimit(l))
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis allow: %w", err)
	}
	out := Result{
		Allowed:    res.Allowed > 0,
		Limit:      l.Burst,
		Remaining:  max(res.Remaining, 0),
		ResetAfter: max(res.ResetAfter, 0),
	}
	if !out.Allowed {
		out.RetryAfter = max(res.RetryAfter, 0) // redis_rate says -1 when allowed
	}
	return out, nil
}

// Peek implements Limiter with redis_rate's AllowN for n = 0: its script
// then adds nothing to the bucket (and writes back only the value it read),
// but it reports no retry time, which is derived here from ResetAfter.
func (r *Redis) Peek(ctx context.Context, key string, l Limit) (Result, error) {
	if err := l.validate(); err != nil {
		return Result{}, err
	}
	res, err := r.limiter.AllowN(ctx, r.prefix+key, rateLimit(l), 0)
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis peek: %w", err)
	}
	// With n = 0, res.Allowed is always 0 (it echoes n); Remaining is the
	// script's float truncated to an integer by Redis.
	out := Result{
		Allowed:    res.Remaining >= 1,
		Limit:      l.Burst,
		Remaining:  max(res.Remaining, 0),
		ResetAfter: max(res.ResetAfter, 0),
	}
	if !out.Allowed {
		// The bucket is full again after ResetAfter; one token is back
		// Burst-1 emission intervals before that. The floor covers the
		// script's float rounding, which can leave a sliver at or below
		// zero when Remaining truncated to 0.
		wait := res.ResetAfter - time.Duration(l.Burst-1)*l.emission()
		out.RetryAfter = max(wait, time.Millisecond)
	}
	return out, nil
}

// Reset implements Limiter.
func (r *Redis) Reset(ctx context.Context, key string) error {
	if err := r.limiter.Reset(ctx, r.prefix+key); err != nil {
		return fmt.Errorf("ratelimit: redis reset: %w", err)
	}
	return nil
}

func rateLimit(l Limit) redis_rate.Limit {
	return redis_rate.Limit{Rate: l.Rate, Burst: l.Burst, Period: l.Period}
}
