package schema

import (
	"context"

	"entgo.io/ent"

	"github.com/vigilhq/vigil/ent/privacy"
	"github.com/vigilhq/vigil/internal/caller"
)

// Named privacy rules, composed per schema. Every mutation policy ends in
// AlwaysDeny, so a write no rule allows is refused.

// denyIfNoCaller refuses writes from a context without a caller.
func denyIfNoCaller() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, _ ent.Mutation) error {
		if caller.From(ctx) == nil {
			return privacy.Denyf("%v", caller.ErrNoCaller)
		}
		return privacy.Skip
	})
}

// allowIfPlatform allows platform callers (migrations, CLI, jobs, the auth
// service), which hold CapAllTenants.
func allowIfPlatform() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, _ ent.Mutation) error {
		if caller.From(ctx).Has(caller.CapAllTenants) {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// allowIfActingInTenant allows callers that act for a tenant; the
// TenantOwned hook then confines the write to that tenant.
func allowIfActingInTenant() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, _ ent.Mutation) error {
		if c := caller.From(ctx); c != nil && c.TenantID != "" {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// platformOnly is the policy of platform data: only platform callers write.
func platformOnly() ent.Policy {
	return privacy.Policy{
		Mutation: privacy.MutationPolicy{denyIfNoCaller(), allowIfPlatform(), privacy.AlwaysDenyRule()},
		Query:    privacy.QueryPolicy{privacy.AlwaysAllowRule()},
	}
}
