package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/dbtest"
)

// Set by TestMain.
var (
	vigilBin string // the binary under test
	repoRoot string // the module root, where go.mod is
)

const (
	startTimeout    = 30 * time.Second // banner printed and /readyz 200
	stopTimeout     = 30 * time.Second // SIGTERM to exit (the default shutdown timeout is 20 s)
	commandTimeout  = 60 * time.Second // one CLI command
	requestTimeout  = 10 * time.Second // one HTTP request
	pollInterval    = 25 * time.Millisecond
	bannerURLPrefix = "GraphQL API"
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the go command is needed to build vigil:", err)
		return 1
	}
	// A test runs in its package directory, so `go env GOMOD` names this
	// module's go.mod wherever the repository is checked out.
	out, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		fmt.Fprintf(os.Stderr, "e2e: cannot find the module root (go env GOMOD: %q, %v)\n", out, err)
		return 1
	}
	repoRoot = filepath.Dir(strings.TrimSpace(string(out)))

	dir, err := os.MkdirTemp("", "vigil-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	vigilBin = filepath.Join(dir, "vigil")
	build := exec.Command(goTool, "build", "-o", vigilBin, "github.com/vigilhq/vigil/cmd/vigil")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build ./cmd/vigil failed:", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "e2e: built %s in %s\n", vigilBin, time.Since(start).Round(time.Millisecond))
	}
	return m.Run()
}

// eachDB runs fn as the parallel subtests "sqlite" (no database
// configuration: the embedded default) and "postgres" (VIGIL_DATABASE_URL
// naming a fresh, migrated database of its own), with the environment to give
// vigil.
func eachDB(t *testing.T, fn func(t *testing.T, env map[string]string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, map[string]string{})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, postgresEnv(t))
	})
}

// postgresEnv gives vigil a fresh migrated PostgreSQL database, dropped when t
// ends; dbtest skips (or, under CI, fails) t when PostgreSQL is absent.
func postgresEnv(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{"VIGIL_DATABASE_URL": dbtest.PostgresURL(t)}
}

// environ is the child's environment: this process's, without any VIGIL_*
// setting of the developer's shell (so "sqlite" really is the default), plus
// env.
func environ(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VIGIL_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// result is what a finished vigil command left behind.
type result struct {
	Stdout, Stderr string
	Code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s\n--- stderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// runVigil runs one vigil command to completion with env, in a scratch
// working directory, feeding it stdin.
func runVigil(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, vigilBin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = environ(env)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		t.Fatalf("vigil %s did not finish within %s\n%s", strings.Join(args, " "), commandTimeout, res)
	case errors.As(err, &exit):
		res.Code = exit.ExitCode()
	default:
		t.Fatalf("run vigil %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// instance is a running `vigil serve`.
type instance struct {
	URL     string // http://127.0.0.1:port, without a trailing slash
	DataDir string

	cmd            *exec.Cmd
	stdout, stderr *output
	exited         chan struct{} // closed when the process has exited
	waitErr        error         // valid once exited is closed
}

var bannerRE = regexp.MustCompile(bannerURLPrefix + `\s+(http://\S+)/graphql`)

// startVigil runs `vigil serve --listen 127.0.0.1:0 --data-dir <fresh> args…`
// with env, reads the address it chose from its banner on stderr and waits
// until /readyz answers 200. When t ends it sends SIGTERM and requires a
// graceful exit with status 0; stdout (JSON logs) and stderr are logged if t
// failed.
func startVigil(t *testing.T, env map[string]string, args ...string) *instance {
	t.Helper()
	inst := &instance{
		DataDir: filepath.Join(t.TempDir(), "data"),
		stdout:  newOutput(),
		stderr:  newOutput(),
		exited:  make(chan struct{}),
	}
	argv := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", inst.DataDir}, args...)
	inst.cmd = exec.Command(vigilBin, argv...)
	inst.cmd.Dir = t.TempDir()
	inst.cmd.Env = environ(env)
	inst.cmd.Stdout, inst.cmd.Stderr = inst.stdout, inst.stderr
	if err := inst.cmd.Start(); err != nil {
		t.Fatalf("start vigil: %v", err)
	}
	go func() {
		inst.waitErr = inst.cmd.Wait()
		close(inst.exited)
	}()
	t.Cleanup(func() { inst.stop(t) })

	deadline := time.Now().Add(startTimeout)
	banner, ok := inst.stderr.waitFor(bannerRE, deadline, inst.exited)
	if !ok {
		t.Fatalf("vigil serve printed no %q line on stderr within %s (exited: %v)", bannerURLPrefix, startTimeout, inst.hasExited())
	}
	inst.URL = banner[1]
	inst.waitReady(t, deadline)
	return inst
}

func (inst *instance) hasExited() bool {
	select {
	case <-inst.exited:
		return true
	default:
		return false
	}
}

// waitReady polls /readyz until it answers 200.
func (inst *instance) waitReady(t *testing.T, deadline time.Time) {
	t.Helper()
	var last string
	ready := inst.poll(deadline, func() bool {
		res, err := httpClient.Get(inst.URL + "/readyz")
		if err != nil {
			last = err.Error()
			return false
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		last = fmt.Sprintf("%d %s", res.StatusCode, body)
		return res.StatusCode == http.StatusOK
	})
	switch {
	case ready:
	case inst.hasExited():
		t.Fatalf("vigil serve exited before it was ready: %v", inst.waitErr)
	default:
		t.Fatalf("vigil serve not ready within %s; last /readyz: %s", startTimeout, last)
	}
}

// poll calls cond every pollInterval until it returns true (poll returns
// true), the deadline passes or the process exits (poll returns false).
func (inst *instance) poll(deadline time.Time, cond func() bool) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-tick.C:
		case <-timer.C:
			return false
		case <-inst.exited:
			return false
		}
	}
}

// stop sends SIGTERM and requires a graceful exit with status 0.
func (inst *instance) stop(t *testing.T) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Logf("vigil serve stdout (JSON logs):\n%s", inst.stdout.String())
			t.Logf("vigil serve stderr:\n%s", inst.stderr.String())
		}
	}()
	if !inst.hasExited() {
		if err := inst.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("send SIGTERM to vigil: %v", err)
		}
	}
	select {
	case <-inst.exited:
	case <-time.After(stopTimeout):
		_ = inst.cmd.Process.Kill()
		<-inst.exited
		t.Errorf("vigil serve did not exit within %s of SIGTERM; killed it", stopTimeout)
		return
	}
	if inst.waitErr != nil {
		t.Errorf("vigil serve did not shut down cleanly after SIGTERM: %v", inst.waitErr)
	}
}

var httpClient = &http.Client{Timeout: requestTimeout}

// response is a fully read HTTP response.
type response struct {
	*http.Response
	Body []byte
}

// do sends req and reads the whole response; every response Vigil sends must
// carry an X-Request-Id.
func do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	if res.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s %s: response has no X-Request-Id header", req.Method, req.URL.Path)
	}
	return response{Response: res, Body: body}
}

func get(t *testing.T, url string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func postJSON(t *testing.T, url string, v any) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

// decodeJSON decodes r's body into v, or fails t showing the body.
func decodeJSON(t *testing.T, r response, v any) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", r.Request.URL.Path, ct)
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("%s: body is not the expected JSON (%v): %s", r.Request.URL.Path, err, r.Body)
	}
}

// output collects a child's output stream and lets tests wait for a pattern
// in it without sleeping.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor returns the first match of re (with submatches) once it appears,
// or false at deadline or, after one last look, when stop is closed.
func (o *output) waitFor(re *regexp.Regexp, deadline time.Time, stop <-chan struct{}) ([]string, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		o.mu.Lock()
		m := re.FindStringSubmatch(o.buf.String())
		changed := o.changed
		o.mu.Unlock()
		if m != nil {
			return m, true
		}
		select {
		case <-changed:
		case <-stop:
			// The process has exited and its output is complete, unless
			// the copying goroutine is still flushing the last bytes:
			// cmd.Wait returns only after copying, so one more look suffices.
			o.mu.Lock()
			m := re.FindStringSubmatch(o.buf.String())
			o.mu.Unlock()
			return m, m != nil
		case <-timer.C:
			return nil, false
		}
	}
}
