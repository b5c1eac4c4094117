package alertstream

import (
	"context"

	"entgo.io/ent/dialect"

	"github.com/vigilhq/vigil/ent"
	"github.com/vigilhq/vigil/internal/pulid"
)

// accessTypes are the entities whose changes can take a subscriber's rights
// away: a session ends, a membership's role changes or goes, a key is revoked.
var accessTypes = map[string]bool{"Session": true, "Membership": true, "APIKey": true}

// AccessHook returns an ent hook that, after a change that can take rights
// away (an update or delete of a session, membership or API key; creations
// grant, they never revoke), makes the subscribers of the tenant concerned
// re-check their rights: on PostgreSQL through NOTIFY in the same transaction
// (so all replicas hear it at commit), and in this process through local.
// When the tenant cannot be told cheaply, every subscriber re-checks.
func AccessHook(dialectName string, local func(tenantID pulid.ID)) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if !accessTypes[m.Type()] || m.Op().Is(ent.OpCreate) {
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
