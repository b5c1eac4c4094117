package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/schema/mixin"
)

// APIKey lets a machine or partner act in one tenant with a role and scopes.
// The secret is shown once at creation; only its SHA-256 is stored.
type APIKey struct{ ent.Schema }

// Mixin implements ent.Interface.
func (APIKey) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "key"}, mixin.Time{}, TenantOwned{}}
}

// Fields implements ent.Interface.
func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200),
		field.String("lookup").Unique().Immutable().
			Comment("public part of the secret, to find the key without scanning").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("secret_hash").Immutable().Sensitive().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Strings("scopes").
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Enum("role").Values(Roles...).Default("PARTNER").
			Comment("the key acts with this role's permissions, narrowed by its scopes"),
		field.String("created_by").GoType(pulid.ID("")).Optional().Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("expires_at").Optional().Nillable(),
		field.Time("last_used_at").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

// Indexes implements ent.Interface.
func (APIKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "name")}
}

// Annotations implements ent.Interface.
func (APIKey) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("apiKeys"),
		entgql.Type("APIKey"),
	}
}
