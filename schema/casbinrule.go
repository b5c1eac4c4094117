package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/vigilhq/vigil/schema/mixin"
)

// CasbinRule is one casbin policy or grouping line (ptype, v0…v5), stored
// here so that policies live in Vigil's database and its transactions
// (internal/authz holds the adapter).
type CasbinRule struct{ ent.Schema }

// Mixin implements ent.Interface.
func (CasbinRule) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "cbr"}}
}

// Fields implements ent.Interface.
func (CasbinRule) Fields() []ent.Field {
	var fs []ent.Field
	fs = append(fs, field.String("ptype").NotEmpty().MaxLen(8))
	for _, n := range []string{"v0", "v1", "v2", "v3", "v4", "v5"} {
		fs = append(fs, field.String(n).Default("").MaxLen(255))
	}
	return fs
}

// Indexes implements ent.Interface.
func (CasbinRule) Indexes() []ent.Index {
	return []ent.Index{index.Fields("ptype", "v0", "v1", "v2", "v3", "v4", "v5").Unique()}
}

// Interceptors implements ent.Interface: policies are platform data.
func (CasbinRule) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{systemOnly()}
}

// Policy implements ent.Interface: only the platform writes CasbinRules.
func (CasbinRule) Policy() ent.Policy { return platformOnly() }

// Annotations implements ent.Interface.
func (CasbinRule) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
