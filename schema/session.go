package schema

import (
	"context"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/vigilhq/vigil/ent/intercept"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/pulid"
	"github.com/vigilhq/vigil/schema/mixin"
)

// Session is one sign-in of a user: the family of its rotating refresh
// tokens, and what every access token names so that logout, password change
// and disabling take effect at once.
type Session struct{ ent.Schema }

// Mixin implements ent.Interface.
func (Session) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "ses"}, mixin.Time{}}
}

// Fields implements ent.Interface.
func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.String("user_id").GoType(pulid.ID("")).Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("tenant_id").GoType(pulid.ID("")).Optional().
			Comment("the tenant the session acts for; empty for platform sessions").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("expires_at").Comment("refresh tokens stop working after this"),
		field.Time("last_seen_at").Default(time.Now),
		field.Time("revoked_at").Optional().Nillable(),
		field.String("revoke_reason").Optional().MaxLen(64),
		field.String("user_agent").Default("").MaxLen(512),
		field.String("ip").Default("").MaxLen(64),
	}
}

// Edges implements ent.Interface.
func (Session) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
		edge.From("refresh_tokens", RefreshToken.Type).Ref("session").
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes implements ent.Interface.
func (Session) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id")}
}

// Interceptors implements ent.Interface: a user sees only their own sessions.
func (Session) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{ownedByUser("user_id")}
}

// Policy implements ent.Interface: only the platform writes Sessions.
func (Session) Policy() ent.Policy { return platformOnly() }

// Annotations implements ent.Interface.
func (Session) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// RefreshToken is one opaque refresh token of a session, stored as a hash.
// Each use marks it used and issues the next; presenting a used one again
// revokes the whole session (token theft).
type RefreshToken struct{ ent.Schema }

// Mixin implements ent.Interface.
func (RefreshToken) Mixin() []ent.Mixin {
	return []ent.Mixin{mixin.ID{Prefix: "rtk"}, mixin.Time{}}
}

// Fields implements ent.Interface.
func (RefreshToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("session_id").GoType(pulid.ID("")).Immutable(),
		field.String("token_hash").Unique().Immutable().Sensitive().
			Comment("SHA-256 of the 256-bit token, hex"),
		field.Time("expires_at").Immutable(),
		field.Time("used_at").Optional().Nillable(),
	}
}

// Edges implements ent.Interface.
func (RefreshToken) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("session", Session.Type).Field("session_id").Unique().Required().Immutable(),
	}
}

// Interceptors implements ent.Interface: only the platform (internal/auth,
// acting as a system caller) reads refresh tokens.
func (RefreshToken) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{systemOnly()}
}

// Policy implements ent.Interface: only the platform writes RefreshTokens.
func (RefreshToken) Policy() ent.Policy { return platformOnly() }

// Annotations implements ent.Interface.
func (RefreshToken) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// ownedByUser confines reads to rows whose column names the caller's user.
func ownedByUser(column string) ent.Interceptor {
	return intercept.TraverseFunc(func(ctx context.Context, q intercept.Query) error {
		c := caller.From(ctx)
		switch {
		case c == nil:
			return caller.ErrNoCaller
		case c.Has(caller.CapAllTenants):
			return nil
		}
		q.WhereP(sql.FieldEQ(column, string(c.UserID)))
		return nil
	})
}

// systemOnly lets only callers that may act in every tenant read the entity.
func systemOnly() ent.Interceptor {
	return intercept.TraverseFunc(func(ctx context.Context, q intercept.Query) error {
		c := caller.From(ctx)
		switch {
		case c == nil:
			return caller.ErrNoCaller
		case !c.Has(caller.CapAllTenants):
			return ErrOtherTenant
		}
		return nil
	})
}
