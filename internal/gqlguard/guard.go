// Package gqlguard owns the GraphQL request limits that are enforced before
// execution: query depth, alias count, estimated cost (complexity) and the
// page size of Relay connections. It plugs into a gqlgen server as a handler
// extension, so a hostile document is answered with an error without any
// resolver (and therefore any database query) running. It also supplies the
// field middleware that gives connections a default page size.
package gqlguard

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Reject reasons passed to the onReject callback of New. They are stable
// because they become metric label values.
const (
	ReasonDepth      = "depth"
	ReasonAliases    = "aliases"
	ReasonComplexity = "complexity"
	ReasonPageSize   = "page_size"
)

// codeBadUserInput is the conventional code for an argument the client got
// wrong. gqlgen does not register it as a protocol error, so it is served with
// HTTP 200, while GRAPHQL_VALIDATION_FAILED is served with 422 (application/json)
// or 400 (application/graphql-response+json).
const codeBadUserInput = "BAD_USER_INPUT"

// ceiling caps every count so that an exponential document (nested connections,
// fragments spread many times) saturates instead of wrapping round to a small or
// negative number that would slip under the limits.
const ceiling = math.MaxInt32

// Limits are the per-request bounds. Every field must be positive, and
// DefaultPageSize must not exceed MaxPageSize; Guard.Validate, which gqlgen
// calls from Server.Use, enforces this so a zero value cannot silently turn a
// limit off.
type Limits struct {
	// MaxDepth bounds the nesting of fields; root fields are at depth 1.
	MaxDepth int
	// MaxAliases bounds the number of aliased fields, counted once per
	// occurrence after fragments are expanded.
	MaxAliases int
	// MaxComplexity bounds the estimated number of fields resolved.
	MaxComplexity int
	// MaxPageSize bounds the first and last arguments of connections.
	MaxPageSize int
	// DefaultPageSize is what a connection without first or last costs and,
	// with PageSize installed, what it returns.
	DefaultPageSize int
	// ListMultiplier is the assumed length of a plain (non-connection) list.
	ListMultiplier int
}

func (l Limits) validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"MaxDepth", l.MaxDepth},
		{"MaxAliases", l.MaxAliases},
		{"MaxComplexity", l.MaxComplexity},
		{"MaxPageSize", l.MaxPageSize},
		{"DefaultPageSize", l.DefaultPageSize},
		{"ListMultiplier", l.ListMultiplier},
	} {
		if f.v <= 0 {
			return fmt.Errorf("%s must be positive, got %d", f.name, f.v)
		}
	}
	if l.DefaultPageSize > l.MaxPageSize {
		return fmt.Errorf("DefaultPageSize %d exceeds MaxPageSize %d", l.DefaultPageSize, l.MaxPageSize)
	}
	return nil
}

// Guard rejects over-limit operations after gqlgen has parsed and validated
// them and before it executes them. Install it with Server.Use, and its
// PageSize middleware with Server.AroundFields.
type Guard struct {
	limits   Limits
	onReject func(reason string)
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*Guard)(nil)

// New returns a Guard enforcing l. onReject, which may be nil, is called with
// one of the Reason constants each time an operation is rejected.
func New(l Limits, onReject func(reason string)) *Guard {
	return &Guard{limits: l, onReject: onReject}
}

// ExtensionName implements graphql.HandlerExtension.
func (g *Guard) ExtensionName() string { return "gqlguard" }

// Validate implements graphql.HandlerExtension. gqlgen calls it from
// Server.Use and panics on error, so bad limits fail at start-up rather than
// leaving the API unguarded.
func (g *Guard) Validate(graphql.ExecutableSchema) error {
	if err := g.limits.validate(); err != nil {
		return fmt.Errorf("gqlguard: invalid limits: %w", err)
	}
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator. gqlgen
// runs it on every request, including ones whose document came from the query
// cache, because the cost depends on the variables.
func (g *Guard) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc == nil || rc.Operation == nil {
		return nil
	}
	w := walker{
		limits: g.limits,
		vars:   rc.Variables,
		memo:   map[fragmentKey]cost{},
	}
	c, gqlErr := w.selectionSet(rc.Operation.SelectionSet, false)
	if gqlErr != nil {
		g.reject(ReasonPageSize)
		return gqlErr
	}
	l := g.limits
	switch {
	case c.depth > l.MaxDepth:
		g.reject(ReasonDepth)
		return validationError("query depth %d exceeds the limit of %d", c.depth, l.MaxDepth)
	case c.aliases > l.MaxAliases:
		g.reject(ReasonAliases)
		return validationError("operation uses %d aliases, more than the limit of %d", c.aliases, l.MaxAliases)
	case c.complexity > l.MaxComplexity:
		g.reject(ReasonComplexity)
		return validationError("query complexity %d exceeds the limit of %d; ask for smaller pages", c.complexity, l.MaxComplexity)
	}
	return nil
}

func (g *Guard) reject(reason string) {
	if g.onReject != nil {
		g.onReject(reason)
	}
}

func validationError(format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{
		Message: fmt.Sprintf(format, args...),
		// Reusing gqlgen's own validation code means its transports answer
		// the way they answer any other invalid document.
		Extensions: map[string]any{"code": errcode.ValidationFailed},
	}
}

// PageSize returns field middleware, for Server.AroundFields, that gives a
// connection field queried without first and last a first of DefaultPageSize.
//
// Why: entgql's Paginate treats a missing first/last as "no limit" and
// returns every row, which the complexity estimate (which assumes
// DefaultPageSize) would not have accounted for.
//
// Generated resolvers read their arguments as
// graphql.GetFieldContext(ctx).Args["first"].(*int) inside the innermost
// resolver call, after this middleware has run, and the FieldContext is the
// same pointer, so replacing fc.Args here is what the resolver sees.
func (g *Guard) PageSize() graphql.FieldMiddleware {
	def := g.limits.DefaultPageSize
	return func(ctx context.Context, next graphql.Resolver) (any, error) {
		fc := graphql.GetFieldContext(ctx)
		if fc == nil || !wantsDefaultPage(fc) {
			return next(ctx)
		}
		n := def
		// Copy rather than write into the map gqlgen built: it costs little
		// and keeps the middleware correct even if a map were ever shared.
		args := maps.Clone(fc.Args)
		if args == nil {
			args = map[string]any{}
		}
		// The value must be a *int: generated code type-asserts it.
		args["first"] = &n
		fc.Args = args
		return next(ctx)
	}
}

// wantsDefaultPage reports whether fc is a paginated connection field whose
// client gave neither first nor last.
func wantsDefaultPage(fc *graphql.FieldContext) bool {
	def := fc.Field.Definition
	if def == nil || !isConnection(def.Type) {
		return false
	}
	if def.Arguments.ForName("first") == nil || def.Arguments.ForName("last") == nil {
		return false
	}
	return nilIntArg(fc.Args["first"]) && nilIntArg(fc.Args["last"])
}

// nilIntArg reports whether an argument value is absent. A non-nil value of
// another type is left alone: the resolver expects that type, not *int.
func nilIntArg(v any) bool {
	if v == nil {
		return true
	}
	p, ok := v.(*int)
	return ok && p == nil
}

func isConnection(t *ast.Type) bool {
	return t != nil && strings.HasSuffix(t.Name(), "Connection")
}

// cost is what a selection set contributes to the limits.
type cost struct {
	depth      int
	aliases    int
	complexity int
}

func (c cost) add(o cost) cost {
	return cost{
		depth:      max(c.depth, o.depth),
		aliases:    satAdd(c.aliases, o.aliases),
		complexity: satAdd(c.complexity, o.complexity),
	}
}

// fragmentKey memoises a named fragment's cost. Without it, fragments that
// spread each other twice per level make the walk itself exponential. A
// fragment's cost does not depend on where it is spread, except that under
// introspection only aliases count.
type fragmentKey struct {
	name          string
	introspection bool
}

type walker struct {
	limits Limits
	vars   map[string]any
	memo   map[fragmentKey]cost
}

// selectionSet sums the cost of a selection set, expanding fragments. Inside
// introspection only aliases are counted. Fragment cycles are impossible
// here: gqlgen's validation (NoFragmentCycles) has already rejected them.
func (w *walker) selectionSet(set ast.SelectionSet, introspection bool) (cost, *gqlerror.Error) {
	var total cost
	for _, sel := range set {
		var c cost
		var err *gqlerror.Error
		switch s := sel.(type) {
		case *ast.Field:
			c, err = w.field(s, introspection)
		case *ast.InlineFragment:
			c, err = w.selectionSet(s.SelectionSet, introspection)
		case *ast.FragmentSpread:
			c, err = w.fragment(s, introspection)
		}
		if err != nil {
			return cost{}, err
		}
		total = total.add(c)
	}
	return total, nil
}

func (w *walker) fragment(s *ast.FragmentSpread, introspection bool) (cost, *gqlerror.Error) {
	if s.Definition == nil {
		return cost{}, nil
	}
	key := fragmentKey{name: s.Name, introspection: introspection}
	if c, ok := w.memo[key]; ok {
		return c, nil
	}
	c, err := w.selectionSet(s.Definition.SelectionSet, introspection)
	if err != nil {
		return cost{}, err
	}
	w.memo[key] = c
	return c, nil
}

func (w *walker) field(f *ast.Field, introspection bool) (cost, *gqlerror.Error) {
	var own cost
	if f.Alias != "" && f.Alias != f.Name {
		own.aliases = 1
	}

	// Introspection (__schema, __type) is bounded by the schema and disabled
	// in production, so it is not costed; __typename is free. Aliases still
	// count, since they are what multiplies work.
	if introspection || strings.HasPrefix(f.Name, "__") {
		children, err := w.selectionSet(f.SelectionSet, true)
		if err != nil {
			return cost{}, err
		}
		return cost{aliases: satAdd(own.aliases, children.aliases)}, nil
	}

	mult := 1
	if f.Definition != nil {
		switch {
		case isConnection(f.Definition.Type):
			n, err := w.pageSize(f)
			if err != nil {
				return cost{}, err
			}
			mult = n
		case f.Definition.Type.Elem != nil && !onConnection(f):
			mult = w.limits.ListMultiplier
		}
	}

	children, err := w.selectionSet(f.SelectionSet, false)
	if err != nil {
		return cost{}, err
	}
	return cost{
		depth:      children.depth + 1,
		aliases:    satAdd(own.aliases, children.aliases),
		complexity: satAdd(1, satMul(mult, children.complexity)),
	}, nil
}

// onConnection reports whether f is selected on a connection type, like
// edges or nodes. Those lists are as long as the page, which the connection
// field has already multiplied by, so multiplying again would overcharge.
func onConnection(f *ast.Field) bool {
	return f.ObjectDefinition != nil && strings.HasSuffix(f.ObjectDefinition.Name, "Connection")
}

// pageSize checks first and last and returns the page size to cost the
// connection's children with: the larger of the two when both are given,
// DefaultPageSize when neither is.
func (w *walker) pageSize(f *ast.Field) (int, *gqlerror.Error) {
	args := f.ArgumentMap(w.vars)
	size, given := 0, false
	for _, name := range []string{"first", "last"} {
		v, ok := args[name]
		if !ok || v == nil {
			continue
		}
		n, err := toInt64(v)
		if err != nil || n < 0 || n > int64(w.limits.MaxPageSize) {
			return 0, pageSizeError(f, name, v, w.limits.MaxPageSize)
		}
		size, given = max(size, int(n)), true
	}
	if !given {
		return w.limits.DefaultPageSize, nil
	}
	return size, nil
}

func pageSizeError(f *ast.Field, name string, got any, maxSize int) *gqlerror.Error {
	err := gqlerror.ErrorPosf(f.Position, "%s must be between 0 and %d, got %v", name, maxSize, got)
	err.Extensions = map[string]any{"code": codeBadUserInput}
	return err
}

// toInt64 converts an Int argument as gqlparser delivers it: int64 for
// literals and JSON variables, but other numeric forms are legal too.
func toInt64(v any) (int64, error) {
	switch n := v.(type) {
	case int64:
		return n, nil
	case int:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, fmt.Errorf("%v is not an integer", n)
		}
		return int64(n), nil
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			return 0, fmt.Errorf("parse %q: %w", n, err)
		}
		return i, nil
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %q: %w", n, err)
		}
		return i, nil
	}
	return 0, fmt.Errorf("unsupported type %T", v)
}

// satAdd and satMul assume non-negative operands no larger than ceiling.
func satAdd(a, b int) int {
	if a > ceiling-b {
		return ceiling
	}
	return a + b
}

func satMul(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > ceiling/b {
		return ceiling
	}
	return a * b
}
