package schema

import (
	"context"
	"regexp"

	"entgo.io/ent/dialect/sql"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/schema/mixin"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// User is a person who signs in. Users exist once across the platform and
// join tenants through memberships.
type User struct{ ent.Schema }

// Mixin implements ent.Interface.
func (User) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "usr"}, mixin.Time{}}
}

// Fields implements ent.Interface.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("email").NotEmpty().MaxLen(254).Unique().
			Comment("stored lower-cased").
			Annotations(entgql.OrderField("EMAIL")),
		field.String("display_name").Default("").MaxLen(200),
		field.String("password_hash").Optional().Sensitive().
			Comment("argon2id in PHC string format; empty for accounts without a password").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Bool("superadmin").Default(false).
			Comment("platform operator across all tenants; every use is audited").
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Bool("disabled").Default(false),
	}
}

// Edges implements ent.Interface.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("memberships", Membership.Type).Ref("user").
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Interceptors implements ent.Interface: a caller sees itself and the members
// of the tenant it acts for, unless it may act in every tenant.
func (User) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{
		tenantScoped(func(ctx context.Context, scope pulid.ID) func(*sql.Selector) {
			var self pulid.ID
			if c := caller.From(ctx); c != nil {
				self = c.UserID
			}
			return func(s *sql.Selector) {
				members := sql.Select("user_id").From(sql.Table("memberships")).Where(sql.EQ("tenant_id", string(scope)))
				s.Where(sql.Or(sql.EQ(s.C("id"), string(self)), sql.In(s.C("id"), members)))
			}
		}),
	}
}

// Policy implements ent.Interface: only the platform writes Users.
func (User) Policy() ent.Policy { return platformOnly() }

// Annotations implements ent.Interface.
func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
	}
}
