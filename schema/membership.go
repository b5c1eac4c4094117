package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/schema/mixin"
)

// Roles a user can hold in a tenant (API.md, "Roles").
var Roles = []string{"OWNER", "ADMIN", "ANALYST", "VIEWER", "AUDITOR", "PARTNER"}

// Membership joins a user to a tenant with one role.
type Membership struct{ ent.Schema }

// Mixin implements ent.Interface.
func (Membership) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "mem"}, mixin.Time{}, TenantOwned{}}
}

// Fields implements ent.Interface.
func (Membership) Fields() []ent.Field {
	return []ent.Field{
		field.String("user_id").GoType(pulid.ID("")).Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("role").Values(Roles...).
			Annotations(entgql.OrderField("ROLE")),
	}
}

// Edges implements ent.Interface.
func (Membership) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes implements ent.Interface.
func (Membership) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "user_id").Unique(),
		index.Fields("user_id"),
	}
}

// Annotations implements ent.Interface.
func (Membership) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
	}
}
