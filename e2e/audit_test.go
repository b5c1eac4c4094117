package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGraphQLOverHTTPAudit runs the graphql-http package's server audits (the
// GraphQL over HTTP specification's conformance checks) against /graphql:
// every MUST has to pass; SHOULDs (warn) and MAYs (notice) that fail are
// logged.
//
// Introspection is switched on for this test: the audits' only query with an
// argument is `__type(name: $name)`, so with introspection off (the
// production default) audit 28B9, "MUST allow map {variables} parameter",
// fails on the disabled introspection rather than on anything HTTP.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		missingNodeTool(t, "node is not on PATH")
	}
	e2eDir := filepath.Join(repoRoot, "e2e")
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "graphql-http", "package.json")); err != nil {
		missingNodeTool(t, "e2e/node_modules lacks graphql-http")
	}

	eachDB(t, func(t *testing.T, env map[string]string) {
		v := startVigil(t, env, "--graphql-introspection", "on")

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, filepath.Join(e2eDir, "graphql_http_audit.mjs"), v.URL+"/graphql")
		cmd.Dir = e2eDir
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("run the audit: %v\n%s", err, stderr.String())
		}

		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		var sum struct{ OK, Notice, Warn, Error *int }
		if len(lines) == 0 || json.Unmarshal([]byte(lines[len(lines)-1]), &sum) != nil || sum.OK == nil || sum.Warn == nil || sum.Error == nil {
			t.Fatalf("the audit printed no summary line (exit %v)\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
		}
		for _, line := range lines[:len(lines)-1] {
			switch status, _, _ := strings.Cut(line, " "); status {
			case "ok":
			case "error":
				t.Errorf("GraphQL over HTTP: %s", line)
			default:
				t.Logf("GraphQL over HTTP: %s", line)
			}
		}
		notice := 0
		if sum.Notice != nil {
			notice = *sum.Notice
		}
		t.Logf("GraphQL over HTTP audit: %d ok, %d warn (SHOULD), %d notice (MAY), %d error (MUST)", *sum.OK, *sum.Warn, notice, *sum.Error)
		if *sum.Error > 0 && !t.Failed() {
			t.Errorf("the audit counted %d MUST failures", *sum.Error)
		}
		if (err == nil) != (*sum.Error == 0) {
			t.Errorf("the audit exited with %v but counted %d errors", err, *sum.Error)
		}
		if stderr.Len() > 0 {
			t.Logf("audit stderr:\n%s", stderr.String())
		}
	})
}

// missingNodeTool fails t in CI and skips it, loudly, elsewhere.
func missingNodeTool(t *testing.T, why string) {
	t.Helper()
	msg := "\n*** " + t.Name() + " DID NOT RUN: " + why +
		".\n*** Install Node.js and run `make test` (which installs them), or `cd e2e && npm ci` yourself."
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
