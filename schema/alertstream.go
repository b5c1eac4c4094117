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

// AlertStreamEntry is one change of an alert in its tenant's ordered stream.
// internal/alertstream appends it in the transaction that changed the alert,
// with seq taken from the tenant's AlertStreamHead row (locked until commit,
// so a tenant's entries commit in seq order and a cursor never skips one).
type AlertStreamEntry struct{ ent.Schema }

// Mixin implements ent.Interface.
func (AlertStreamEntry) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "ase"}, mixin.Time{}, TenantOwned{}}
}

// Fields implements ent.Interface.
func (AlertStreamEntry) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("seq").Immutable(),
		field.String("alert_id").GoType(pulid.ID("")).Immutable(),
		field.Enum("kind").Values("CREATED", "UPDATED").Immutable(),
	}
}

// Indexes implements ent.Interface.
func (AlertStreamEntry) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "seq").Unique()}
}

// Annotations implements ent.Interface.
func (AlertStreamEntry) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// AlertStreamHead holds the last seq of a tenant's alert stream.
type AlertStreamHead struct{ ent.Schema }

// Mixin implements ent.Interface.
func (AlertStreamHead) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "ash"}, TenantOwned{}}
}

// Fields implements ent.Interface.
func (AlertStreamHead) Fields() []ent.Field {
	return []ent.Field{field.Int64("seq").Default(0)}
}

// Indexes implements ent.Interface.
func (AlertStreamHead) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id").Unique().StorageKey("alertstreamhead_tenant_unique")}
}

// Annotations implements ent.Interface.
func (AlertStreamHead) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// ThresholdHit is an event that counted for a threshold rule, kept for the
// rule's window so late events are judged with their neighbours.
type ThresholdHit struct{ ent.Schema }

// Mixin implements ent.Interface.
func (ThresholdHit) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "thh"}, TenantOwned{}}
}

// Fields implements ent.Interface.
func (ThresholdHit) Fields() []ent.Field {
	return []ent.Field{
		field.String("rule_id").GoType(pulid.ID("")).Immutable(),
		field.String("group_key").Immutable(),
		field.Time("at").Immutable(),
		field.String("event_id").GoType(pulid.ID("")).Immutable(),
		field.String("distinct").Optional().Immutable(),
		field.Bool("follow_up").Default(false).Immutable(),
	}
}

// Indexes implements ent.Interface.
func (ThresholdHit) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "rule_id", "group_key", "at")}
}

// Annotations implements ent.Interface.
func (ThresholdHit) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
