package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/vigilhq/vigil/schema/mixin"
)

// IngestRequest remembers the answer to an ingest request sent with an
// Idempotency-Key, so a retry gets the same answer and stores nothing twice.
type IngestRequest struct{ ent.Schema }

// Mixin implements ent.Interface.
func (IngestRequest) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "igr"}, mixin.Time{}, TenantOwned{}}
}

// Fields implements ent.Interface.
func (IngestRequest) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").NotEmpty().MaxLen(255).Immutable(),
		field.String("body_hash").Immutable().Comment("SHA-256 of the body: a key reused for another body is a conflict"),
		field.Bytes("response").Optional(),
	}
}

// Indexes implements ent.Interface.
func (IngestRequest) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "key").Unique()}
}

// Annotations implements ent.Interface.
func (IngestRequest) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
