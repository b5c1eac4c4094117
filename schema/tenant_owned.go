package schema

import (
	"context"
	"fmt"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	entmixin "entgo.io/ent/schema/mixin"

	"github.com/vigilhq/vigil/ent/intercept"
	"github.com/vigilhq/vigil/ent/privacy"
	"github.com/vigilhq/vigil/internal/caller"
	"github.com/vigilhq/vigil/internal/pulid"
)

// TenantOwned makes an entity belong to exactly one tenant. Every entity that
// holds a tenant's data uses it, and so inherits:
//   - a required, immutable tenant_id with an edge to Tenant,
//   - a hook that sets tenant_id from the caller on create and refuses a
//     tenant the caller does not act for,
//   - an interceptor that confines every read (queries, edges, eager loads,
//     node lookups) to the caller's tenant.
//
// Resolvers never filter by tenant themselves.
type TenantOwned struct{ entmixin.Schema }

// Fields implements ent.Mixin.
func (TenantOwned) Fields() []ent.Field {
	return []ent.Field{
		field.String("tenant_id").
			GoType(pulid.ID("")).
			Immutable().
			NotEmpty().
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges implements ent.Mixin.
func (TenantOwned) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).
			Field("tenant_id").
			Unique().
			Required().
			Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes implements ent.Mixin.
func (TenantOwned) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id")}
}

// tenantMutation is what every generated mutation of a TenantOwned entity has.
type tenantMutation interface {
	ent.Mutation
	TenantID() (pulid.ID, bool)
	SetTenantID(pulid.ID)
}

// Hooks implements ent.Mixin.
func (TenantOwned) Hooks() []ent.Hook {
	return []ent.Hook{
		func(next ent.Mutator) ent.Mutator {
			return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
				if !m.Op().Is(ent.OpCreate) {
					// Updates and deletes only ever touch the caller's tenant,
					// even when addressed by the id of another tenant's row.
					scope, all, err := caller.TenantScope(ctx)
					if err != nil {
						return nil, fmt.Errorf("%s %s: %w", m.Op(), m.Type(), err)
					}
					if !all || scope != "" {
						w, ok := m.(interface{ WhereP(...func(*sql.Selector)) })
						if !ok {
							return nil, fmt.Errorf("tenant-owned %s: mutation %T cannot be filtered", m.Type(), m)
						}
						w.WhereP(sql.FieldEQ("tenant_id", string(scope)))
					}
					return next.Mutate(ctx, m)
				}
				tm, ok := m.(tenantMutation)
				if !ok {
					return nil, fmt.Errorf("tenant-owned %s: mutation %T has no tenant_id", m.Type(), m)
				}
				scope, all, err := caller.TenantScope(ctx)
				if err != nil {
					return nil, fmt.Errorf("create %s: %w", m.Type(), err)
				}
				set, ok := tm.TenantID()
				switch {
				case !ok && scope == "":
					return nil, fmt.Errorf("create %s: %w", m.Type(), caller.ErrNoTenant)
				case !ok:
					tm.SetTenantID(scope)
				case set != scope && !all:
					return nil, fmt.Errorf("create %s in tenant %s: %w", m.Type(), set, ErrOtherTenant)
				}
				return next.Mutate(ctx, m)
			})
		},
	}
}

// ErrOtherTenant is returned when a caller writes into a tenant it does not act for.
var ErrOtherTenant = fmt.Errorf("tenant is not the caller's")

// Policy implements ent.Mixin: writes need a caller acting in a tenant (or
// the platform); everything else is refused.
func (TenantOwned) Policy() ent.Policy {
	return privacy.Policy{
		Mutation: privacy.MutationPolicy{denyIfNoCaller(), allowIfPlatform(), allowIfActingInTenant(), privacy.AlwaysDenyRule()},
		Query:    privacy.QueryPolicy{privacy.AlwaysAllowRule()},
	}
}

// Interceptors implements ent.Mixin.
func (TenantOwned) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{
		tenantScoped(func(_ context.Context, scope pulid.ID) func(*sql.Selector) {
			return sql.FieldEQ("tenant_id", string(scope))
		}),
	}
}

// tenantScoped returns an interceptor that confines every read to the caller's
// tenant with the predicate where builds. A caller that may act in every
// tenant and names none sees everything; a request without a caller fails.
func tenantScoped(where func(ctx context.Context, scope pulid.ID) func(*sql.Selector)) ent.Interceptor {
	return intercept.TraverseFunc(func(ctx context.Context, q intercept.Query) error {
		scope, all, err := caller.TenantScope(ctx)
		if err != nil {
			return err
		}
		if all && scope == "" {
			return nil
		}
		q.WhereP(where(ctx, scope))
		return nil
	})
}
