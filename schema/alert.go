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
	"github.com/vigilhq/vigil/schema/types"
)

// AlertStatuses in their workflow order (internal/alerting holds the valid
// transitions).
var AlertStatuses = []string{"NEW", "ACKNOWLEDGED", "IN_PROGRESS", "RESOLVED", "FALSE_POSITIVE"}

// Alert groups detections that share a dedup key while it is open.
type Alert struct{ ent.Schema }

// Mixin implements ent.Interface.
func (Alert) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "alt"}, mixin.Time{}, TenantOwned{}}
}

// Fields implements ent.Interface.
func (Alert) Fields() []ent.Field {
	ro := entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)
	return []ent.Field{
		field.String("title").NotEmpty().MaxLen(500).Annotations(ro),
		field.Enum("severity").Values(Severities...).
			Annotations(entgql.OrderField("SEVERITY"), ro),
		field.Enum("status").Values(AlertStatuses...).Default("NEW").
			Annotations(entgql.OrderField("STATUS"), ro),
		field.String("dedup_key").Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("rule_id").GoType(pulid.ID("")).Optional().Nillable().Immutable().Annotations(ro),
		field.String("assignee_id").GoType(pulid.ID("")).Optional().Nillable().Annotations(ro),
		field.Int("count").Default(1).Annotations(entgql.OrderField("COUNT"), ro),
		field.Time("first_seen").Annotations(entgql.OrderField("FIRST_SEEN"), ro),
		field.Time("last_seen").Annotations(entgql.OrderField("LAST_SEEN"), ro),
		field.Int("risk_score").Min(0).Max(100).Annotations(entgql.OrderField("RISK_SCORE"), ro),
		field.JSON("risk_breakdown", []types.RiskFactor{}).Annotations(entgql.Type("[RiskFactor!]"), ro),
		field.JSON("techniques", []types.Technique{}).Optional().Annotations(entgql.Type("[Technique!]"), ro),
		field.JSON("entities", map[string]any{}).Optional().Annotations(entgql.Type("Map"), ro).
			Comment("the grouping values: source.ip, user.name, host.name …"),
		field.JSON("samples", []map[string]any{}).Optional().Annotations(entgql.Type("[Map!]"), ro).
			Comment("up to five sample events (ECS documents)"),
		field.Time("sla_due_at").Annotations(entgql.OrderField("SLA_DUE_AT"), ro),
		field.Time("acknowledged_at").Optional().Nillable().Annotations(ro),
		field.Time("resolved_at").Optional().Nillable().Annotations(ro),
	}
}

// Edges implements ent.Interface.
func (Alert) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("rule", Rule.Type).Field("rule_id").Unique().Immutable(),
		edge.To("assignee", User.Type).Field("assignee_id").Unique(),
		edge.To("comments", AlertComment.Type).
			Annotations(entgql.RelayConnection()),
	}
}

// Indexes implements ent.Interface.
func (Alert) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "dedup_key", "status"),
		index.Fields("tenant_id", "last_seen"),
	}
}

// Annotations implements ent.Interface.
func (Alert) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("alerts"),
		entgql.MultiOrder(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

// AlertComment is an analyst's note on an alert.
type AlertComment struct{ ent.Schema }

// Mixin implements ent.Interface.
func (AlertComment) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "acm"}, mixin.Time{}, TenantOwned{}}
}

// Fields implements ent.Interface.
func (AlertComment) Fields() []ent.Field {
	return []ent.Field{
		field.String("alert_id").GoType(pulid.ID("")).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("author_id").GoType(pulid.ID("")).Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Text("body").NotEmpty().MaxLen(20000),
	}
}

// Edges implements ent.Interface.
func (AlertComment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("alert", Alert.Type).Ref("comments").Field("alert_id").Unique().Required().Immutable(),
		edge.To("author", User.Type).Field("author_id").Unique().Immutable(),
	}
}

// Annotations implements ent.Interface.
func (AlertComment) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}
