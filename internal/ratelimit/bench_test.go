package ratelimit_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/ratelimit"
)

// Run with: go test -run '^$' -bench . ./internal/ratelimit/

// benchLimit never refuses within a run, so every call writes.
var benchLimit = ratelimit.Limit{Rate: 1_000_000, Period: time.Second, Burst: 1_000_000}

// benchKeys is more keys than one bucket's worth, fewer than DefaultMaxKeys.
var benchKeys = func() []string {
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = "api:user:" + strconv.Itoa(i)
	}
	return keys
}()

func benchmarkAllow(b *testing.B, l ratelimit.Limiter) {
	ctx := b.Context()
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := l.Allow(ctx, benchKeys[i%len(benchKeys)], benchLimit); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := benchKeys[next.Add(1)%int64(len(benchKeys))]
				if _, err := l.Allow(ctx, k, benchLimit); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkMemoryAllow(b *testing.B) {
	benchmarkAllow(b, ratelimit.NewMemory(ratelimit.DefaultMaxKeys))
}

func BenchmarkRedisAllow(b *testing.B) {
	benchmarkAllow(b, setupRedis(b).limiter)
}
