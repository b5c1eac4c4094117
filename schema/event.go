package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/vigilhq/vigil/schema/mixin"
)

// Event is one ingested event, normalised to ECS names (internal/event).
// internal/ingest writes events in bulk (COPY on PostgreSQL), setting
// tenant_id itself from the caller; reads go through ent and its tenant
// interceptor. Events are not a GraphQL type: alerts carry samples.
type Event struct{ ent.Schema }

// Mixin implements ent.Interface.
func (Event) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "evt"}, TenantOwned{}}
}

// Fields implements ent.Interface.
func (Event) Fields() []ent.Field {
	return []ent.Field{
		field.String("external_id").Optional().Nillable().Immutable().MaxLen(128).
			Comment("the producer's event id; a tenant stores an id once"),
		field.String("batch_id").Immutable().
			Comment("the ingest request that stored the event; the score job loads by it"),
		field.Time("timestamp").Immutable().Comment("event time (@timestamp)"),
		field.Time("received_at").Immutable().Default(time.Now),
		field.String("category").Optional().Immutable().Comment("event.category, comma separated"),
		field.String("action").Optional().Immutable(),
		field.String("outcome").Optional().Immutable(),
		field.String("source_ip").Optional().Immutable(),
		field.String("user_name").Optional().Immutable(),
		field.String("host_name").Optional().Immutable(),
		field.JSON("fields", map[string]any{}).Immutable().Comment("the ECS document"),
		field.JSON("original", map[string]any{}).Immutable().Comment("the fields as received"),
	}
}

// Indexes implements ent.Interface.
func (Event) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "external_id").Unique(),
		index.Fields("tenant_id", "batch_id"),
		index.Fields("tenant_id", "timestamp"),
	}
}

// Annotations implements ent.Interface.
func (Event) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
