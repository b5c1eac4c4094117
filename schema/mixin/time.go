// Package mixin holds the behaviour that Vigil's ent schemas share, so that a
// new entity cannot forget it: identifiers, timestamps and tenant ownership.
package mixin

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	entmixin "entgo.io/ent/schema/mixin"

	"github.com/vigilhq/vigil/internal/pulid"
)

// ID gives an entity a prefixed ULID primary key (see internal/pulid).
type ID struct {
	entmixin.Schema
	Prefix string
}

// Fields implements ent.Mixin.
func (m ID) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").
			GoType(pulid.ID("")).
			DefaultFunc(func() pulid.ID { return pulid.New(m.Prefix) }).
			Immutable().
			MaxLen(64),
	}
}

// PrefixAnnotation records the id prefix, so code generation can map
// prefixes back to tables for node(id:).
type PrefixAnnotation struct {
	Prefix string
}

// Name implements schema.Annotation.
func (PrefixAnnotation) Name() string { return "IDPrefix" }

// Annotations implements ent.Mixin.
func (m ID) Annotations() []schema.Annotation {
	return []schema.Annotation{PrefixAnnotation{Prefix: m.Prefix}}
}

// Time records when a row was created and last updated.
type Time struct{ entmixin.Schema }

// Fields implements ent.Mixin.
func (Time) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now).
			Annotations(entgql.OrderField("UPDATED_AT"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}
