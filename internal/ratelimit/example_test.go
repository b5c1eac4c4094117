package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/vigilhq/vigil/internal/ratelimit"
)

func ExampleMemory() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	limiter := ratelimit.NewMemory(1000, ratelimit.WithClock(func() time.Time { return now }))
	l := ratelimit.Limit{Rate: 600, Period: time.Minute, Burst: 100}

	for range 100 {
		_, _ = limiter.Allow(context.Background(), "api:user:42", l)
	}
	res, _ := limiter.Allow(context.Background(), "api:user:42", l)
	fmt.Println(res.Allowed, res.RetryAfter)

	now = now.Add(100 * time.Millisecond)
	res, _ = limiter.Allow(context.Background(), "api:user:42", l)
	fmt.Println(res.Allowed, res.Remaining)
	// Output:
	// false 100ms
	// true 0
}

func ExampleMiddleware() {
	limiter := ratelimit.NewMemory(1000)
	byAPIKey := func(r *http.Request) (string, bool) {
		k := r.Header.Get("X-Api-Key")
		return "api:key:" + k, k != ""
	}
	limit := ratelimit.Middleware(limiter, ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1}, byAPIKey, nil)
	h := limit(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))

	for range 2 {
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		req.Header.Set("X-Api-Key", "vk_example")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	// Output:
	// 200  ok
	// 429 3600 {"errors":[{"message":"rate limit exceeded; retry in 3600 s","extensions":{"code":"RATE_LIMITED","retryAfter":3600}}]}
}

func ExampleLoginThrottle() {
	ctx := context.Background()
	throttle := ratelimit.NewLoginThrottle(ratelimit.NewMemory(1000), ratelimit.DefaultLoginPerAccount, ratelimit.DefaultLoginPerIP)

	login := func(account, ip string, passwordOK bool) string {
		if wait, err := throttle.Check(ctx, account, ip); err != nil || wait > 0 {
			return "too many attempts"
		}
		if !passwordOK {
			_ = throttle.Failure(ctx, account, ip)
			return "wrong password"
		}
		_ = throttle.Success(ctx, account)
		return "welcome"
	}

	for range 5 {
		login("alice@example.com", "192.0.2.1", false)
	}
	fmt.Println(login("alice@example.com", "192.0.2.1", true))
	fmt.Println(login("bob@example.com", "198.51.100.7", true))
	// Output:
	// too many attempts
	// welcome
}
