package gqlguard_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/gqlguard"
)

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// post sends a GraphQL request the way a browser client would.
func (f *fixture) post(t *testing.T, accept, query string, vars map[string]any) (int, gqlResponse) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatalf("marshal request: %v", err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer res.Body.Close()
	var out gqlResponse
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("decode response (status %d): %v", res.StatusCode, err)
	}
	return res.StatusCode, out
}

// nest wraps inner in n levels of field.
func nest(field string, n int, inner string) string {
	return strings.Repeat(field+" { ", n) + inner + strings.Repeat(" }", n)
}

// aliased returns n aliased copies of sel, a0: sel a1: sel ...
func aliased(n int, sel string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("a%d: %s", i, sel)
	}
	return strings.Join(parts, " ")
}

// fragmentBomb builds fragments F1..Fn where each spreads the previous one
// twice, so F0's two aliases appear 2^(n+1) times once expanded.
func fragmentBomb(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { node(id: \"1\") { ...F%d } }\n", n)
	b.WriteString("fragment F0 on Item { x: id y: name }\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on Item { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

// connectionBomb nests n connections of first: size (a literal or variable).
func connectionBomb(n int, size string) string {
	q := "id"
	for i := range n {
		field := "related"
		if i == n-1 {
			field = "itemsConnection"
		}
		q = fmt.Sprintf("%s(first: %s) { edges { node { %s } } }", field, size, q)
	}
	return "{ " + q + " }"
}

const introspectionChain = "__schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } } }"

func TestGuardRejectsHostileQueries(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		query   string
		vars    map[string]any
		code    string
		message string
		reason  string
	}{
		{
			name:    "deep nesting",
			query:   "{ items { " + nest("parent", 12, "id") + " } }",
			code:    "GRAPHQL_VALIDATION_FAILED",
			message: "query depth 14 exceeds the limit of 12",
			reason:  gqlguard.ReasonDepth,
		},
		{
			name:    "deep nesting through fragments",
			query:   "{ node(id: \"1\") { ...P } } fragment P on Item { " + nest("parent", 6, "...Q") + " } fragment Q on Item { " + nest("parent", 6, "id") + " }",
			code:    "GRAPHQL_VALIDATION_FAILED",
			message: "query depth 14 exceeds the limit of 12",
			reason:  gqlguard.ReasonDepth,
		},
		{
			name:    "31 aliases",
			query:   "{ " + aliased(31, `node(id: "1") { id }`) + " }",
			code:    "GRAPHQL_VALIDATION_FAILED",
			message: "operation uses 31 aliases, more than the limit of 30",
			reason:  gqlguard.ReasonAliases,
		},
		{
			name:    "31 aliased __typename",
			query:   "{ " + aliased(31, "__typename") + " }",
			code:    "GRAPHQL_VALIDATION_FAILED",
			message: "operation uses 31 aliases, more than the limit of 30",
			reason:  gqlguard.ReasonAliases,
		},
		{
			name:    "fragment with aliases spread 8 times",
			query:   `{ node(id: "1") { ...F ...F ...F ...F ...F ...F ...F ...F } } fragment F on Item { a: id b: name c: id d: name }`,
			code:    "GRAPHQL_VALIDATION_FAILED",
			message: "operation uses 32 aliases, more than the limit of 30",
			reason:  gqlguard.ReasonAliases,
		},
		{
			// 2^41 aliases: the count saturates and the memoised walk stays fast.
			name:    "exponential fragment spreads",
			query:   fragmentBomb(40),
			code:    "GRAPHQL_VALIDATION_FAILED",
			message: "operation uses 2147483647 aliases, more than the limit of 30",
			reason:  gqlguard.ReasonAliases,
		},
		{
			name:    "aliases inside introspection",
			query:   "{ __schema { " + aliased(31, "types { name }") + " } }",
			code:    "GRAPHQL_VALIDATION_FAILED",
			message: "operation uses 31 aliases, more than the limit of 30",
			reason:  gqlguard.ReasonAliases,
		},
		{
			name:    "huge first",
			query:   "{ itemsConnection(first: 500) { edges { node { id } } } }",
			code:    "BAD_USER_INPUT",
			message: "first must be between 0 and 100, got 500",
			reason:  gqlguard.ReasonPageSize,
		},
		{
			name:    "negative last",
			query:   "{ itemsConnection(last: -1) { edges { node { id } } } }",
			code:    "BAD_USER_INPUT",
			message: "last must be between 0 and 100, got -1",
			reason:  gqlguard.ReasonPageSize,
		},
		{
			name:    "huge first in a variable on a nested connection",
			query:   `query($n: Int) { node(id: "1") { related(first: $n) { totalCount } } }`,
			vars:    map[string]any{"n": 1_000_000},
			code:    "BAD_USER_INPUT",
			message: "first must be between 0 and 100, got 1000000",
			reason:  gqlguard.ReasonPageSize,
		},
		{
			// 1 + 100*(1 + 1 + 1 + 100*(3 + 100*3)) for three nested pages of 100.
			name:    "nested connections of 100",
			query:   connectionBomb(3, "100"),
			code:    "GRAPHQL_VALIDATION_FAILED",
			message: "query complexity 3030301 exceeds the limit of 5000; ask for smaller pages",
			reason:  gqlguard.ReasonComplexity,
		},
		{
			name:    "nested connections sized by a variable",
			query:   "query($n: Int) " + connectionBomb(2, "$n"),
			vars:    map[string]any{"n": 100},
			code:    "GRAPHQL_VALIDATION_FAILED",
			message: "query complexity 30301 exceeds the limit of 5000; ask for smaller pages",
			reason:  gqlguard.ReasonComplexity,
		},
		{
			// No first: DefaultPageSize (20) per connection, 20^3 rows.
			name:    "nested connections without first",
			query:   strings.ReplaceAll(connectionBomb(3, "X"), "(first: X)", ""),
			code:    "GRAPHQL_VALIDATION_FAILED",
			message: "query complexity 25261 exceeds the limit of 5000; ask for smaller pages",
			reason:  gqlguard.ReasonComplexity,
		},
		{
			// Plain lists multiply by ListMultiplier (10): 10^4 leaves.
			name:    "nested plain lists",
			query:   "{ items { " + nest("children", 3, "id") + " } }",
			code:    "GRAPHQL_VALIDATION_FAILED",
			message: "query complexity 11111 exceeds the limit of 5000; ask for smaller pages",
			reason:  gqlguard.ReasonComplexity,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)

			_, res := f.post(t, "application/json", tt.query, tt.vars)

			if len(res.Errors) != 1 {
				t.Fatalf("want exactly one error, got %+v", res.Errors)
			}
			if got := res.Errors[0].Message; got != tt.message {
				t.Errorf("message = %q, want %q", got, tt.message)
			}
			if got := res.Errors[0].Extensions["code"]; got != tt.code {
				t.Errorf("extensions.code = %v, want %s", got, tt.code)
			}
			if string(res.Data) != "" && string(res.Data) != "null" {
				t.Errorf("data = %s, want null", res.Data)
			}
			if n := f.api.calls.Load(); n != 0 {
				t.Errorf("%d resolver calls, want 0", n)
			}
			if got := f.rejectReasons(); !slices.Equal(got, []string{tt.reason}) {
				t.Errorf("onReject reasons = %v, want [%s]", got, tt.reason)
			}
		})
	}
}

// TestGuardRejectionStatus documents the HTTP status gqlgen's POST transport
// picks for a rejection. It derives it from errors[0].extensions.code:
// GRAPHQL_VALIDATION_FAILED is registered as a protocol error, BAD_USER_INPUT
// is not and is served like any other GraphQL error.
func TestGuardRejectionStatus(t *testing.T) {
	t.Parallel()

	deep := "{ items { " + nest("parent", 12, "id") + " } }"
	bigPage := "{ itemsConnection(first: 500) { totalCount } }"
	tests := []struct {
		name   string
		accept string
		query  string
		status int
	}{
		{"limit exceeded, application/json", "application/json", deep, http.StatusUnprocessableEntity},
		{"limit exceeded, graphql-response+json", "application/graphql-response+json", deep, http.StatusBadRequest},
		{"page size, application/json", "application/json", bigPage, http.StatusOK},
		{"page size, graphql-response+json", "application/graphql-response+json", bigPage, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)

			status, res := f.post(t, tt.accept, tt.query, nil)

			if status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
			if len(res.Errors) != 1 {
				t.Errorf("want one error, got %+v", res.Errors)
			}
		})
	}
}

func TestGuardAllowsBenignQueries(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{
			name:  "typical page",
			query: "{ items { id name } itemsConnection(first: 5) { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } totalCount } }",
		},
		{
			name:  "nested connections sized by a small variable",
			query: "query($n: Int) " + connectionBomb(2, "$n"),
			vars:  map[string]any{"n": 10},
		},
		{
			name:  "depth exactly at the limit",
			query: "{ items { " + nest("parent", 10, "id") + " } }",
		},
		{
			name:  "30 aliases",
			query: "{ " + aliased(30, `node(id: "1") { id }`) + " }",
		},
		{
			// Introspection nests deeper than MaxDepth but is not costed.
			name:  "deep introspection",
			query: "{ " + introspectionChain + " items { __typename id } }",
		},
		{
			name:  "first at the maximum",
			query: "{ itemsConnection(first: 100) { totalCount } }",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)

			status, res := f.post(t, "application/json", tt.query, tt.vars)

			if status != http.StatusOK || len(res.Errors) != 0 {
				t.Fatalf("status %d, errors %+v; want 200 and none", status, res.Errors)
			}
			if f.api.calls.Load() == 0 {
				t.Error("no resolver ran")
			}
			if got := f.rejectReasons(); len(got) != 0 {
				t.Errorf("onReject called with %v", got)
			}
		})
	}
}

func TestPageSizeDefaultsFirst(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		query      string
		wantFirsts []int // first as each connection resolver saw it; -1 for nil
		wantEdges  int   // edges returned by the outer connection
	}{
		{
			name:       "no first or last",
			query:      "{ itemsConnection { edges { node { id } } } }",
			wantFirsts: []int{testLimits.DefaultPageSize},
			wantEdges:  testLimits.DefaultPageSize,
		},
		{
			name:       "explicit null first",
			query:      "{ itemsConnection(first: null) { edges { node { id } } } }",
			wantFirsts: []int{testLimits.DefaultPageSize},
			wantEdges:  testLimits.DefaultPageSize,
		},
		{
			name:       "explicit first",
			query:      "{ itemsConnection(first: 3) { edges { node { id } } } }",
			wantFirsts: []int{3},
			wantEdges:  3,
		},
		{
			name:       "last only is left alone",
			query:      "{ itemsConnection(last: 4) { edges { node { id } } } }",
			wantFirsts: []int{-1},
			wantEdges:  4,
		},
		{
			name:       "nested connection",
			query:      "{ itemsConnection(first: 1) { edges { node { related { totalCount } } } } }",
			wantFirsts: []int{1, testLimits.DefaultPageSize},
			wantEdges:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)

			_, res := f.post(t, "application/json", tt.query, nil)

			if len(res.Errors) != 0 {
				t.Fatalf("errors: %+v", res.Errors)
			}
			if got := f.connectionFirsts(); !slices.Equal(got, tt.wantFirsts) {
				t.Errorf("resolvers saw first = %v, want %v", got, tt.wantFirsts)
			}
			var data struct {
				ItemsConnection struct {
					Edges []json.RawMessage `json:"edges"`
				} `json:"itemsConnection"`
			}
			if err := json.Unmarshal(res.Data, &data); err != nil {
				t.Fatalf("decode data: %v", err)
			}
			if got := len(data.ItemsConnection.Edges); got != tt.wantEdges {
				t.Errorf("%d edges, want %d", got, tt.wantEdges)
			}
		})
	}
}

func TestValidateRejectsBadLimits(t *testing.T) {
	t.Parallel()

	zeroDepth := testLimits
	zeroDepth.MaxDepth = 0
	bigDefault := testLimits
	bigDefault.DefaultPageSize = testLimits.MaxPageSize + 1

	tests := []struct {
		name    string
		limits  gqlguard.Limits
		wantErr string
	}{
		{"valid", testLimits, ""},
		{"zero value", gqlguard.Limits{}, "MaxDepth must be positive, got 0"},
		{"zero depth", zeroDepth, "MaxDepth must be positive, got 0"},
		{"default above max", bigDefault, "DefaultPageSize 101 exceeds MaxPageSize 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := gqlguard.New(tt.limits, nil).Validate(nil)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// A nil onReject is allowed: rejection still works without a metric.
func TestNilOnReject(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, false)

	status, res := f.post(t, "application/json", "{ "+aliased(31, "__typename")+" }", nil)

	if status != http.StatusUnprocessableEntity || len(res.Errors) != 1 {
		t.Fatalf("status %d, errors %+v; want 422 and one error", status, res.Errors)
	}
}
