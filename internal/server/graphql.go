package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/vigilhq/vigil/graph"
	"github.com/vigilhq/vigil/graph/generated"
	"github.com/vigilhq/vigil/graph/model"
	"github.com/vigilhq/vigil/internal/auth"
	"github.com/vigilhq/vigil/internal/config"
	"github.com/vigilhq/vigil/internal/gqlguard"
	"github.com/vigilhq/vigil/internal/wsgorilla"
)

// GraphQL is the /graphql endpoint: a gate that enforces the HTTP-level
// limits (method, media type, body size, no batching, no mutation over GET),
// in front of gqlgen with the document limits (tokens, depth, aliases,
// complexity, page size), introspection and suggestions per mode, and
// Vigil's error presenter.
type GraphQL struct {
	Exec       *handler.Server
	limits     config.GraphQLLimits
	playground http.Handler
	dev        bool
}

func newGraphQL(d Deps, sockets *wsgorilla.Tracker) (*GraphQL, error) {
	cfg := d.Config
	res := &graph.Resolver{
		Auth:   d.Auth,
		Authz:  d.Authz,
		Client: d.DB.Ent,
		Info:   model.ServerInfo{Name: "Vigil", Version: d.Version, Database: strings.ToUpper(d.DB.Name())},
		Ingest: d.Pipeline.Ingest,
		Rules:  d.Pipeline.Rules,
		Alerts: d.Pipeline.Alerts,
		Hub:    d.Pipeline.Hub,
		OnSubscriptionEnd: func(ctx context.Context, err error) {
			endSubscription(ctx, d.Metrics, d.Logger, err)
		},
	}
	srv := handler.New(generated.NewExecutableSchema(graph.NewSchema(res)))
	srv.AddTransport(websocketTransport(d, sockets))
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(cfg.GraphQL.MaxTokens)
	srv.SetDisableSuggestion(!cfg.Dev)
	if cfg.IntrospectionEnabled() {
		srv.Use(extension.Introspection{})
	} else {
		// Refuse introspection at validation, so the request is answered like
		// any invalid document (GRAPHQL_VALIDATION_FAILED) before execution.
		srv.SetValidationRulesFn(func() *rules.Rules {
			r := rules.NewDefaultRules()
			r.AddRule("VigilNoIntrospection", noIntrospection)
			return r
		})
	}
	m := d.Metrics
	guard := gqlguard.New(gqlguard.Limits{
		MaxDepth:        cfg.GraphQL.MaxDepth,
		MaxAliases:      cfg.GraphQL.MaxAliases,
		MaxComplexity:   cfg.GraphQL.MaxComplexity,
		MaxPageSize:     cfg.GraphQL.MaxPageSize,
		DefaultPageSize: cfg.GraphQL.DefaultPageSize,
		ListMultiplier:  10,
	}, func(reason string) { m.GraphQLRejected.WithLabelValues(reason).Inc() })
	srv.Use(guard)
	srv.AroundFields(guard.PageSize())
	srv.AroundFields(res.FieldGuard)
	srv.SetErrorPresenter(graph.ErrorPresenter(cfg.Dev, d.Logger))
	srv.SetRecoverFunc(graph.RecoverFunc(func(ctx context.Context, v any) {
		d.Logger.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		d.Reporter.Panic(ctx, v, map[string]string{"graphql_field": fieldPath(ctx)})
	}))
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		resp := next(ctx)
		if !graphql.HasOperationContext(ctx) {
			return resp
		}
		rc := graphql.GetOperationContext(ctx)
		if rc.Operation == nil {
			return resp
		}
		op, typ := rootFieldName(rc.Operation), string(rc.Operation.Operation)
		outcome := "ok"
		if resp != nil && len(resp.Errors) > 0 {
			outcome = "error"
		}
		m.GraphQLOperations.WithLabelValues(op, typ, outcome).Inc()
		m.GraphQLDuration.WithLabelValues(op, typ).Observe(time.Since(rc.Stats.OperationStart).Seconds())
		return resp
	})

	g := &GraphQL{Exec: srv, limits: cfg.GraphQL, dev: cfg.Dev}
	if cfg.Dev {
		g.playground = playground.Handler("Vigil GraphiQL", "/graphql")
	}
	if d.GraphQLHook != nil {
		d.GraphQLHook(g)
	}
	return g, nil
}

// noIntrospection rejects __schema and __type (__typename stays allowed: it
// reveals nothing beyond what the client asked for).
func noIntrospection(observers *core.Events, addError core.AddErrFunc) {
	observers.OnField(func(_ *core.Walker, f *ast.Field) {
		if f.Name == "__schema" || f.Name == "__type" {
			addError(core.Message("introspection is disabled on this server (enable it with --dev or VIGIL_GRAPHQL_INTROSPECTION=on)"), core.At(f.Position))
		}
	})
}

// rootFieldName labels metrics with the first root field of the operation,
// which the schema bounds, rather than the client-chosen operation name.
func rootFieldName(op *ast.OperationDefinition) string {
	for _, sel := range op.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			return f.Name
		}
	}
	return "unknown"
}

func fieldPath(ctx context.Context) string {
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		return fc.Path().String()
	}
	return ""
}

func (g *GraphQL) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		g.servePOST(w, r)
	case http.MethodGet:
		if websocket.IsWebSocketUpgrade(r) {
			g.Exec.ServeHTTP(w, wsgorilla.WithCloser(r))
			return
		}
		if g.playground != nil && r.URL.RawQuery == "" && acceptsHTML(r) {
			g.playground.ServeHTTP(w, r)
			return
		}
		g.serveGET(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeGraphQLError(w, r, http.StatusMethodNotAllowed, "BAD_USER_INPUT", "use POST (or GET for queries)")
	}
}

func (g *GraphQL) servePOST(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		writeGraphQLError(w, r, http.StatusUnsupportedMediaType, "BAD_USER_INPUT",
			fmt.Sprintf("Content-Type must be application/json, not %q", ct))
		return
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		writeGraphQLError(w, r, http.StatusUnsupportedMediaType, "BAD_USER_INPUT",
			fmt.Sprintf("charset %q is not supported; send UTF-8", cs))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.limits.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeGraphQLError(w, r, http.StatusRequestEntityTooLarge, "BAD_USER_INPUT",
				fmt.Sprintf("request body exceeds the limit of %d bytes", g.limits.MaxBodyBytes))
			return
		}
		writeGraphQLError(w, r, http.StatusBadRequest, "BAD_USER_INPUT", "could not read the request body")
		return
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		writeGraphQLError(w, r, http.StatusBadRequest, "BAD_USER_INPUT",
			"batched requests (a JSON array) are not supported; send one operation per request")
		return
	}
	var fields map[string]json.RawMessage
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &fields) != nil {
		writeGraphQLError(w, r, http.StatusBadRequest, "BAD_USER_INPUT", "the request body is not a JSON object")
		return
	}
	if q := bytes.TrimSpace(fields["query"]); len(q) == 0 || q[0] != '"' {
		writeGraphQLError(w, r, http.StatusBadRequest, "BAD_USER_INPUT", `the request body has no "query" string`)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	g.serveExec(w, r)
}

// serveExec runs gqlgen and adjusts its answer to the GraphQL-over-HTTP
// specification: with application/json a document that fails to parse or
// validate is answered 200 (gqlgen says 422), and with
// application/graphql-response+json an error answer carries no "data" key.
func (g *GraphQL) serveExec(w http.ResponseWriter, r *http.Request) {
	ctx := auth.WithClient(r.Context(), auth.ClientOf(r))
	ctx, jar := auth.WithCookieJar(ctx, r, r.TLS != nil || !g.dev)
	buf := &bufferedResponse{header: http.Header{}}
	g.Exec.ServeHTTP(buf, r.WithContext(ctx))
	for k, v := range buf.header {
		w.Header()[k] = v
	}
	for _, c := range jar.Cookies() {
		http.SetCookie(w, c)
	}
	status, body := buf.status, buf.body.Bytes()
	if status == 0 {
		status = http.StatusOK
	}
	ct, _, _ := mime.ParseMediaType(buf.header.Get("Content-Type"))
	switch {
	case ct == "application/json" && status == http.StatusUnprocessableEntity:
		status = http.StatusOK
	case ct == "application/graphql-response+json" && status >= 400:
		var resp map[string]json.RawMessage
		if json.Unmarshal(body, &resp) == nil && string(resp["data"]) == "null" {
			delete(resp, "data")
			if b, err := json.Marshal(resp); err == nil {
				body = b
			}
		}
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// bufferedResponse holds gqlgen's answer until serveExec has adjusted it. The
// answer is in memory already (gqlgen marshals it whole), so this costs one copy.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) {
	return b.body.Write(p)
}
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (g *GraphQL) serveGET(w http.ResponseWriter, r *http.Request) {
	if int64(len(r.URL.RawQuery)) > g.limits.MaxBodyBytes {
		writeGraphQLError(w, r, http.StatusRequestURITooLong, "BAD_USER_INPUT",
			fmt.Sprintf("query string exceeds the limit of %d bytes", g.limits.MaxBodyBytes))
		return
	}
	// Mutations are refused before anything runs. A document that does not
	// parse goes on to gqlgen, which reports the parse error properly.
	q := r.URL.Query()
	if doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: q.Get("query")}, g.limits.MaxTokens); err == nil {
		if op := pickOperation(doc, q.Get("operationName")); op != nil && op.Operation != ast.Query {
			w.Header().Set("Allow", "POST")
			writeGraphQLError(w, r, http.StatusMethodNotAllowed, "BAD_USER_INPUT",
				fmt.Sprintf("a %s cannot be sent with GET; use POST", op.Operation))
			return
		}
	}
	g.serveExec(w, r)
}

func pickOperation(doc *ast.QueryDocument, name string) *ast.OperationDefinition {
	if name == "" && len(doc.Operations) == 1 {
		return doc.Operations[0]
	}
	return doc.Operations.ForName(name)
}

func acceptsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// writeGraphQLError answers a request refused before GraphQL execution, in
// the GraphQL response shape, with one of API.md's codes.
func writeGraphQLError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	ct := "application/json"
	if strings.Contains(r.Header.Get("Accept"), "application/graphql-response+json") {
		ct = "application/graphql-response+json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": code}}},
	})
}
