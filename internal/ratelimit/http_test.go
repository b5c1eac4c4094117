package ratelimit_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/ratelimit"
)

func TestSetHeaders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                           string
		res                            ratelimit.Result
		limit, remaining, reset, retry string
	}{
		{"allowed rounds reset up", ratelimit.Result{Allowed: true, Limit: 100, Remaining: 42, ResetAfter: 1500 * time.Millisecond}, "100", "42", "2", ""},
		{"whole seconds stay", ratelimit.Result{Allowed: true, Limit: 5, Remaining: 4, ResetAfter: 3 * time.Second}, "5", "4", "3", ""},
		{"full bucket resets now", ratelimit.Result{Allowed: true, Limit: 5, Remaining: 5}, "5", "5", "0", ""},
		{"refused rounds retry up", ratelimit.Result{Limit: 10, RetryAfter: 200 * time.Millisecond, ResetAfter: 59*time.Second + time.Nanosecond}, "10", "0", "60", "1"},
		{"refused with no wait still says 1", ratelimit.Result{Limit: 10}, "10", "0", "0", "1"},
		{"refused for long", ratelimit.Result{Limit: 5, RetryAfter: 179*time.Second + time.Millisecond, ResetAfter: 15 * time.Minute}, "5", "0", "900", "180"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			ratelimit.SetHeaders(h, tc.res)
			for name, want := range map[string]string{
				"RateLimit-Limit":     tc.limit,
				"RateLimit-Remaining": tc.remaining,
				"RateLimit-Reset":     tc.reset,
				"Retry-After":         tc.retry,
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if _, set := h["Retry-After"]; set != (tc.retry != "") {
				t.Errorf("Retry-After present = %v, want %v", set, tc.retry != "")
			}
		})
	}
}

// keyFromHeader limits requests that carry X-Key and lets the rest through.
func keyFromHeader(r *http.Request) (string, bool) {
	k := r.Header.Get("X-Key")
	return "api:" + k, k != ""
}

func serve(h http.Handler, key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	if key != "" {
		req.Header.Set("X-Key", key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var noContent = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

func TestMiddleware(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *testBundle) {
		lim := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 2}
		h := ratelimit.Middleware(b.limiter, lim, keyFromHeader, nil)(noContent)

		for i := range 2 {
			rec := serve(h, "alice")
			if rec.Code != http.StatusNoContent {
				t.Fatalf("request %d: status %d, want 204", i+1, rec.Code)
			}
			if got, want := rec.Header().Get("RateLimit-Remaining"), []string{"1", "0"}[i]; got != want {
				t.Errorf("request %d: RateLimit-Remaining %q, want %q", i+1, got, want)
			}
			if rec.Header().Get("RateLimit-Limit") != "2" || rec.Header().Get("Retry-After") != "" {
				t.Errorf("request %d: headers %v", i+1, rec.Header())
			}
		}

		rec := serve(h, "alice")
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("third request: status %d, want 429", rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		// One token an hour, two spent: the next is an hour away, the
		// bucket full in two. Redis's float seconds may round up one more.
		retry := rec.Header().Get("Retry-After")
		if retry != "3600" && retry != "3601" {
			t.Errorf("Retry-After %q, want 3600", retry)
		}
		if reset := rec.Header().Get("RateLimit-Reset"); reset != "7200" && reset != "7201" {
			t.Errorf("RateLimit-Reset %q, want 7200", reset)
		}
		if rec.Header().Get("RateLimit-Remaining") != "0" {
			t.Errorf("headers %v", rec.Header())
		}
		var body struct {
			Errors []struct {
				Message    string
				Extensions struct {
					Code       string
					RetryAfter int
				}
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("body %q: %v", rec.Body, err)
		}
		if len(body.Errors) != 1 {
			t.Fatalf("body %s: want one error", rec.Body)
		}
		e := body.Errors[0]
		if e.Extensions.Code != "RATE_LIMITED" || e.Message != "rate limit exceeded; retry in "+retry+" s" || retry != jsonInt(e.Extensions.RetryAfter) {
			t.Errorf("body %s does not match Retry-After %s", rec.Body, retry)
		}

		if rec := serve(h, "bob"); rec.Code != http.StatusNoContent {
			t.Errorf("another key: status %d, want 204", rec.Code)
		}
		for range 5 {
			rec := serve(h, "")
			if rec.Code != http.StatusNoContent || rec.Header().Get("RateLimit-Limit") != "" {
				t.Fatalf("keyless request: status %d, headers %v; want 204 and no rate-limit headers", rec.Code, rec.Header())
			}
		}
	})
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestMiddlewareCustomOnLimited(t *testing.T) {
	t.Parallel()
	b := setupMemory(t)
	lim := ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 1}
	var got ratelimit.Result
	h := ratelimit.Middleware(b.limiter, lim, keyFromHeader, func(w http.ResponseWriter, _ *http.Request, res ratelimit.Result) {
		got = res
		w.WriteHeader(http.StatusServiceUnavailable)
	})(noContent)
	serve(h, "alice")
	rec := serve(h, "alice")
	if rec.Code != http.StatusServiceUnavailable || got.Allowed || got.RetryAfter != time.Minute {
		t.Fatalf("status %d, result %+v; want the custom 503 with the refused result", rec.Code, got)
	}
	if rec.Header().Get("Retry-After") != "60" {
		t.Errorf("headers %v: want them set before onLimited", rec.Header())
	}
}

// failingLimiter stands for a Redis that has gone away.
type failingLimiter struct{}

var errDown = errors.New("redis: connection refused")

func (failingLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Result, error) {
	return ratelimit.Result{}, errDown
}

func (failingLimiter) Peek(context.Context, string, ratelimit.Limit) (ratelimit.Result, error) {
	return ratelimit.Result{}, errDown
}

func (failingLimiter) Reset(context.Context, string) error { return errDown }

func TestMiddlewareFailsOpen(t *testing.T) {
	t.Parallel()
	lim := ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1}
	h := ratelimit.Middleware(failingLimiter{}, lim, keyFromHeader, nil)(noContent)
	for range 3 {
		rec := serve(h, "alice")
		if rec.Code != http.StatusNoContent || rec.Header().Get("RateLimit-Limit") != "" {
			t.Fatalf("with the limiter failing: status %d, headers %v; want 204 without headers", rec.Code, rec.Header())
		}
	}
}

func TestMiddlewareRejectsInvalidLimit(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("Middleware accepted a zero Limit")
		}
	}()
	ratelimit.Middleware(ratelimit.NewMemory(1), ratelimit.Limit{}, keyFromHeader, nil)
}
