package e2e_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A served instance answers health, readiness, GraphQL (POST and GET), the
// portal and metrics, with a request id on every response and a JSON access
// log line on stdout that carries the same id.
func TestServeAnswers(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, env map[string]string) {
		v := startVigil(t, env)

		t.Run("healthz", func(t *testing.T) {
			r := get(t, v.URL+"/healthz")
			if r.StatusCode != http.StatusOK {
				t.Fatalf("GET /healthz: %d %s", r.StatusCode, r.Body)
			}
			var body map[string]any
			decodeJSON(t, r, &body)
			if len(body) != 1 || body["status"] != "ok" {
				t.Errorf(`GET /healthz body %s, want {"status":"ok"}`, r.Body)
			}
		})

		t.Run("readyz", func(t *testing.T) {
			r := get(t, v.URL+"/readyz")
			if r.StatusCode != http.StatusOK {
				t.Fatalf("GET /readyz: %d %s", r.StatusCode, r.Body)
			}
			var body struct {
				Status  string            `json:"status"`
				Failing []string          `json:"failing"`
				Checks  map[string]string `json:"checks"`
			}
			decodeJSON(t, r, &body)
			if body.Status != "ok" || len(body.Failing) != 0 {
				t.Errorf("GET /readyz body %s, want status ok and nothing failing", r.Body)
			}
			for _, check := range []string{"database", "migrations", "jobs"} {
				if body.Checks[check] != "ok" {
					t.Errorf("GET /readyz check %q = %q, want ok (body %s)", check, body.Checks[check], r.Body)
				}
			}
		})

		t.Run("graphql", func(t *testing.T) {
			const want = `{"data":{"__typename":"Query"}}`
			post := postJSON(t, v.URL+"/graphql", map[string]any{"query": "{ __typename }"})
			if post.StatusCode != http.StatusOK || strings.TrimSpace(string(post.Body)) != want {
				t.Errorf("POST /graphql { __typename }: %d %s, want 200 %s", post.StatusCode, post.Body, want)
			}
			gr := get(t, v.URL+"/graphql?query="+url.QueryEscape("{ __typename }"))
			if gr.StatusCode != http.StatusOK || strings.TrimSpace(string(gr.Body)) != want {
				t.Errorf("GET /graphql?query={ __typename }: %d %s, want 200 %s", gr.StatusCode, gr.Body, want)
			}
		})

		t.Run("portal", func(t *testing.T) {
			r := get(t, v.URL+"/")
			if r.StatusCode != http.StatusOK {
				t.Fatalf("GET /: %d", r.StatusCode)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("GET /: Content-Type %q, want text/html", ct)
			}
			if !strings.Contains(string(r.Body), "Vigil") {
				t.Errorf("GET /: page does not mention Vigil:\n%s", r.Body)
			}
		})

		t.Run("metrics", func(t *testing.T) {
			// startVigil polled /readyz, and the subtests above made
			// requests, so the HTTP counters have series by now.
			r := get(t, v.URL+"/metrics")
			if r.StatusCode != http.StatusOK {
				t.Fatalf("GET /metrics: %d %s", r.StatusCode, r.Body)
			}
			body := string(r.Body)
			for _, want := range []string{
				`vigil_http_requests_total{code="200",method="GET",route="readyz"}`,
				`vigil_http_request_duration_seconds_bucket{method="POST",route="graphql",`,
				"\ngo_goroutines ",
				"\nprocess_start_time_seconds ",
				// observe.RegisterDB: prometheus' DBStatsCollector, labelled
				// with the pool's name.
				`go_sql_open_connections{db_name="vigil"}`,
				`go_sql_max_open_connections{db_name="vigil"}`,
				`go_sql_wait_count_total{db_name="vigil"}`,
				// River job metrics: every registered kind is exported
				// from the start.
				`vigil_jobs_worked_total{kind="vigil.maintenance",outcome="ok"}`,
				`vigil_jobs_duration_seconds_count{kind="vigil.maintenance"}`,
				// GraphQL operation metrics.
				`vigil_graphql_operations_total{operation="__typename",outcome="ok",type="query"}`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("GET /metrics lacks %q", want)
				}
			}
			if t.Failed() {
				t.Logf("GET /metrics:\n%s", body)
			}
		})

		t.Run("request id", func(t *testing.T) {
			const id = "e2e-request-id.42"
			req, err := http.NewRequest(http.MethodGet, v.URL+"/healthz", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Request-Id", id)
			if got := do(t, req).Header.Get("X-Request-Id"); got != id {
				t.Errorf("X-Request-Id %q sent, %q echoed", id, got)
			}
			// The JSON access log on stdout names it too.
			logLine := regexp.MustCompile(`(?m)^\{.*"msg":"http request".*"path":"/healthz".*"request_id":"` + regexp.QuoteMeta(id) + `".*\}$`)
			if _, ok := v.stdout.waitFor(logLine, time.Now().Add(5*time.Second), v.exited); !ok {
				t.Errorf("no JSON access log line for request %s on stdout:\n%s", id, v.stdout.String())
			}
		})
	})
}

// A configuration mistake stops vigil before it opens anything, with a
// message that names the variable and the fix.
func TestBadConfigNamesVariable(t *testing.T) {
	t.Parallel()
	res := runVigil(t, map[string]string{"VIGIL_DATABASE_URL": "mysql://x"}, "", "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	if res.Code == 0 {
		t.Fatalf("vigil serve with VIGIL_DATABASE_URL=mysql://x succeeded\n%s", res)
	}
	for _, want := range []string{"VIGIL_DATABASE_URL", "postgres://"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr does not mention %q\n%s", want, res)
		}
	}
}

// When its PostgreSQL database disappears, a running vigil reports itself
// unready, naming the database check, and still shuts down cleanly.
func TestReadyzFailsWhenDatabaseGone(t *testing.T) {
	t.Parallel()
	env := postgresEnv(t)
	v := startVigil(t, env)

	dropDatabase(t, env["VIGIL_DATABASE_URL"])

	// Poll rather than ask once: whether the very first check after the
	// drop fails is up to the connection pool.
	var r response
	v.poll(time.Now().Add(15*time.Second), func() bool {
		r = get(t, v.URL+"/readyz")
		return r.StatusCode != http.StatusOK
	})
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("GET /readyz after the database was dropped: %d %s, want 503", r.StatusCode, r.Body)
	}
	var body struct {
		Status  string            `json:"status"`
		Failing []string          `json:"failing"`
		Checks  map[string]string `json:"checks"`
	}
	decodeJSON(t, r, &body)
	if body.Status == "ok" || !slices.Contains(body.Failing, "database") {
		t.Errorf("GET /readyz body %s, want a failing list naming database", r.Body)
	}
	t.Logf("GET /readyz: %d %s", r.StatusCode, r.Body)
}

// dropDatabase terminates every connection to the database dbURL names and
// drops it, through an admin connection to the same server.
func dropDatabase(t *testing.T, dbURL string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Fatalf("connect to the postgres database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatalf("drop database %s: %v", name, err)
	}
}
