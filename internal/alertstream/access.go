package alertstream

import (
	"context"

	"entgo.io/ent/dialect"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/internal/pulid"
)

// accessFields are, per entity, the fields whose change can take a
// subscriber's rights away: a session ends, a user is disabled, a
// membership's role changes, a key is revoked, expires sooner or is narrowed. Other updates (a key's
// last_used_at, written every minute it is used) take nothing away and must
// not make every subscriber re-check. Deletes always count.
var accessFields = map[string][]string{
	"Session":    {"revoked_at"}, // a refresh extends expires_at: that takes nothing away
	"User":       {"disabled"},
	"Membership": {"role"},
	"APIKey":     {"revoked_at", "expires_at", "role", "scopes"},
}

// revokes reports whether m can take rights away.
func revokes(m ent.Mutation) bool {
	fields, ok := accessFields[m.Type()]
	switch {
	case !ok || m.Op().Is(ent.OpCreate):
		return false
	case m.Op().Is(ent.OpDelete | ent.OpDeleteOne):
		return true
	}
	for _, f := range fields {
		if _, set := m.Field(f); set || m.FieldCleared(f) {
			return true
		}
	}
	return false
}

// AccessHook returns an ent hook that, after a change that can take rights
// away (see accessFields; creations grant, they never revoke), makes the subscribers of the tenant concerned
// re-check their rights: on PostgreSQL through NOTIFY in the same transaction
// (so all replicas hear it at commit), and in this process through local.
// When the tenant cannot be told cheaply, every subscriber re-checks.
func AccessHook(dialectName string, local func(tenantID pulid.ID)) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if !revokes(m) {
				return next.Mutate(ctx, m)
			}
			var tenant pulid.ID
			if old, ok := m.(interface {
				OldTenantID(context.Context) (pulid.ID, error)
			}); ok && m.Op().Is(ent.OpUpdateOne|ent.OpDeleteOne) {
				tenant, _ = old.OldTenantID(ctx) // read before the row changes
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return v, err
			}
			if dialectName == dialect.Postgres {
				if c, ok := m.(interface{ Client() *ent.Client }); ok {
					if _, err := c.Client().ExecContext(ctx, "SELECT pg_notify($1, $2)", ChannelAccess, string(tenant)); err != nil {
						return nil, err
					}
				}
			}
			if local != nil {
				local(tenant)
			}
			return v, nil
		})
	}
}
