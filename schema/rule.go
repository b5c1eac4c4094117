package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/vigilhq/vigil/schema/mixin"
)

// Severities of rules and alerts, lowest first.
var Severities = []string{"LOW", "MEDIUM", "HIGH", "CRITICAL"}

// Rule is a tenant's detection rule: a Sigma rule or a threshold rule
// (internal/detect documents both formats). Definitions are validated and
// compiled by internal/detect before they are stored.
type Rule struct{ ent.Schema }

// Mixin implements ent.Interface.
func (Rule) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "rul"}, mixin.Time{}, TenantOwned{}}
}

// Fields implements ent.Interface.
func (Rule) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(300).
			Annotations(entgql.OrderField("NAME")),
		field.String("key").Optional().Nillable().Immutable().
			Comment("stable key of a default-pack rule; empty for the tenant's own rules"),
		field.Enum("kind").Values("SIGMA", "THRESHOLD").Immutable(),
		field.Text("definition").NotEmpty().MaxLen(256 << 10),
		field.Enum("severity").Values(Severities...).
			Annotations(entgql.OrderField("SEVERITY")),
		field.Bool("enabled").Default(true),
		field.String("description").Optional().MaxLen(4000),
		field.Strings("tags").Optional().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Strings("dedup_fields").Optional().
			Comment("ECS fields that, with the rule, make an alert's dedup key").
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Int("version").Default(1).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Indexes implements ent.Interface.
func (Rule) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "key").Unique()}
}

// Annotations implements ent.Interface.
func (Rule) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("rules"),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}
