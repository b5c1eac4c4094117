package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// DefaultMaxKeys is the key capacity New gives the in-memory limiter: some
// 16 MB with login-sized keys, far more keys than are active in one period.
const DefaultMaxKeys = 100_000

// Memory is a Limiter that keeps buckets in this process, in an LRU of at
// most maxKeys keys. A bucket is one timestamp (GCRA's theoretical arrival
// time), so arithmetic is exact, in whole nanoseconds.
//
// Evicting a key forgets its consumption, which only ever favours that key;
// keep maxKeys above the number of keys active within one limit Period so
// that eviction reaches only idle, already refilled buckets.
type Memory struct {
	now   func() time.Time
	epoch time.Time

	// mu makes each read-compute-write of a bucket atomic; the LRU's own
	// locking would not, so the unsynchronised simplelru is used under it.
	mu   sync.Mutex
	tats *simplelru.LRU[string, time.Duration] // since epoch
}

// MemoryOption configures NewMemory.
type MemoryOption func(*Memory)

// WithClock replaces time.Now, so that tests can move time by hand.
func WithClock(now func() time.Time) MemoryOption {
	return func(m *Memory) { m.now = now }
}

// NewMemory returns an in-memory limiter holding at most maxKeys buckets
// (DefaultMaxKeys when maxKeys <= 0).
func NewMemory(maxKeys int, opts ...MemoryOption) *Memory {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	m := &Memory{now: time.Now}
	for _, o := range opts {
		o(m)
	}
	m.epoch = m.now()
	tats, err := simplelru.NewLRU[string, time.Duration](maxKeys, nil)
	if err != nil {
		panic(err) // only for size <= 0, excluded above
	}
	m.tats = tats
	return m
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	return m.take(key, l, true)
}

// Peek implements Limiter.
func (m *Memory) Peek(_ context.Context, key string, l Limit) (Result, error) {
	return m.take(key, l, false)
}

// Reset implements Limiter.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tats.Remove(key)
	return nil
}

// take is redis_rate's GCRA script in integer nanoseconds: a bucket is the
// time at which it would be full again (tat) if no more requests came; a
// request pushes that time one emission interval further, and is refused
// when that would put it more than Burst intervals ahead of now.
func (m *Memory) take(key string, l Limit, consume bool) (Result, error) {
	if err := l.validate(); err != nil {
		return Result{}, err
	}
	emission := l.emission()
	burstOffset := emission * time.Duration(l.Burst)

	m.mu.Lock()
	defer m.mu.Unlock()
	// Read the clock under the lock so that callers see time move forward.
	now := m.now().Sub(m.epoch)
	tat, ok := m.tats.Get(key)
	if !ok || tat < now {
		tat = now
	}
	// headroom is how far tat is from the burst ceiling: Remaining tokens
	// of emission each.
	headroom := now + burstOffset - tat
	remaining := max(headroom/emission, 0)
	res := Result{
		Limit:      l.Burst,
		Allowed:    remaining >= 1,
		Remaining:  int(remaining),
		ResetAfter: tat - now,
	}
	if !res.Allowed {
		res.RetryAfter = emission - headroom
		return res, nil
	}
	if consume {
		tat += emission
		m.tats.Add(key, tat)
		res.Remaining--
		res.ResetAfter = tat - now
	}
	return res, nil
}
