package ratelimit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// SetHeaders writes r as the RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset headers of the IETF draft (draft-ietf-httpapi-ratelimit-
// headers up to -06, the form clients implement today), and Retry-After when
// r was refused. Times are whole seconds rounded up: a client that waits the
// number it is told must not arrive early.
func SetHeaders(h http.Header, r Result) {
	h.Set("RateLimit-Limit", strconv.Itoa(r.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(r.Remaining, 0)))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(r.ResetAfter), 10))
	if !r.Allowed {
		h.Set("Retry-After", strconv.FormatInt(retryAfterSeconds(r), 10))
	}
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// retryAfterSeconds is at least 1 for a refused request: "retry in 0 s"
// invites an immediate retry that the bucket may still refuse.
func retryAfterSeconds(r Result) int64 {
	return max(ceilSeconds(r.RetryAfter), 1)
}

// Middleware limits each request by the key that key returns for it, with
// lim; key returns ok = false for requests it does not limit (anonymous
// ones, say, which other limits cover). Limited requests get the RateLimit
// headers; refused ones also get Retry-After and are handed to onLimited
// (TooManyRequests when nil) instead of the next handler.
//
// When the limiter fails (Redis down, say) the request goes through, without
// headers, and nothing is logged here: per-key API limits protect capacity,
// and refusing all traffic because their store is away would be the greater
// outage. Redis's health is for /readyz and the client's metrics to report.
//
// Middleware panics when lim is invalid or l or key is nil: that is a wiring
// mistake, to be caught at start-up rather than by failing open forever.
func Middleware(l Limiter, lim Limit, key func(*http.Request) (string, bool), onLimited func(w http.ResponseWriter, r *http.Request, res Result)) func(http.Handler) http.Handler {
	if err := lim.validate(); err != nil {
		panic(err)
	}
	if l == nil || key == nil {
		panic("ratelimit: Middleware needs a limiter and a key function")
	}
	if onLimited == nil {
		onLimited = TooManyRequests
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k, ok := key(r)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			res, err := l.Allow(r.Context(), k, lim)
			if err != nil {
				next.ServeHTTP(w, r) // fail open: see the doc comment
				return
			}
			SetHeaders(w.Header(), res)
			if !res.Allowed {
				onLimited(w, r, res)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TooManyRequests is Middleware's default answer to a refused request: 429
// with a GraphQL-shaped error body carrying the stable code RATE_LIMITED,
// so that API clients handle it like any other GraphQL error. The rate-limit
// headers are already set by Middleware.
func TooManyRequests(w http.ResponseWriter, _ *http.Request, res Result) {
	seconds := retryAfterSeconds(res)
	type extensions struct {
		Code       string `json:"code"`
		RetryAfter int64  `json:"retryAfter"`
	}
	type gqlError struct {
		Message    string     `json:"message"`
		Extensions extensions `json:"extensions"`
	}
	body, err := json.Marshal(struct {
		Errors []gqlError `json:"errors"`
	}{[]gqlError{{
		Message:    fmt.Sprintf("rate limit exceeded; retry in %d s", seconds),
		Extensions: extensions{Code: "RATE_LIMITED", RetryAfter: seconds},
	}}})
	if err != nil {
		panic(err) // fixed types: cannot fail
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(body)
}
