// Package schema holds Vigil's ent schema: one file per entity, with the
// shared behaviour in mixins (mixin package, TenantOwned).
package schema

import (
	"context"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/vigilhq/vigil/internal/pulid"
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
		tenantScoped(func(_ context.Context, scope pulid.ID) func(*sql.Selector) {
			return sql.FieldEQ("id", string(scope))
		}),
	}
}

// Policy implements ent.Interface: only the platform writes Tenants.
func (Tenant) Policy() ent.Policy { return platformOnly() }

// Annotations implements ent.Interface.
func (Tenant) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
	}
}
