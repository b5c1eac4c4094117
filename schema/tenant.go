// Package schema holds Vigil's ent schema: one file per entity, with the
// shared behaviour in mixins (mixin package, TenantOwned).
package schema

import (
	"context"
	"fmt"

	"entgo.io/ent/dialect/sql"
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/schema/mixin"
)

// Tenant is a customer organisation: the unit of isolation.
type Tenant struct{ ent.Schema }

// Mixin implements ent.Interface.
func (Tenant) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "tnt"}, mixin.Time{}}
}

// Fields implements ent.Interface.
func (Tenant) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.String("slug").NotEmpty().MaxLen(63).Unique().Immutable().
			Match(slugPattern).
			Comment("URL-safe unique handle, lower case"),
	}
}

// Edges implements ent.Interface.
func (Tenant) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("memberships", Membership.Type).Ref("tenant").
			Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Interceptors implements ent.Interface: a caller sees only the tenant it acts
// for, unless it may act in every tenant.
func (Tenant) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{
		ent.TraverseFunc(func(ctx context.Context, q ent.Query) error {
			scope, all, err := caller.TenantScope(ctx)
			if err != nil {
				return err
			}
			if all && scope == "" {
				return nil
			}
			w, ok := q.(wherer)
			if !ok {
				return fmt.Errorf("tenant query %T cannot be filtered", q)
			}
			w.WhereP(sql.FieldEQ("id", string(scope)))
			return nil
		}),
	}
}

// Annotations implements ent.Interface.
func (Tenant) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
	}
}
