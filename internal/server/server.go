// Package server wires Vigil's HTTP surface: GraphQL, health and readiness,
// metrics and the portal, behind request ids, logging, metrics, panic
// recovery and security headers; and runs it with graceful shutdown. It owns
// no business logic: resolvers live in graph, work in jobs and internal/*.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigilhq/vigil/graph"
	"github.com/vigilhq/vigil/internal/auth"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/ingest"
	"github.com/vigilhq/vigil/internal/observe"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/internal/ratelimit"
	"github.com/vigilhq/vigil/internal/wsgorilla"
	"github.com/vigilhq/vigil/jobs"
	"github.com/vigilhq/vigil/web"
)

// Authenticator finds the caller of a request. It returns (nil, nil) for an
// anonymous request and an error for bad credentials.
type Authenticator func(r *http.Request) (*caller.Caller, error)

// Deps are what the server is built from.
type Deps struct {
	Config   config.Config
	DB       *database.DB
	Jobs     *jobs.Client
	Logger   *slog.Logger
	Metrics  *observe.Metrics
	Reporter *observe.Reporter
	Version  string
	// Auth signs users in and authenticates requests; nil serves only
	// anonymous requests (tests of the foundation).
	Auth *auth.Service
	// Authz decides role permissions; nil denies every permission.
	Authz graph.Authorizer
	// Authenticate overrides how a request's caller is found (tests).
	Authenticate Authenticator
	// Limiter enforces request rates per API key and per tenant (memory or
	// Redis); nil: no request rate limits.
	Limiter ratelimit.Limiter
	// PerAPIKey and PerTenant default to 600 and 6000 requests a minute.
	PerAPIKey, PerTenant ratelimit.Limit
	// GraphQLHook, when set, may adjust the GraphQL handler (tests add
	// middleware through it).
	GraphQLHook func(*GraphQL)
	// Pipeline is the event path (ingest, rules, alerts, the live stream);
	// nil builds one whose ingest enqueues score jobs on Jobs.
	Pipeline *Pipeline
}

// Server is Vigil's HTTP server.
type Server struct {
	deps       Deps
	log        *slog.Logger
	handler    http.Handler
	jobsActive atomic.Bool
	ingest     *ingest.Service
	sockets    *wsgorilla.Tracker
}

// New builds the server and its routes.
func New(d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = observe.NewMetrics()
	}
	if d.Authenticate == nil && d.Auth != nil {
		d.Authenticate = d.Auth.AuthenticateRequest
	}
	if d.Authz == nil {
		d.Authz = denyAll{}
	}
	if d.Pipeline == nil {
		p, err := NewPipeline(d.DB, d.Config, d.Logger)
		if err != nil {
			return nil, err
		}
		d.Pipeline = p
	}
	if d.Pipeline.Ingest == nil {
		var enqueue ingest.Enqueuer
		if d.Jobs != nil {
			enqueue = jobs.EnqueueScore(d.Jobs)
		}
		d.Pipeline.Ingest = ingest.New(d.DB, enqueue, IngestOptions(d.Config))
	}
	d.Metrics.SetSubscribers(d.Pipeline.Hub.Subscribers)
	s := &Server{deps: d, log: d.Logger, ingest: d.Pipeline.Ingest, sockets: &wsgorilla.Tracker{}}

	gql, err := newGraphQL(d, s.sockets)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	route := func(pattern, name string, h http.Handler) {
		mux.Handle(pattern, s.instrument(name, h))
	}
	route("GET /healthz", "healthz", http.HandlerFunc(s.healthz))
	route("GET /readyz", "readyz", http.HandlerFunc(s.readyz))
	route("GET /metrics", "metrics", s.metricsHandler())
	var api http.Handler = gql
	if d.Limiter != nil {
		if d.PerAPIKey.Rate == 0 {
			d.PerAPIKey = ratelimit.Limit{Rate: 600, Period: time.Minute, Burst: 100}
		}
		if d.PerTenant.Rate == 0 {
			d.PerTenant = ratelimit.Limit{Rate: 6000, Period: time.Minute, Burst: 500}
		}
		api = ratelimit.Middleware(d.Limiter, d.PerTenant, callerKey(func(c *caller.Caller) pulid.ID { return c.TenantID }, "tenant:"), ratelimit.TooManyRequests)(api)
		api = ratelimit.Middleware(d.Limiter, d.PerAPIKey, callerKey(func(c *caller.Caller) pulid.ID { return c.APIKeyID }, "apikey:"), ratelimit.TooManyRequests)(api)
	}
	route("/graphql", "graphql", s.cors(s.authenticate(api)))
	var events http.Handler = http.HandlerFunc(s.events)
	if d.Limiter != nil {
		events = ratelimit.Middleware(d.Limiter, d.PerAPIKey, callerKey(func(c *caller.Caller) pulid.ID { return c.APIKeyID }, "apikey:"), ratelimit.TooManyRequests)(events)
	}
	route("POST /v1/events", "events", s.authenticate(events))
	if d.Auth != nil {
		jwks := d.Auth.Issuer().JWKS()
		route("GET /.well-known/jwks.json", "jwks", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/jwk-set+json")
			w.Header().Set("Cache-Control", "public, max-age=300")
			_, _ = w.Write(jwks)
		}))
	}
	route("/", "portal", web.Handler(web.Page{Version: d.Version, Dev: d.Config.Dev}))

	s.handler = s.requestID(s.securityHeaders(s.recoverPanics(s.accessLog(mux))))
	return s, nil
}

// callerKey keys a rate limit by one id of the request's caller; requests
// without that id (anonymous, or users for the API-key limit) are not limited
// by it.
func callerKey(id func(*caller.Caller) pulid.ID, prefix string) func(*http.Request) (string, bool) {
	return func(r *http.Request) (string, bool) {
		c := caller.From(r.Context())
		if c == nil || id(c) == "" {
			return "", false
		}
		return prefix + string(id(c)), true
	}
}

type denyAll struct{}

func (denyAll) Allowed(string, pulid.ID, string) bool { return false }
func (denyAll) Granted(string, pulid.ID) []string     { return []string{} }

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves on ln until ctx ends, then shuts down gracefully: it stops taking
// connections, lets requests in flight finish (up to the shutdown timeout),
// and stops the job client so that running jobs finish or are handed back.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if s.deps.Config.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.deps.Config.TLSCert, s.deps.Config.TLSKey)
		if err != nil {
			return fmt.Errorf("VIGIL_TLS_CERT/VIGIL_TLS_KEY: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	if s.deps.Jobs != nil {
		if err := s.deps.Jobs.Start(ctx); err != nil {
			return fmt.Errorf("start job client: %w", err)
		}
		s.jobsActive.Store(true)
	}
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); s.deps.Pipeline.Hub.Run(hubCtx) }()
	defer func() { stopHub(); <-hubDone }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		s.stopJobs()
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.deps.Config.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.deps.Config.ShutdownTimeout)
	defer cancel()
	// Websockets are hijacked: Shutdown does not wait for them. Close them
	// with "service restart" so clients resume from their last cursor.
	if n := s.sockets.CloseAll(websocket.CloseServiceRestart, "server restarting; reconnect with your last cursor"); n > 0 {
		s.log.Info("closed websockets", "count", n)
	}
	err := srv.Shutdown(shutdownCtx)
	s.stopJobsWithin(shutdownCtx)
	if serveErr := <-errc; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	s.deps.Reporter.Flush(2 * time.Second)
	s.log.Info("stopped")
	return err
}

func (s *Server) stopJobs() {
	ctx, cancel := context.WithTimeout(context.Background(), s.deps.Config.ShutdownTimeout)
	defer cancel()
	s.stopJobsWithin(ctx)
}

func (s *Server) stopJobsWithin(ctx context.Context) {
	if s.deps.Jobs == nil || !s.jobsActive.Swap(false) {
		return
	}
	if err := s.deps.Jobs.Stop(ctx); err != nil {
		s.log.Warn("job client did not stop cleanly; cancelling running jobs", "error", err)
		_ = s.deps.Jobs.StopAndCancel(context.Background())
	}
}
