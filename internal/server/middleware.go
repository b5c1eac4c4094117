package server

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/vigilhq/vigil/internal/auth"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/observe"
)

// requestID adopts a sane X-Request-Id from the client or makes one, puts it
// in the context (logs, errors, Sentry) and echoes it in the response.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !observe.ValidRequestID(id) {
			id = observe.NewRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		ctx := observe.WithRequestID(r.Context(), id)
		if hub := s.deps.Reporter.Hub(); hub != nil {
			hub.Scope().SetTag("request_id", id)
			ctx = sentry.SetHubOnContext(ctx, hub)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// securityHeaders sets the headers every response carries. (CSP is strict:
// the landing page has no scripts; GraphiQL in --dev mode loads its own.)
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if !s.deps.Config.Dev {
			h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		} else {
			h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a handler panic into a 500 with the request id, and
// reports it; nothing of the panic reaches the client.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			ctx := r.Context()
			s.log.ErrorContext(ctx, "panic in HTTP handler", "panic", fmt.Sprint(v), "path", r.URL.Path, "stack", string(debug.Stack()))
			s.deps.Reporter.Panic(ctx, v, map[string]string{"path": r.URL.Path})
			id := observe.RequestID(ctx)
			writeJSON(w, http.StatusInternalServerError, map[string]any{
				"errors": []map[string]any{{
					"message":    "internal error (request id " + id + ")",
					"extensions": map[string]any{"code": "INTERNAL", "requestId": id},
				}},
			})
		}()
		next.ServeHTTP(w, r)
	})
}

// authenticate puts the request's caller in the context.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.deps.Authenticate == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.deps.Authenticate(r)
		switch {
		case errors.Is(err, auth.ErrCSRF):
			writeGraphQLError(w, r, http.StatusForbidden, "FORBIDDEN", auth.ErrCSRF.Msg)
			return
		case err != nil:
			s.log.InfoContext(r.Context(), "authentication failed", "error", err.Error())
			writeGraphQLError(w, r, http.StatusUnauthorized, "UNAUTHENTICATED", "invalid or expired credentials")
			return
		}
		if c != nil {
			r = r.WithContext(caller.With(r.Context(), c))
		}
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	bytes int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack lets websockets take the connection over (gorilla asks the writer
// itself, not through Unwrap).
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("%T cannot hijack", s.ResponseWriter)
	}
	if s.code == 0 {
		s.code = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// instrument records request count and latency under a fixed route name
// (never the raw path, which would explode label cardinality).
func (s *Server) instrument(route string, next http.Handler) http.Handler {
	m := s.deps.Metrics
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.HTTPInFlight.Inc()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			m.HTTPInFlight.Dec()
			code := rec.code
			if code == 0 {
				code = http.StatusOK
			}
			m.HTTPRequests.WithLabelValues(route, r.Method, strconv.Itoa(code)).Inc()
			m.HTTPDuration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// accessLog writes one structured line per request.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		s.log.InfoContext(r.Context(), "http request",
			"method", r.Method, "path", r.URL.Path, "status", code, "bytes", rec.bytes,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "remote", r.RemoteAddr)
	})
}

// cors lets the configured origins call the API from a browser, cookies
// included; any other origin gets no CORS headers (the browser then refuses
// to share the answer) and its preflight is refused.
func (s *Server) cors(next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, o := range s.deps.Config.CORSOrigins {
		allowed[strings.TrimRight(o, "/")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		ok := allowed[origin]
		if ok {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Expose-Headers", "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !ok {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-CSRF-Token, X-Request-Id")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
