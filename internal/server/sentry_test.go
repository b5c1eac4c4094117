package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/riverqueue/river"

	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/observe"
	"github.com/vigilhq/vigil/jobs"
)

// sentrySink is a local HTTP server that speaks Sentry's envelope endpoint
// and keeps what it receives.
type sentrySink struct {
	mu     sync.Mutex
	bodies []string
	got    chan struct{}
}

func newSentrySink(t *testing.T) (*sentrySink, string) {
	s := &sentrySink{got: make(chan struct{}, 64)}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/42/") {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(b))
		s.mu.Unlock()
		s.got <- struct{}{}
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"id":"0"}`))
	}))
	t.Cleanup(ts.Close)
	return s, strings.Replace(ts.URL, "http://", "http://publickey@", 1) + "/42"
}

// waitFor waits until an event containing every string in want has arrived.
func (s *sentrySink) waitFor(t *testing.T, want ...string) string {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		s.mu.Lock()
		for _, b := range s.bodies {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(b, w)
			}
			if ok {
				s.mu.Unlock()
				return b
			}
		}
		s.mu.Unlock()
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("no Sentry event containing %q arrived", want)
		}
	}
}

type panicArgs struct{}

func (panicArgs) Kind() string { return "test.panic" }

type panicWorker struct {
	river.WorkerDefaults[panicArgs]
}

func (panicWorker) Work(context.Context, *river.Job[panicArgs]) error { panic("job went wrong") }

// With VIGIL_SENTRY_DSN set, panics in HTTP handlers, resolvers and jobs all
// reach Sentry, tagged with what they came from and without credentials.
func TestPanicsReachSentry(t *testing.T) {
	t.Parallel()
	sink, dsn := newSentrySink(t)
	reporter, err := observe.NewReporter(dsn, "test", "test")
	if err != nil {
		t.Fatal(err)
	}
	reg := jobs.NewRegistry()
	jobs.Register(reg, &panicWorker{})
	b := setup(t, setupOpts{reporter: reporter, reg: reg, field: func(ctx context.Context, next graphql.Resolver) (any, error) {
		if graphql.GetFieldContext(ctx).Field.Name == "server" {
			panic("resolver went wrong")
		}
		return next(ctx)
	}})

	// Resolver.
	req, _ := http.NewRequest(http.MethodPost, b.url+"/graphql", strings.NewReader(`{"query":"{ server { name } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer do-not-leak-me")
	r := b.do(t, req)
	ev := sink.waitFor(t, "resolver went wrong", r.header.Get("X-Request-Id"), "graphql_field")
	if strings.Contains(ev, "do-not-leak-me") {
		t.Fatal("Sentry event carries the Authorization header")
	}

	// HTTP handler.
	h := b.server.requestID(b.server.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("handler went wrong")
	})))
	h.ServeHTTP(&recorder{header: http.Header{}}, httptestRequest())
	sink.waitFor(t, "handler went wrong", `"path":"/boom"`)

	// Job.
	ctx := caller.With(context.Background(), caller.System("test"))
	if _, err := b.server.deps.Jobs.Insert(ctx, panicArgs{}, &river.InsertOpts{MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	sink.waitFor(t, "job went wrong", "test.panic")
}
