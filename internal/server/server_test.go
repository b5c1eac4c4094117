package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crypto/ed25519"
	"crypto/rand"

	"github.com/99designs/gqlgen/graphql"

	"github.com/vigilhq/vigil/graph"
	"github.com/vigilhq/vigil/internal/auth"
	"github.com/vigilhq/vigil/internal/authz"
	"github.com/vigilhq/vigil/internal/password"
	"github.com/vigilhq/vigil/internal/ratelimit"

	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/database"
	"github.com/vigilhq/vigil/internal/dbtest"
	"github.com/vigilhq/vigil/internal/observe"
	"github.com/vigilhq/vigil/jobs"
)

type testBundle struct {
	auth     *auth.Service
	url      string
	db       *database.DB
	server   *Server
	metrics  *observe.Metrics
	resolved *atomic.Int64 // fields resolved, to prove a rejected request ran nothing
	cancel   context.CancelFunc
	done     chan error
	pipeline *Pipeline
}

type setupOpts struct {
	// identity wires the real auth service (cheap argon2 parameters),
	// casbin policies and an in-memory rate limiter.
	identity bool
	cors     []string
	tlsCert  string
	tlsKey   string
	db       *database.DB
	dev      bool
	reporter *observe.Reporter
	reg      *jobs.Registry
	auth     Authenticator
	field    graphql.FieldMiddleware
	// quiet logs only warnings and errors (benchmarks: their logs always print).
	quiet bool
	// perAPIKey replaces the default request limit of each API key.
	perAPIKey ratelimit.Limit
	// servePoll polls for jobs every 100ms, as vigil serve does, instead of
	// the tests' 50ms (SQLite has no LISTEN/NOTIFY).
	servePoll bool
}

func setup(t testing.TB, o setupOpts) *testBundle {
	t.Helper()
	if o.db == nil {
		o.db = dbtest.SQLite(t)
	}
	cfg := config.Defaults()
	cfg.Dev = o.dev
	cfg.CORSOrigins = o.cors
	cfg.TLSCert, cfg.TLSKey = o.tlsCert, o.tlsKey
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.AttackFile = dbtest.SharedData(t, "attack", "enterprise-attack-techniques.json")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b := &testBundle{db: o.db, metrics: observe.NewMetrics(), resolved: new(atomic.Int64), done: make(chan error, 1)}
	b.metrics.RegisterDB(o.db.SQL, "vigil")
	logOpts := &slog.HandlerOptions{}
	if o.quiet {
		logOpts.Level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, logOpts))
	pipeline, err := NewPipeline(o.db, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	b.pipeline = pipeline
	reg := o.reg
	if reg == nil {
		reg = jobs.NewRegistry()
		jobs.RegisterPlatform(reg, o.db)
		jobs.RegisterDetection(reg, o.db, pipeline.Engine, b.metrics)
	}
	poll := 50 * time.Millisecond
	if o.servePoll {
		poll = 100 * time.Millisecond
	}
	jc, err := jobs.NewClient(o.db, reg, jobs.Options{Metrics: b.metrics, Reporter: o.reporter, FetchPoll: poll})
	if err != nil {
		t.Fatal(err)
	}
	var (
		authSvc *auth.Service
		authzr  graph.Authorizer
		limiter ratelimit.Limiter
	)
	if o.identity {
		authSvc, authzr, limiter = identity(t, o.db)
		b.auth = authSvc
	} else {
		pol, err := authz.New(context.Background(), o.db, authz.Options{})
		if err != nil {
			t.Fatal(err)
		}
		authzr = graph.Policies(pol)
	}
	s, err := New(Deps{
		Auth: authSvc, Authz: authzr, Limiter: limiter, PerAPIKey: o.perAPIKey,
		Logger: logger, Pipeline: pipeline,
		Config: cfg, DB: o.db, Jobs: jc, Metrics: b.metrics, Reporter: o.reporter, Version: "test", Authenticate: o.auth,
		GraphQLHook: func(g *GraphQL) {
			g.Exec.AroundFields(func(ctx context.Context, next graphql.Resolver) (any, error) {
				b.resolved.Add(1)
				if o.field != nil {
					return o.field(ctx, next)
				}
				return next(ctx)
			})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.server, b.cancel, b.url = s, cancel, "http://"+ln.Addr().String()
	go func() { b.done <- s.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop within 10s")
		}
	})
	return b
}

type gqlResponse struct {
	status  int
	header  http.Header
	Data    json.RawMessage `json:"data"`
	Errors  []gqlError      `json:"errors"`
	rawBody string
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

func (r *gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func (b *testBundle) do(t testing.TB, req *http.Request) *gqlResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := &gqlResponse{status: resp.StatusCode, header: resp.Header, rawBody: string(body)}
	if len(body) > 0 && body[0] == '{' {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("decode %q: %v", body, err)
		}
	}
	return out
}

func (b *testBundle) post(t testing.TB, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return b.postRaw(t, "application/json", body)
}

func (b *testBundle) postRaw(t testing.TB, contentType string, body []byte) *gqlResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url+"/graphql", bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return b.do(t, req)
}

func (b *testBundle) get(t *testing.T, query string) *gqlResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.url+"/graphql?query="+url.QueryEscape(query), nil)
	return b.do(t, req)
}

func nest(depth int) string {
	// tenants > edges > node > memberships > edges > node > user, then
	// user { memberships { user { … } } } as deep as asked.
	inner := "id"
	for range depth {
		inner = "memberships { user { " + inner + " } }"
	}
	return "{ tenants(first: 1) { edges { node { memberships(first: 1) { edges { node { user { " + inner + " } } } } } } } }"
}

func repeatAliases(n int) string {
	var sb strings.Builder
	sb.WriteString("{ ")
	for i := range n {
		fmt.Fprintf(&sb, "a%d: server { name } ", i)
	}
	sb.WriteString("}")
	return sb.String()
}

// Every hostile request is refused before any resolver runs.
func TestHostileRequestsRejectedBeforeExecution(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	big := bytes.Repeat([]byte(" "), 1<<20+10)
	copy(big, `{"query":"{ __typename }"}`)
	cases := []struct {
		name       string
		send       func() *gqlResponse
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"depth", func() *gqlResponse { return b.post(t, nest(5), nil) }, 200, "GRAPHQL_VALIDATION_FAILED", "depth"},
		{"complexity", func() *gqlResponse {
			return b.post(t, "{ tenants(first: 100) { edges { node { memberships(first: 100) { edges { node { user { memberships { id } } } } } } } } }", nil)
		}, 200, "GRAPHQL_VALIDATION_FAILED", "complexity"},
		{"complexity through variables", func() *gqlResponse {
			return b.post(t, "query($n: Int) { tenants(first: $n) { edges { node { memberships(first: $n) { edges { node { id } } } } } } }", map[string]any{"n": 100})
		}, 200, "GRAPHQL_VALIDATION_FAILED", "complexity"},
		{"aliases", func() *gqlResponse { return b.post(t, repeatAliases(31), nil) }, 200, "GRAPHQL_VALIDATION_FAILED", "aliases"},
		{"tokens", func() *gqlResponse { return b.post(t, "{"+strings.Repeat(" __typename", 6000)+" }", nil) }, 200, "GRAPHQL_PARSE_FAILED", "token limit"},
		{"page size", func() *gqlResponse { return b.post(t, "{ tenants(first: 500) { totalCount } }", nil) }, 200, "BAD_USER_INPUT", "first must be between 0 and 100"},
		{"body size", func() *gqlResponse { return b.postRaw(t, "application/json", big) }, 413, "BAD_USER_INPUT", "exceeds the limit"},
		{"batching", func() *gqlResponse {
			return b.postRaw(t, "application/json", []byte(`[{"query":"{ server { name } }"},{"query":"{ server { name } }"}]`))
		}, 400, "BAD_USER_INPUT", "batched"},
		{"mutation over GET", func() *gqlResponse { return b.get(t, "mutation { logout }") }, 405, "BAD_USER_INPUT", "use POST"},
		{"subscription over GET", func() *gqlResponse { return b.get(t, "subscription { alertEvents { cursor } }") }, 405, "BAD_USER_INPUT", "use POST"},
		{"text/plain", func() *gqlResponse { return b.postRaw(t, "text/plain", []byte(`{"query":"{ server { name } }"}`)) }, 415, "BAD_USER_INPUT", "application/json"},
		{"no content type", func() *gqlResponse { return b.postRaw(t, "", []byte(`{"query":"{ server { name } }"}`)) }, 415, "BAD_USER_INPUT", "application/json"},
		{"form post (CSRF shape)", func() *gqlResponse {
			return b.postRaw(t, "application/x-www-form-urlencoded", []byte(`query=%7Bserver%7Bname%7D%7D`))
		}, 415, "BAD_USER_INPUT", "application/json"},
		{"utf-16", func() *gqlResponse {
			return b.postRaw(t, "application/json; charset=utf-16", []byte(`{"query":"{ server { name } }"}`))
		}, 415, "BAD_USER_INPUT", "UTF-8"},
		{"introspection in production", func() *gqlResponse { return b.post(t, "{ __schema { types { name } } }", nil) }, 200, "GRAPHQL_VALIDATION_FAILED", "introspection"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := b.resolved.Load()
			r := tc.send()
			if r.status != tc.wantStatus || r.code() != tc.wantCode || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, tc.wantMsg) {
				t.Fatalf("got %d %s %q, want %d %s containing %q", r.status, r.code(), r.rawBody, tc.wantStatus, tc.wantCode, tc.wantMsg)
			}
			if string(r.Data) != "" && string(r.Data) != "null" {
				t.Fatalf("rejected request returned data %s", r.Data)
			}
			if n := b.resolved.Load() - before; n != 0 {
				t.Fatalf("%d fields were resolved for a request that must be refused before execution", n)
			}
		})
	}
	// The benign version of each passes.
	if r := b.post(t, repeatAliases(30), nil); len(r.Errors) != 0 {
		t.Fatalf("30 aliases refused: %s", r.rawBody)
	}
	if r := b.get(t, "{ server { name } }"); len(r.Errors) != 0 || r.status != 200 {
		t.Fatalf("GET query refused: %d %s", r.status, r.rawBody)
	}
}

func TestSuggestionsAndIntrospectionFollowMode(t *testing.T) {
	t.Parallel()
	prod := setup(t, setupOpts{})
	dev := setup(t, setupOpts{dev: true})
	r := prod.post(t, "{ servr { name } }", nil)
	if r.code() != "GRAPHQL_VALIDATION_FAILED" || strings.Contains(r.rawBody, "Did you mean") {
		t.Fatalf("production answer suggests fields: %s", r.rawBody)
	}
	r = dev.post(t, "{ servr { name } }", nil)
	if !strings.Contains(r.rawBody, "Did you mean") {
		t.Fatalf("dev answer has no suggestion: %s", r.rawBody)
	}
	if r := dev.post(t, "{ __schema { queryType { name } } }", nil); len(r.Errors) != 0 {
		t.Fatalf("introspection refused in dev mode: %s", r.rawBody)
	}
}

// A resolver panic becomes INTERNAL with the request id; nothing of the panic
// or a stack reaches the client.
func TestResolverPanicIsInternalWithRequestID(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{field: func(ctx context.Context, next graphql.Resolver) (any, error) {
		if graphql.GetFieldContext(ctx).Field.Name == "server" {
			panic("secret detail from deep inside")
		}
		return next(ctx)
	}})
	r := b.post(t, "{ server { name } }", nil)
	if r.code() != "INTERNAL" {
		t.Fatalf("code %q, want INTERNAL: %s", r.code(), r.rawBody)
	}
	id := r.header.Get("X-Request-Id")
	if id == "" || r.Errors[0].Extensions["requestId"] != id || !strings.Contains(r.Errors[0].Message, id) {
		t.Fatalf("request id %q not in error %s", id, r.rawBody)
	}
	for _, leak := range []string{"secret detail", "goroutine", ".go:"} {
		if strings.Contains(r.rawBody, leak) {
			t.Fatalf("response leaks %q: %s", leak, r.rawBody)
		}
	}
}

func TestHandlerPanicIsInternal500(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	h := b.server.requestID(b.server.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("handler secret")
	})))
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, httptestRequest())
	if rec.code != 500 || !strings.Contains(rec.body.String(), `"INTERNAL"`) || strings.Contains(rec.body.String(), "handler secret") {
		t.Fatalf("got %d %s", rec.code, rec.body.String())
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	var body readiness
	code := getJSON(t, b.url+"/readyz", &body)
	if code != 200 || body.Checks["database"] != "ok" || body.Checks["migrations"] != "ok" || body.Checks["jobs"] != "ok" {
		t.Fatalf("readyz %d %+v", code, body)
	}
	if code := getJSON(t, b.url+"/healthz", &map[string]string{}); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	// The database goes away: 503, naming it.
	b.db.SQL.Close()
	body = readiness{}
	code = getJSON(t, b.url+"/readyz", &body)
	if code != 503 || len(body.Failing) == 0 || body.Failing[0] != "database" {
		t.Fatalf("readyz with the database closed: %d %+v", code, body)
	}
}

func TestMetricsExposeHTTPGraphQLPoolAndJobs(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	b.post(t, "{ server { name } }", nil)
	b.post(t, repeatAliases(40), nil)
	resp, err := http.Get(b.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`vigil_http_requests_total{code="200",method="POST",route="graphql"}`,
		`vigil_graphql_operations_total{operation="server",outcome="ok",type="query"} 1`,
		`vigil_graphql_rejected_total{reason="aliases"} 1`,
		`go_sql_open_connections{db_name="vigil"}`,
		`vigil_http_request_duration_seconds_bucket`,
		`go_goroutines`,
		`vigil_jobs_worked_total{kind="vigil.maintenance",outcome="ok"} 0`,
	} {
		if !strings.Contains(string(text), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Shutdown lets a request in flight finish, then Run returns cleanly.
func TestGracefulShutdownDrainsInFlight(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	b := setup(t, setupOpts{field: func(ctx context.Context, next graphql.Resolver) (any, error) {
		if graphql.GetFieldContext(ctx).Field.Name == "server" {
			close(entered)
			<-release
		}
		return next(ctx)
	}})
	result := make(chan *gqlResponse, 1)
	go func() { result <- b.post(t, "{ server { name } }", nil) }()
	<-entered
	b.cancel()
	// New connections are refused while the old request drains.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(b.url, "http://"), 100*time.Millisecond)
		if err != nil {
			break
		}
		// An idle new connection would hold Shutdown for 5 s.
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	r := <-result
	if r.status != 200 || len(r.Errors) != 0 {
		t.Fatalf("in-flight request failed during shutdown: %d %s", r.status, r.rawBody)
	}
	if err := <-b.done; err != nil {
		t.Fatalf("Run returned %v", err)
	}
	b.done <- nil // for the cleanup
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	for _, path := range []string{"/", "/healthz", "/graphql?query=%7B__typename%7D", "/nope"} {
		resp, err := http.Get(b.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if resp.Header.Get(h) != want {
				t.Errorf("%s: %s = %q", path, h, resp.Header.Get(h))
			}
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: CSP %q, request id %q", path, resp.Header.Get("Content-Security-Policy"), resp.Header.Get("X-Request-Id"))
		}
	}
}

var _ = caller.System

// identity builds the real sign-in, policy and rate-limit stack for tests.
func identity(t testing.TB, db *database.DB) (*auth.Service, graph.Authorizer, ratelimit.Limiter) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := auth.NewIssuer([]auth.SigningKey{{ID: "test", Private: priv}}, auth.IssuerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	limiter := ratelimit.NewMemory(10_000)
	svc, err := auth.NewService(db, iss, auth.Options{
		Password: password.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		SignUp:   true,
		Throttle: ratelimit.NewLoginThrottle(limiter, ratelimit.DefaultLoginPerAccount, ratelimit.DefaultLoginPerIP),
	})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := authz.New(context.Background(), db, authz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, graph.Policies(pol), limiter
}

// testWriter sends server logs to the test's log, shown only on failure.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
