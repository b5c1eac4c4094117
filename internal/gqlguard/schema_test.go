package gqlguard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/vigilhq/vigil/internal/gqlguard"
)

// testSDL has what the guard cares about: a plain list, a Relay-style
// connection with first/last/after/before, a connection nested under its own
// nodes, and a self-referencing field for arbitrary depth.
const testSDL = `
type Query {
  items: [Item!]!
  node(id: ID!): Item
  itemsConnection(first: Int, last: Int, after: String, before: String): ItemConnection!
}
type Item {
  id: ID!
  name: String!
  parent: Item
  children: [Item!]!
  related(first: Int, last: Int, after: String, before: String): ItemConnection!
}
type ItemConnection {
  edges: [ItemEdge]
  pageInfo: PageInfo!
  totalCount: Int!
}
type ItemEdge {
  node: Item
  cursor: String!
}
type PageInfo {
  hasNextPage: Boolean!
  endCursor: String
}
`

// totalRows is how many rows a connection returns when nothing limits it,
// as entgql does when first and last are both nil.
const totalRows = 50

type (
	item     struct{ id int }
	conn     struct{ n int }
	edge     struct{ i int }
	pageInfo struct{}
)

// testAPI is a hand-made graphql.ExecutableSchema. Its executor is a
// miniature of gqlgen's generated code: it builds a FieldContext with typed
// args, runs the operation's ResolverMiddleware, and the resolver reads its
// args back from graphql.GetFieldContext(ctx) the way generated code does.
type testAPI struct {
	schema *ast.Schema
	calls  atomic.Int64

	mu     sync.Mutex
	firsts []int // first as each connection resolver saw it; -1 for nil
}

func (a *testAPI) executableSchema() graphql.ExecutableSchema {
	return &graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return a.schema },
		ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) {
			return 0, false
		},
		ExecFunc: func(ctx context.Context) graphql.ResponseHandler {
			ran := false
			return func(ctx context.Context) *graphql.Response {
				if ran {
					return nil
				}
				ran = true
				op := graphql.GetOperationContext(ctx).Operation
				data, err := json.Marshal(a.object(ctx, "Query", nil, op.SelectionSet))
				if err != nil {
					return graphql.ErrorResponse(ctx, "marshal: %v", err)
				}
				return &graphql.Response{Data: data}
			}
		},
	}
}

func (a *testAPI) object(ctx context.Context, typ string, obj any, sels ast.SelectionSet) map[string]any {
	oc := graphql.GetOperationContext(ctx)
	out := map[string]any{}
	for _, f := range graphql.CollectFields(oc, sels, []string{typ}) {
		out[f.Alias] = a.field(ctx, typ, obj, f)
	}
	return out
}

func (a *testAPI) field(ctx context.Context, typ string, obj any, f graphql.CollectedField) any {
	if f.Name == "__typename" {
		return typ
	}
	if f.Definition == nil || f.Name[:2] == "__" {
		return nil // introspection is not what these tests exercise
	}
	oc := graphql.GetOperationContext(ctx)
	fc := &graphql.FieldContext{
		Parent: graphql.GetFieldContext(ctx),
		Object: typ,
		Field:  f,
		Args:   typedArgs(f.Definition, f.ArgumentMap(oc.Variables)),
	}
	ctx = graphql.WithFieldContext(ctx, fc)
	res, err := oc.ResolverMiddleware(ctx, func(ctx context.Context) (any, error) {
		return a.resolve(ctx, obj)
	})
	if err != nil {
		graphql.AddError(ctx, err)
		return nil
	}
	return a.complete(ctx, f.Definition.Type, res, f.Selections)
}

// typedArgs converts raw arguments to the Go types generated code uses, so
// that the resolver's type assertions are as strict as the real ones.
func typedArgs(def *ast.FieldDefinition, raw map[string]any) map[string]any {
	if len(def.Arguments) == 0 {
		return nil
	}
	args := map[string]any{}
	for _, ad := range def.Arguments {
		v := raw[ad.Name]
		switch ad.Type.Name() {
		case "Int":
			var p *int
			if v != nil {
				n := int(v.(int64))
				p = &n
			}
			args[ad.Name] = p
		case "String":
			var p *string
			if v != nil {
				s := v.(string)
				p = &s
			}
			args[ad.Name] = p
		default:
			args[ad.Name] = v
		}
	}
	return args
}

func (a *testAPI) resolve(ctx context.Context, obj any) (any, error) {
	a.calls.Add(1)
	fc := graphql.GetFieldContext(ctx)
	switch fc.Object + "." + fc.Field.Name {
	case "Query.items":
		return []any{item{1}, item{2}}, nil
	case "Query.node":
		return item{1}, nil
	case "Query.itemsConnection", "Item.related":
		// Exactly how generated code reads pagination args.
		first, last := fc.Args["first"].(*int), fc.Args["last"].(*int)
		a.mu.Lock()
		if first == nil {
			a.firsts = append(a.firsts, -1)
		} else {
			a.firsts = append(a.firsts, *first)
		}
		a.mu.Unlock()
		n := totalRows
		if first != nil {
			n = min(n, *first)
		}
		if last != nil {
			n = min(n, *last)
		}
		return conn{n}, nil
	case "Item.id":
		return strconv.Itoa(obj.(item).id), nil
	case "Item.name":
		return "item", nil
	case "Item.parent":
		return item{obj.(item).id + 1}, nil
	case "Item.children":
		id := obj.(item).id
		return []any{item{id * 10}, item{id*10 + 1}}, nil
	case "ItemConnection.edges":
		edges := make([]any, obj.(conn).n)
		for i := range edges {
			edges[i] = edge{i}
		}
		return edges, nil
	case "ItemConnection.pageInfo":
		return pageInfo{}, nil
	case "ItemConnection.totalCount":
		return totalRows, nil
	case "ItemEdge.node":
		return item{obj.(edge).i}, nil
	case "ItemEdge.cursor":
		return "c" + strconv.Itoa(obj.(edge).i), nil
	case "PageInfo.hasNextPage":
		return true, nil
	case "PageInfo.endCursor":
		return nil, nil
	}
	return nil, fmt.Errorf("no resolver for %s.%s", fc.Object, fc.Field.Name)
}

func (a *testAPI) complete(ctx context.Context, typ *ast.Type, v any, sels ast.SelectionSet) any {
	if v == nil {
		return nil
	}
	if typ.Elem != nil {
		list := v.([]any)
		out := make([]any, len(list))
		for i, e := range list {
			out[i] = a.complete(ctx, typ.Elem, e, sels)
		}
		return out
	}
	if def := a.schema.Types[typ.NamedType]; def.Kind == ast.Object {
		return a.object(ctx, def.Name, v, sels)
	}
	return v
}

// fixture is one guarded server with its own counters, so parallel tests do
// not see each other's calls.
type fixture struct {
	api *testAPI
	url string

	mu      sync.Mutex
	reasons []string
}

var testLimits = gqlguard.Limits{
	MaxDepth:        12,
	MaxAliases:      30,
	MaxComplexity:   5000,
	MaxPageSize:     100,
	DefaultPageSize: 20,
	ListMultiplier:  10,
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, true)
}

// newFixtureWith builds a fixture; with record false the guard gets a nil
// onReject.
func newFixtureWith(t *testing.T, record bool) *fixture {
	t.Helper()
	f := &fixture{api: &testAPI{
		schema: gqlparser.MustLoadSchema(&ast.Source{Name: "test.graphql", Input: testSDL}),
	}}
	var onReject func(string)
	if record {
		onReject = func(reason string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.reasons = append(f.reasons, reason)
		}
	}
	guard := gqlguard.New(testLimits, onReject)
	srv := handler.New(f.api.executableSchema())
	srv.AddTransport(transport.POST{})
	srv.Use(guard)
	srv.AroundFields(guard.PageSize())
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

func (f *fixture) rejectReasons() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reasons...)
}

func (f *fixture) connectionFirsts() []int {
	f.api.mu.Lock()
	defer f.api.mu.Unlock()
	return append([]int(nil), f.api.firsts...)
}
